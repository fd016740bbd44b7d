"""A month of a busy workshop, simulated around the real code: gateways, broker, ingest, ledger."""
