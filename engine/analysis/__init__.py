"""Analysis of a knowledge base: verification, proofs, diff, why-not, invariants and clinical cases."""
