"""Bar charts drawn on the server as inline SVG: no script, no library, readable without either.

A chart has a fixed viewBox, so it scales to the width it is given; its title and description
name it to a screen reader, and a visually hidden table beside it carries every number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from services.api.web.render import Formats

WIDTH = 640
HEIGHT = 300
LEFT = 88  # room for the widest tick label, "0,15 kWh", at a phone's larger text
RIGHT = 8
TOP = 14
BOTTOM = 26
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
GROUP_FILL = 0.8  # of each day's slot taken by its bars; the rest keeps days apart
WANTED_TICKS = 4


@dataclass(frozen=True, slots=True)
class Series:
    """One row of values, a bar per label; `key` names its colour in the style sheet."""

    key: str
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BarChart:
    """Bars grouped by label (a day), one bar per series, on one axis with a unit."""

    slug: str
    title: str
    description: str
    unit: str
    label_heading: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    places: int = 1  # decimals a value is written with: hours to six minutes

    def __post_init__(self) -> None:
        for row in self.series:
            if len(row.values) != len(self.labels):
                raise ValueError(
                    f"series {row.key}: {len(row.values)} values for {len(self.labels)} labels"
                )

    def figure(self, fmt: Formats) -> Markup:
        """The chart drawn for a page, in the page's formats (templates call this)."""
        return chart_figure(self, fmt)


@dataclass(frozen=True, slots=True)
class Scale:
    """The axis: the value at its top, its tick step, and the decimals a tick is written with."""

    top: float
    step: float
    places: int

    @classmethod
    def over(cls, highest: float) -> Scale:
        """A scale of round steps (1, 2 or 5 times a power of ten) reaching `highest`."""
        if not 0 < highest < math.inf:
            return cls(top=1.0, step=1.0, places=0)
        rough = highest / WANTED_TICKS
        power = 10 ** math.floor(math.log10(rough))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
        places = min(3, max(0, -math.floor(math.log10(step))))
        # Whole steps up to the highest value (one ulp short of it after rounding still reaches it).
        top = max(step * math.ceil(highest / step - 1e-9), highest)
        return cls(top=top, step=step, places=places)

    def ticks(self) -> list[float]:
        """The tick values from 0 to the top."""
        count = round(self.top / self.step)
        return [round(i * self.step, self.places) for i in range(count + 1)]

    def height(self, value: float) -> float:
        """How tall a bar of `value` is drawn, in viewBox units."""
        return max(0.0, min(value, self.top)) / self.top * PLOT_HEIGHT


def _number(fmt: Formats, value: float, places: int, unit: str) -> str:
    return f"{fmt.number(value, places)} {unit}"


def chart_svg(chart: BarChart, fmt: Formats) -> Markup:
    """The chart as an SVG element: axis, ticks, bars, each bar titled with its value."""
    highest = max((v for row in chart.series for v in row.values), default=0.0)
    scale = Scale.over(highest)
    places = chart.places
    slot = PLOT_WIDTH / max(len(chart.labels), 1)
    bar_width = slot * GROUP_FILL / max(len(chart.series), 1)
    baseline = TOP + PLOT_HEIGHT
    parts = [
        Markup(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" '
            'aria-labelledby="{slug}-title {slug}-desc" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{slug}-title">{}</title><desc id="{slug}-desc">{}</desc>'
        ).format(WIDTH, HEIGHT, chart.title, chart.description, slug=chart.slug)
    ]
    for tick in scale.ticks():
        y = baseline - scale.height(tick)
        parts.append(
            Markup(
                '<line class="grid" x1="{}" x2="{}" y1="{y:.2f}" y2="{y:.2f}"/>'
                '<text class="y-label" x="{}" y="{:.2f}" text-anchor="end">{}</text>'
            ).format(
                LEFT,
                WIDTH - RIGHT,
                LEFT - 6,
                y + 4,
                _number(fmt, tick, scale.places, chart.unit),
                y=y,
            )
        )
    for index, day in enumerate(chart.labels):
        x = LEFT + index * slot
        parts.append(
            Markup(
                '<text class="x-label{}" x="{:.2f}" y="{}" text-anchor="middle">{}</text>'
            ).format(" minor" if index % 2 else "", x + slot / 2, HEIGHT - 8, day)
        )
        for position, row in enumerate(chart.series):
            value = row.values[index]
            height = scale.height(value)
            parts.append(
                Markup(
                    '<rect class="bar bar-{}" x="{:.2f}" y="{:.2f}" width="{:.2f}" '
                    'height="{:.2f}" data-value="{}"><title>{}: {} ({})</title></rect>'
                ).format(
                    row.key,
                    x + slot * (1 - GROUP_FILL) / 2 + position * bar_width,
                    baseline - height,
                    bar_width,
                    height,
                    repr(value),
                    day,
                    _number(fmt, value, places, chart.unit),
                    row.name,
                )
            )
    parts.append(
        Markup('<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/></svg>').format(
            LEFT, WIDTH - RIGHT, baseline, baseline
        )
    )
    return Markup("").join(parts)


def chart_table(chart: BarChart, fmt: Formats) -> Markup:
    """Every number of the chart as a table, for screen readers (the page hides it from sight)."""
    places = chart.places
    heads = Markup("").join(
        Markup('<th scope="col">{} ({})</th>').format(row.name, chart.unit) for row in chart.series
    )
    body = Markup("").join(
        Markup('<tr><th scope="row">{}</th>{}</tr>').format(
            day,
            Markup("").join(
                Markup("<td>{}</td>").format(fmt.number(row.values[i], places))
                for row in chart.series
            ),
        )
        for i, day in enumerate(chart.labels)
    )
    return Markup(
        '<table class="visually-hidden" id="{}-data"><caption>{}</caption>'
        '<thead><tr><th scope="col">{}</th>{}</tr></thead><tbody>{}</tbody></table>'
    ).format(chart.slug, chart.title, chart.label_heading, heads, body)


def chart_legend(chart: BarChart) -> Markup:
    """The series' names beside their colours (a chart of one series needs none)."""
    if len(chart.series) < 2:
        return Markup("")
    items = Markup("").join(
        Markup('<li><span class="swatch bar-{}"></span>{}</li>').format(row.key, row.name)
        for row in chart.series
    )
    return Markup('<ul class="legend" aria-hidden="true">{}</ul>').format(items)


def chart_figure(chart: BarChart, fmt: Formats) -> Markup:
    """The chart, its legend and its table in one figure."""
    return Markup(
        '<figure class="usage-chart" id="{}"><figcaption>{}</figcaption>{}{}{}</figure>'
    ).format(
        chart.slug, chart.title, chart_svg(chart, fmt), chart_legend(chart), chart_table(chart, fmt)
    )


def day_labels(count: int) -> tuple[str, ...]:
    """The day numbers of a month of `count` days."""
    return tuple(str(n) for n in range(1, count + 1))


def in_hours(seconds: Sequence[float]) -> tuple[float, ...]:
    """Seconds as hours."""
    return tuple(s / 3600 for s in seconds)


def in_kwh(watt_hours: Sequence[float]) -> tuple[float, ...]:
    """Wh as kWh."""
    return tuple(wh / 1000 for wh in watt_hours)
