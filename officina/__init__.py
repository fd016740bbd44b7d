"""The `officina` command and the simulated shop floor."""
