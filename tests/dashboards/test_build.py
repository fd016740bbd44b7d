"""The dashboard JSON, its template expansion, and pushing to a Grafana that is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards import DASHBOARDS, PushError, TemplateError
from dashboards.cli import app
from dashboards.expand import TimeRange, expand
from dashboards.files import JSON_DIR, stale, write_all
from dashboards.push import PushOptions, push
from tests.harness.ports import free_port

WEEK = TimeRange(0, 7 * 86_400_000)


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
            reads = {'"rollups".' in q.influxql for q in panel.queries}
            assert reads == {panel.reads_rollups}, panel.title


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
