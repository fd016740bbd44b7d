"""Validation errors in a person's words: the field by its name, what is wrong in plain words.

Pydantic says `machines.0.run_amp: Extra inputs are not permitted`; a person who wrote the file
reads `machines[lathe-1].run_amp: unknown key; did you mean run_amps?`. A list entry with an
`id` is named by it, a discriminated union's tag (`current.ina219.address`) is left out of the
path, and an unknown key is matched against the keys the model knows. Config loaders (the
gateway's, billing's) and the api's 4xx answers all speak through here.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError

Wording = Callable[[Mapping[str, Any]], str]


def _ctx(name: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda ctx: _shown(ctx.get(name, "?"))


def _shown(value: object) -> object:
    # A bound of 0.0 reads as 0: the file said `gt=0`, not a float.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _words(template: str, *names: str) -> Wording:
    getters = [_ctx(name) for name in names]
    return lambda ctx: template.format(*(get(ctx) for get in getters))


def _text_length(ctx: Mapping[str, Any]) -> str:
    least = ctx.get("min_length", 1)
    return "must not be empty" if least == 1 else f"must be at least {least} characters"


def _list_length(ctx: Mapping[str, Any]) -> str:
    least = ctx.get("min_length", 1)
    return "must not be empty" if least == 1 else f"must have at least {least} entries"


_WHOLE = "must be a whole number"
_NUMBER = "must be a number"
_YES_NO = "must be true or false"
_LIST = "must be a list"
_DATE = "must be a date (YYYY-MM-DD)"
_MOMENT = "must be a date and time (YYYY-MM-DDTHH:MM:SS with its offset)"
_TIME = "must be a time of day (HH:MM)"

# One row per pydantic error type: what a person reads instead of the library's sentence.
PLAIN_WORDS: Mapping[str, str | Wording] = {
    "missing": "is missing",
    "missing_argument": "is missing",
    "missing_keyword_only_argument": "is missing",
    "extra_forbidden": "unknown key",
    "unexpected_keyword_argument": "unknown key",
    "tuple_type": _LIST,
    "list_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "iterable_type": _LIST,
    "dict_type": "must be a table of keys",
    "model_type": "must be a table of keys",
    "model_attributes_type": "must be a table of keys",
    "dataclass_type": "must be a table of keys",
    "greater_than": _words("must be more than {}", "gt"),
    "greater_than_equal": _words("must be {} or more", "ge"),
    "less_than": _words("must be less than {}", "lt"),
    "less_than_equal": _words("must be {} or less", "le"),
    "multiple_of": _words("must be a multiple of {}", "multiple_of"),
    "finite_number": "must be a finite number",
    "int_type": _WHOLE,
    "int_parsing": _WHOLE,
    "int_from_float": _WHOLE,
    "int_parsing_size": "is too large a number",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "bool_type": _YES_NO,
    "bool_parsing": _YES_NO,
    "string_type": "must be text",
    "string_too_short": _text_length,
    "string_too_long": _words("must be at most {} characters", "max_length"),
    "string_pattern_mismatch": _words("is not written as expected ({})", "pattern"),
    "too_short": _list_length,
    "too_long": _words("must have at most {} entries", "max_length"),
    "literal_error": _words("must be {}", "expected"),
    "enum": _words("must be {}", "expected"),
    "union_tag_invalid": _words("must be one of {}", "expected_tags"),
    "union_tag_not_found": "is missing",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "datetime_type": _MOMENT,
    "datetime_parsing": _MOMENT,
    "datetime_from_date_parsing": _MOMENT,
    "time_type": _TIME,
    "time_parsing": _TIME,
    "timezone_aware": "needs a time zone",
    "timezone_naive": "must not have a time zone",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "url_type": "must be a URL",
    "url_parsing": "must be a URL",
    "url_scheme": "must be a URL",
    "json_invalid": "is not valid JSON",
    "json_type": "must be JSON text",
    "bytes_type": "must be bytes",
    "none_required": "must be left out",
}


_UNKNOWN_KEY_ERRORS = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


@dataclass(frozen=True, slots=True)
class PlainProblem:
    """One problem: the field as a person names it, and what is wrong there."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def plain_message(error: Mapping[str, Any]) -> str:
    """Pydantic's message for one error in plain words; a check's own words stay as they are."""
    words = PLAIN_WORDS.get(str(error.get("type", "")))
    if isinstance(words, str):
        return words
    if words is not None:
        return words(error.get("ctx") or {})
    message = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message.replace("Input should be", "must be")


def plain_problems(
    err: ValidationError, *, data: object = None, model: object = None
) -> list[PlainProblem]:
    """Every error of a validation, its field named from the input and the model's keys.

    `data` is what was validated (so list entries are named by their `id`), `model` the type
    it was validated as (so an unknown key gets the closest known one as a suggestion).
    """
    problems = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] in _TAG_ERRORS:
            # The tag's own key is at fault (`current.driver`), not the whole table.
            loc = (*loc, str(error.get("ctx", {}).get("discriminator", "")).strip("'"))
        message = plain_message(error)
        if error["type"] in _UNKNOWN_KEY_ERRORS and model is not None:
            near = closest_key(str(loc[-1]), known_keys(model, loc[:-1]))
            if near is not None:
                message = f"{message}; did you mean {near}?"
        problems.append(PlainProblem(field_name(loc, data), message))
    return problems


def field_name(loc: Sequence[str | int], data: object = None) -> str:
    """`machines[lathe-1].run_amps` for pydantic's `machines.0.run_amps`, following the input."""
    name = ""
    here: object = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(part, int):
            item = _item(here, part)
            label = item.get("id") if isinstance(item, Mapping) else None
            name += f"[{label}]" if isinstance(label, str) and label else f"[{part}]"
            here = item
            continue
        if here is not None and not (isinstance(here, Mapping) and (part in here or last)):
            continue  # a union's tag or member, which the file does not spell
        name += f".{part}" if name else part
        here = here.get(part) if isinstance(here, Mapping) else None
    return name


def _item(container: object, index: int) -> object:
    if isinstance(container, Sequence) and not isinstance(container, str | bytes):
        return container[index] if -len(container) <= index < len(container) else None
    return None


def closest_key(written: str, known: Sequence[str]) -> str | None:
    """The known key closest to what was written, when one is close enough to be meant."""
    found = difflib.get_close_matches(written, known, n=1, cutoff=0.6)
    return found[0] if found else None


def known_keys(model: object, loc: Sequence[str | int]) -> list[str]:
    """The keys the model accepts at a location (empty when the location is not a table)."""
    here: object = model
    for part in loc:
        here = _step(here, part)
        if here is None:
            return []
    here = _unwrapped(here)
    for table in (here, *_members(here)):
        fields = _fields(_unwrapped(table))
        if fields is not None:
            return list(fields)
    return []


def _step(tp: object, part: str | int) -> object:
    tp = _unwrapped(tp)
    members = _members(tp)
    if members:
        chosen = _tagged(members, part)
        if chosen is not None:
            return chosen  # the tag names the member: it is consumed here
        tables = [m for m in members if _fields(_unwrapped(m)) is not None]
        tp = _unwrapped(tables[0]) if tables else tp
    if isinstance(part, int):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return args[0] if args else None
    fields = _fields(tp)
    if fields is None:
        return None
    return fields.get(part)


def _unwrapped(tp: object) -> object:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: object) -> list[object]:
    if get_origin(tp) in (Union, types.UnionType):
        return [m for m in get_args(tp) if m is not type(None)]
    return []


def _tagged(members: list[object], part: str | int) -> object | None:
    for member in members:
        fields = _fields(_unwrapped(member)) or {}
        for annotation in fields.values():
            inner = _unwrapped(annotation)
            if get_origin(inner) is Literal and part in get_args(inner):
                return member
    return None


def _fields(tp: object) -> dict[str, object] | None:
    # Pydantic models and pydantic dataclasses both keep their fields here.
    fields = getattr(tp, "__pydantic_fields__", None)
    if not isinstance(fields, dict):
        return None
    return {info.alias or name: info.annotation for name, info in fields.items()}
