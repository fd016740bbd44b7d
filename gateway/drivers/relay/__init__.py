"""Relay outputs: one module per kind of output."""
