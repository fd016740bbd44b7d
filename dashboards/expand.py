"""Expand a panel's InfluxQL the way Grafana does, so tests and the bench run the very same text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboards.errors import TemplateError
from dashboards.panels import Panel

# Grafana aims at about one point per pixel of a wide panel.
MAX_DATA_POINTS = 1000
# Grafana rounds $__interval to one of these (ms); rollup panels never go below a minute.
NICE_INTERVALS_MS = (
    1_000, 5_000, 10_000, 15_000, 30_000,
    60_000, 300_000, 600_000, 900_000, 1_800_000,
    3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000,
)  # fmt: skip
ROLLUP_MIN_INTERVAL_MS = 60_000
_VARIABLE = re.compile(r"\$(\w+)")
_UNITS = ((604_800_000, "w"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"))


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A dashboard's time range, UTC epoch milliseconds, end included."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise TemplateError("time range: end must be after start", field="time_range")

    @property
    def length_ms(self) -> int:
        """How long the range is."""
        return self.end_ms - self.start_ms


def interval_ms(time_range: TimeRange, *, reads_rollups: bool) -> int:
    """Grafana's $__interval for a panel over this range, rounded to a nice value."""
    raw = time_range.length_ms / MAX_DATA_POINTS
    floor = ROLLUP_MIN_INTERVAL_MS if reads_rollups else NICE_INTERVALS_MS[0]
    nice = next((ms for ms in NICE_INTERVALS_MS if ms >= raw), NICE_INTERVALS_MS[-1])
    return max(nice, floor)


def duration(ms: int) -> str:
    """An InfluxQL duration literal for a number of milliseconds (`1d`, `5m`, `250ms`)."""
    for size, unit in _UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def variable_text(value: str | Sequence[str]) -> str:
    """A variable's value as Grafana writes it inside `/^…$/`: one value, or `(a|b)`."""
    if isinstance(value, str):
        return value
    escaped = [re.escape(item) for item in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def expand(
    influxql: str,
    *,
    time_range: TimeRange,
    variables: Mapping[str, str | Sequence[str]],
    reads_rollups: bool = False,
) -> str:
    """The query Grafana sends for this range and these variable values."""
    every = interval_ms(time_range, reads_rollups=reads_rollups)
    builtins = {
        "timeFilter": f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms",
        "__interval": duration(every),
        "__interval_ms": str(every),
        "__range_s": str(time_range.length_ms // 1000),
    }

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in builtins:
            return builtins[name]
        if name not in variables:
            raise TemplateError(f"${name}: no value given for this variable", field=name)
        return variable_text(variables[name])

    return _VARIABLE.sub(value_of, influxql)


def panel_queries(
    panel: Panel, *, time_range: TimeRange, variables: Mapping[str, str | Sequence[str]]
) -> list[str]:
    """Every query of a panel, expanded."""
    return [
        expand(
            query.influxql,
            time_range=time_range,
            variables=variables,
            reads_rollups=panel.reads_rollups,
        )
        for query in panel.queries
    ]
