"""Benchmarks that give the figures in RESULTS.md; each runs as `python -m bench.<name>`."""
