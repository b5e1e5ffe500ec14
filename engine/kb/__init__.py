"""The knowledge base: YAML reading, the typed model, the condition language and loading."""
