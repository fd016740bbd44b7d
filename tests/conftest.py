"""Shared test setup: the harness plugin that starts real servers."""

pytest_plugins = ["harness.plugin"]
