"""Current sensors: one module per chip."""
