"""Card readers: one module per chip."""
