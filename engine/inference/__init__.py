"""The engine: compiling a knowledge base to experta, running cases and assembling assessments."""
