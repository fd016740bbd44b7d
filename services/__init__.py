"""Server-side parts of officina: ingest, ledger, and (later) billing and the api."""
