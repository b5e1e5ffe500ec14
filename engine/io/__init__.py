"""Input and output: reading and validating cases, JSON encodings, schemas, CDS Hooks, batch and Dask."""
