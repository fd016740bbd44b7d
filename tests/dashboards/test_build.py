"""The dashboard JSON, its template expansion, and pushing to a Grafana that is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards import DASHBOARDS, PushError, TemplateError
from dashboards.cli import app
from dashboards.expand import TimeRange, duration_ms, expand, panel_queries
from dashboards.files import JSON_DIR, stale, write_all
from dashboards.push import PushOptions, push
from dashboards.rollups import STEPS
from harness.ports import free_port

WEEK = TimeRange(0, 7 * 86_400_000)
HOUR = TimeRange(0, 3_600_000)  # Grafana would group it by 5 s
EVERYTHING = {
    "site": ".*",
    "machine": ".*",
    "sample_s": "1",
    "unattributed_amps": "1",
    "bucket": "1d",
}


def test_the_json_in_the_repository_is_what_the_code_builds() -> None:
    assert stale(JSON_DIR) == []


def test_a_hand_edited_dashboard_is_reported_stale(tmp_path: Path) -> None:
    write_all(tmp_path)
    floor = tmp_path / "officina-floor-now.json"
    floor.write_text(floor.read_text().replace("Live current", "Corrente"))
    (tmp_path / "someone-elses.json").write_text("{}")
    result = CliRunner().invoke(app, ["check", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "officina-floor-now.json: differs from the code" in result.output
    assert "someone-elses.json: not a dashboard of the catalogue" in result.output


def test_every_panel_reads_the_provisioned_influxdb_with_raw_influxql() -> None:
    for dashboard in DASHBOARDS:
        model = json.loads((JSON_DIR / dashboard.file_name).read_text())
        assert model["uid"] == dashboard.uid
        names = [v["name"] for v in model["templating"]["list"]]
        assert names[:2] == ["site", "machine"]
        for panel in model["panels"]:
            assert panel["datasource"]["uid"] == "officina-influxdb"
            for target in panel["targets"]:
                assert target["rawQuery"] is True
                assert "$timeFilter" in target["query"]


def test_long_range_panels_read_the_rollups() -> None:
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            reads = any('"rollups".' in q.influxql for q in panel.queries)
            assert reads == panel.reads_rollups, panel.title
            assert '"telemetry"' not in str(panel.queries) or panel.relative_time, panel.title


def test_a_rollup_panel_never_groups_finer_than_its_rollup() -> None:
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            steps = [step for q in panel.queries for s, step in STEPS.items() if s in q.influxql]
            for step in steps:
                assert duration_ms(panel.min_interval or "0s") >= duration_ms(step), panel.title
            query = panel_queries(panel, time_range=HOUR, variables=EVERYTHING)[0]
            if steps and "$__interval" in panel.queries[0].influxql:
                assert f"time({max(steps, key=duration_ms)})" in query, panel.title


def test_live_current_shows_its_last_hour_whatever_the_range() -> None:
    floor = next(d for d in DASHBOARDS if d.uid == "officina-floor-now")
    live = next(p for p in floor.panels if p.title == "Live current")
    (query,) = panel_queries(live, time_range=WEEK, variables=EVERYTHING)
    assert "time >= 601200000ms and time <= 604800000ms" in query
    assert "GROUP BY time(10s)" in query
    model = json.loads((JSON_DIR / floor.file_name).read_text())
    rendered = next(p for p in model["panels"] if p["title"] == "Live current")
    assert (rendered["timeFrom"], rendered["interval"]) == ("1h", "10s")


def test_expansion_writes_multi_values_as_an_escaped_alternation() -> None:
    query = expand(
        "SELECT 1 FROM t WHERE site =~ /^$site$/ AND $timeFilter GROUP BY time($__interval)",
        time_range=WEEK,
        variables={"site": ["nord", "sud.2"]},
    )
    assert query == (
        "SELECT 1 FROM t WHERE site =~ /^(nord|sud\\.2)$/ AND "
        "time >= 0ms and time <= 604800000ms GROUP BY time(15m)"
    )


def test_a_variable_without_a_value_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateError) as raised:
        expand("SELECT 1 WHERE m =~ /^$machine$/", time_range=WEEK, variables={})
    assert raised.value.field == "machine"


def test_a_backwards_time_range_is_refused() -> None:
    with pytest.raises(TemplateError, match="end must be after start"):
        TimeRange(10, 5)


def test_push_to_a_grafana_that_does_not_answer_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PushError, match=url):
        push(PushOptions(grafana_url=url, token="glsa_test", timeout_s=2))


def test_push_refuses_a_url_without_a_scheme() -> None:
    with pytest.raises(PushError, match="must start with http"):
        push(PushOptions(grafana_url="grafana.local:3000", token="glsa_test"))


def _panel_json(uid: str, title: str, directory: Path = JSON_DIR) -> dict[str, object]:
    model = json.loads((directory / f"{uid}.json").read_text())
    panel: dict[str, object] = next(p for p in model["panels"] if p["title"] == title)
    return panel


def test_a_members_pseudonym_links_to_officina_where_only_coordinators_see_who_it_is() -> None:
    for uid, title in (
        ("officina-machines", "Top users"),
        ("officina-energy", "kWh per member"),
        ("officina-energy", "Projected pool shares"),
    ):
        panel = _panel_json(uid, title)
        [override] = panel["fieldConfig"]["overrides"]  # type: ignore[index]
        assert override["matcher"] == {"id": "byName", "options": "user"}
        [links] = override["properties"]
        assert links["value"][0]["url"] == "${officina_url}/members/by-pseudonym/${__value.raw}"
        assert "coordinator" in str(panel["description"])
        model = json.loads((JSON_DIR / f"{uid}.json").read_text())
        [setting] = [v for v in model["templating"]["list"] if v["name"] == "officina_url"]
        assert (setting["type"], setting["hide"], setting["query"]) == (
            "constant",
            2,
            "http://localhost:8000",
        )


def test_build_sets_the_officina_url_and_refuses_a_setting_it_does_not_have(
    tmp_path: Path,
) -> None:
    built = CliRunner().invoke(
        app, ["build", "--out", str(tmp_path), "--set", "officina_url=https://officina.lan"]
    )
    assert built.exit_code == 0, built.output
    model = json.loads((tmp_path / "officina-energy.json").read_text())
    [setting] = [v for v in model["templating"]["list"] if v["name"] == "officina_url"]
    assert setting["query"] == setting["current"]["value"] == "https://officina.lan"
    assert stale(tmp_path) != []  # not the repository's JSON any more

    refused = CliRunner().invoke(
        app,
        ["build", "--out", str(tmp_path / "x"), "--set", "grafana_url=x"],
        env={"COLUMNS": "200"},
    )
    assert refused.exit_code == 2
    assert "grafana_url: not a setting of the dashboards (officina_url" in refused.output
