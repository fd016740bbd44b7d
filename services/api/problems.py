"""What a 4xx tells the client: the field and what was wrong, never the input echoed back."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contract.plain_errors import plain_message

# Of pydantic's error keys, only these go back: `input` would echo a body of any size (and any
# secret in it), `ctx` the internals of a check.
PUBLIC_KEYS = ("type", "loc", "msg")


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """Where a JSON body is not strict JSON, and why."""

    loc: tuple[str | int, ...]
    message: str


class _NotFinite:
    """Stands in, while parsing, for a NaN or Infinity so the walk can find where it was."""

    def __init__(self, spelled: str) -> None:
        self.spelled = spelled


def public_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors as the client sees them: type, location and a plain message only."""
    return [
        {key: error[key] for key in PUBLIC_KEYS if key in error} | {"msg": plain_message(error)}
        for error in errors
    ]


def field_problem(loc: Sequence[str | int], message: str) -> dict[str, Any]:
    """One validation error, shaped as FastAPI's own."""
    return {"type": "value_error", "loc": list(loc), "msg": message}


def strict_json_problem(body: bytes) -> JsonProblem | None:
    """The first NaN, Infinity, lone surrogate or NUL in a JSON body; None when there is none.

    A body that is not JSON at all is left to the route's own parsing, which says so.
    """
    try:
        document = json.loads(body, parse_constant=_NotFinite)
        return _walk(document, ("body",))
    except RecursionError:
        return JsonProblem(("body",), "nested too deeply")
    except ValueError:
        return None


def _walk(value: object, loc: tuple[str | int, ...]) -> JsonProblem | None:
    if isinstance(value, _NotFinite):
        return JsonProblem(loc, f"{value.spelled} is not a number JSON allows")
    if isinstance(value, float) and not math.isfinite(value):
        return JsonProblem(loc, "the number is too large")
    if isinstance(value, str):
        if not _encodable(value):
            return JsonProblem(loc, "a lone surrogate is not text")
        # PostgreSQL's text cannot hold NUL: refused here, not as a ledger failure later.
        return JsonProblem(loc, "a NUL character is not text") if "\x00" in value else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, (*loc, index))
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(key) or "\x00" in key:
                return JsonProblem(loc, "a field name holds a lone surrogate or a NUL")
            found = _walk(item, (*loc, key))
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
