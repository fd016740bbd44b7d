"""Server-drawn bar charts: well-formed SVG, bars in proportion, labels escaped, numbers read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.api.web.charts import (
    HEIGHT,
    LEFT,
    PLOT_HEIGHT,
    RIGHT,
    TOP,
    WIDTH,
    BarChart,
    Scale,
    Series,
    chart_figure,
    chart_svg,
    chart_table,
    day_labels,
)
from services.api.web.i18n import Lang
from services.api.web.render import Formats

SVG = "{http://www.w3.org/2000/svg}"


def _formats(lang: Lang = Lang.EN) -> Formats:
    return Formats(lang, ZoneInfo("Europe/Rome"), "EUR")


def _chart(*series: Series, labels: tuple[str, ...] | None = None, unit: str = "h") -> BarChart:
    return BarChart(
        slug="chart-hours",
        title="Hours per day",
        description="Running and unlocked hours, for each day of the month",
        unit=unit,
        label_heading="Day",
        labels=labels or day_labels(len(series[0].values)),
        series=series,
    )


def _bars(svg: ET.Element, key: str) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if f"bar-{key}" in r.get("class", "").split()]


def test_a_chart_is_well_formed_svg_with_a_fixed_viewbox_a_title_and_a_description() -> None:
    chart = _chart(Series("running", "Running", (1.0, 0.0, 2.5)))

    svg = ET.fromstring(str(chart_svg(chart, _formats())))

    assert svg.tag == f"{SVG}svg" and svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-hours-title chart-hours-desc"
    assert svg.findtext(f"{SVG}title") == "Hours per day"
    assert svg.findtext(f"{SVG}desc") == "Running and unlocked hours, for each day of the month"
    days = [t.text for t in svg.iter(f"{SVG}text") if "x-label" in t.get("class", "")]
    assert days == ["1", "2", "3"]


@given(
    st.lists(
        st.floats(0, 1e6, allow_nan=False, allow_infinity=False).filter(
            lambda v: v == 0 or v > 1e-6
        ),
        min_size=1,
        max_size=31,
    )
)
@example([1e-05])  # a step of 5e-06 times two falls one ulp short of it
def test_bar_heights_are_in_proportion_to_their_values(values: list[float]) -> None:
    chart = _chart(Series("energy", "Energy", tuple(values)), unit="kWh")

    svg = ET.fromstring(str(chart_svg(chart, _formats())))

    bars = _bars(svg, "energy")
    assert [float(b.get("data-value", "nan")) for b in bars] == values
    heights = [float(b.get("height", "nan")) for b in bars]
    scale = Scale.over(max(values))
    assert scale.top >= max(values)
    for value, height in zip(values, heights, strict=True):
        assert height == pytest.approx(value / scale.top * PLOT_HEIGHT, abs=0.01)
    for bar in bars:
        # Every bar stands on the axis and stays inside the plot.
        bottom = float(bar.get("y", "nan")) + float(bar.get("height", "nan"))
        assert bottom == pytest.approx(TOP + PLOT_HEIGHT, abs=0.01)
        x = float(bar.get("x", "nan"))
        assert x >= LEFT and x + float(bar.get("width", "nan")) <= WIDTH - RIGHT + 0.01


def test_the_taller_of_two_bars_is_drawn_twice_as_tall_for_twice_the_value() -> None:
    chart = _chart(
        Series("running", "Running", (3.0, 6.0)), Series("unlocked", "Unlocked", (4.0, 8.0))
    )

    svg = ET.fromstring(str(chart_svg(chart, _formats())))

    running = [float(b.get("height", "0")) for b in _bars(svg, "running")]
    unlocked = [float(b.get("height", "0")) for b in _bars(svg, "unlocked")]
    assert running[1] == pytest.approx(2 * running[0], abs=0.02)
    assert unlocked[1] == pytest.approx(2 * unlocked[0], abs=0.02)
    assert unlocked[0] == pytest.approx(running[0] * 4 / 3, abs=0.02)


def test_labels_titles_and_names_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & co'
    chart = BarChart(
        slug="chart-x",
        title=hostile,
        description=hostile,
        unit="h",
        label_heading=hostile,
        labels=(hostile, "2"),
        series=(Series("running", hostile, (1.0, 2.0)),),
    )

    figure = str(chart_figure(chart, _formats()))

    assert "<script>" not in figure and "&lt;script&gt;" in figure
    svg = ET.fromstring(str(chart_svg(chart, _formats())))
    assert svg.findtext(f"{SVG}title") == hostile
    days = [t.text for t in svg.iter(f"{SVG}text") if "x-label" in t.get("class", "")]
    assert days == [hostile, "2"]
    ET.fromstring(str(chart_table(chart, _formats())))  # the table parses too


def test_ticks_carry_their_unit_in_the_pages_language() -> None:
    chart = _chart(Series("running", "Running", (0.5, 7.5)))

    english = ET.fromstring(str(chart_svg(chart, _formats(Lang.EN))))
    italian = ET.fromstring(str(chart_svg(chart, _formats(Lang.IT))))

    def ticks(svg: ET.Element) -> list[str | None]:
        return [t.text for t in svg.iter(f"{SVG}text") if "y-label" in t.get("class", "")]

    assert ticks(english) == ["0 h", "2 h", "4 h", "6 h", "8 h"]
    small = _chart(Series("energy", "Energy", (0.3, 1.2)), unit="kWh")
    assert ticks(ET.fromstring(str(chart_svg(small, _formats(Lang.IT))))) == [
        "0,0 kWh",
        "0,5 kWh",
        "1,0 kWh",
        "1,5 kWh",
    ]
    assert ticks(italian)[-1] == "8 h"


def test_the_hidden_table_holds_every_number_in_the_pages_language() -> None:
    chart = _chart(Series("running", "In lavorazione", (1.3, 0.0)), unit="h")

    table = ET.fromstring(str(chart_table(chart, _formats(Lang.IT))))

    assert table.get("class") == "visually-hidden"
    rows = [[cell.text for cell in row] for row in table.iter("tr")]
    assert rows == [["Day", "In lavorazione (h)"], ["1", "1,3"], ["2", "0,0"]]


def test_an_empty_month_draws_a_flat_chart_on_a_unit_axis() -> None:
    chart = _chart(Series("energy", "Energy", (0.0,) * 30), unit="kWh")

    svg = ET.fromstring(str(chart_svg(chart, _formats())))

    assert {b.get("height") for b in _bars(svg, "energy")} == {"0.00"}
    assert len(_bars(svg, "energy")) == 30


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="running"):
        _chart(Series("running", "Running", (1.0,)), labels=("1", "2"))
