"""Bus-level fakes of the chips the gateway drivers talk to, one module per chip."""
