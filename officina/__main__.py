"""`python -m officina` is the `officina` command."""

from officina.cli import run

run()
