"""`officina contract …`: the wire contract for gateways written in other languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from contract.payloads import PAYLOAD_MODELS

app = typer.Typer(help="The MQTT wire contract v1.")


@app.command()
def schema(
    directory: Annotated[Path, typer.Argument(help="Where to write one JSON Schema per payload.")],
) -> None:
    """Write the JSON Schema of every payload, one file per topic kind."""
    directory.mkdir(parents=True, exist_ok=True)
    for kind, model in PAYLOAD_MODELS.items():
        path = directory / f"{kind}.schema.json"
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        document |= model.model_json_schema(mode="validation")
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        typer.echo(str(path))
