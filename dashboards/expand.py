"""Expand a panel's InfluxQL the way Grafana does, so tests and the bench run the very same text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dashboards.errors import TemplateError
from dashboards.panels import Panel

# Grafana aims at about one point per pixel of a wide panel.
MAX_DATA_POINTS = 1000
# Grafana rounds $__interval to one of these (ms); a rollup panel never goes below its step.
NICE_INTERVALS_MS = (
    1_000, 5_000, 10_000, 15_000, 30_000,
    60_000, 300_000, 600_000, 900_000, 1_800_000,
    3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000,
)  # fmt: skip
_VARIABLE = re.compile(r"\$(\w+)")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
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


def interval_ms(
    time_range: TimeRange, *, min_interval_ms: int = 0, max_data_points: int = MAX_DATA_POINTS
) -> int:
    """Grafana's $__interval for a panel over this range, rounded to a nice value."""
    raw = time_range.length_ms / max_data_points
    nice = next((ms for ms in NICE_INTERVALS_MS if ms >= raw), NICE_INTERVALS_MS[-1])
    return max(nice, min_interval_ms)


def duration(ms: int) -> str:
    """An InfluxQL duration literal for a number of milliseconds (`1d`, `5m`, `250ms`)."""
    for size, unit in _UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def duration_ms(text: str) -> int:
    """Milliseconds of a duration as Grafana's panel options write it (`1m`, `1h`, `7d`)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise TemplateError(f"{text!r}: not a duration like 1m, 1h or 7d", field="duration")
    sizes = {"ms": 1} | {unit: size for size, unit in _UNITS}
    return int(match.group(1)) * sizes[match.group(2)]


def panel_time_range(panel: Panel, time_range: TimeRange) -> TimeRange:
    """The range a panel shows: the dashboard's, or the last stretch of it (relative time)."""
    if not panel.relative_time:
        return time_range
    length = duration_ms(panel.relative_time)
    return TimeRange(time_range.end_ms - length, time_range.end_ms)


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
    min_interval_ms: int = 0,
    max_data_points: int = MAX_DATA_POINTS,
) -> str:
    """The query Grafana sends for this range and these variable values."""
    every = interval_ms(
        time_range, min_interval_ms=min_interval_ms, max_data_points=max_data_points
    )
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
    """Every query of a panel, expanded, over the dashboard's range as the panel shows it."""
    shown = panel_time_range(panel, time_range)
    floor = duration_ms(panel.min_interval) if panel.min_interval else 0
    return [
        expand(
            query.influxql,
            time_range=shown,
            variables=variables,
            min_interval_ms=floor,
            max_data_points=panel.max_data_points or MAX_DATA_POINTS,
        )
        for query in panel.queries
    ]
