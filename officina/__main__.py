"""`python -m officina` is the `officina` command."""

from officina.cli import app

app(prog_name="officina")
