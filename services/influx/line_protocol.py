"""InfluxDB line protocol: one point per line, with every name and string escaped.

Names (measurement, tag keys and values, field keys) escape commas, spaces and, where the grammar
needs it, equals signs with a backslash. InfluxDB 1.x and 2.x disagree on what a backslash in a name
means, so names with a backslash, a line break or a leading `#` (a comment) are refused rather than
written wrongly. String field values escape `\\` and `"` and are quoted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

FieldValue = bool | int | float | str

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})
_FORBIDDEN_IN_NAMES = ("\\", "\n", "\r")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class LineProtocolError(ValueError):
    """A point that cannot be written as line protocol; names the part that is wrong."""


def _check_name(value: str, what: str) -> None:
    if not value:
        raise LineProtocolError(f"{what}: must not be empty")
    for bad in _FORBIDDEN_IN_NAMES:
        if bad in value:
            raise LineProtocolError(f"{what} {value!r}: must not contain {bad!r}")


def escape_measurement(name: str) -> str:
    """A measurement name escaped for line protocol."""
    _check_name(name, "measurement")
    if name.startswith("#"):
        raise LineProtocolError(f"measurement {name!r}: must not start with '#'")
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_key(name: str, what: str = "key") -> str:
    """A tag key, tag value or field key escaped for line protocol."""
    _check_name(name, what)
    return name.translate(_KEY_ESCAPES)


def format_field_value(value: FieldValue, key: str = "field") -> str:
    """A field value in line protocol: float, `i`-suffixed integer, boolean or quoted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise LineProtocolError(f"field {key}: integer {value} does not fit in 64 bits")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"field {key}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    raise LineProtocolError(f"field {key}: {type(value).__name__} is not a field type")


@dataclass(frozen=True, slots=True)
class Point:
    """One point: a measurement, its tags, its fields and a time in epoch milliseconds."""

    measurement: str
    fields: Mapping[str, FieldValue]
    time_ms: int
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_line(self) -> str:
        """This point as one line of line protocol (precision ms), without the newline."""
        if not self.fields:
            raise LineProtocolError(f"point in {self.measurement!r}: needs at least one field")
        head = escape_measurement(self.measurement)
        # Sorted tags are what InfluxDB stores anyway; sending them sorted saves it the work.
        for key, value in sorted(self.tags.items()):
            if value == "":
                continue  # InfluxDB has no empty tag values: an empty tag is an absent tag.
            head += f",{escape_key(key, 'tag key')}={escape_key(value, f'tag {key}')}"
        body = ",".join(
            f"{escape_key(key, 'field key')}={format_field_value(value, key)}"
            for key, value in self.fields.items()
        )
        return f"{head} {body} {self.time_ms}"
