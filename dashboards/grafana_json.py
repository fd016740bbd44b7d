"""Render a Dashboard as Grafana's dashboard JSON model (schema 39, Grafana 10.4 and later)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

from dashboards.errors import TemplateError
from dashboards.panels import INFLUX_UID, Dashboard, Panel, Variable, VariableKind

SCHEMA_VERSION = 39
GRID_WIDTH = 24
ALL = ".*"
DATASOURCE = {"type": "influxdb", "uid": INFLUX_UID}
Json = str | int | float | bool | None | list["Json"] | dict[str, "Json"]


def check_constants(dashboards: tuple[Dashboard, ...], constants: Mapping[str, str]) -> None:
    """Refuse a setting that is no dashboard's constant, naming it."""
    known = {v.name for d in dashboards for v in d.variables if v.kind is VariableKind.CONSTANT}
    for name, value in constants.items():
        if name not in known:
            raise TemplateError(
                f"{name}: not a setting of the dashboards ({', '.join(sorted(known))})", field=name
            )
        if not value or "," in value:
            raise TemplateError(f"{name}: needs one value, without commas", field=name)


def _variable(variable: Variable, constants: Mapping[str, str]) -> dict[str, Json]:
    if variable.kind is VariableKind.CONSTANT and variable.name in constants:
        variable = replace(variable, definition=constants[variable.name])
    rendered: dict[str, Json] = {
        "name": variable.name,
        "label": variable.label,
        "type": str(variable.kind),
        "description": variable.description,
        "multi": variable.multi,
        "includeAll": variable.include_all,
        "hide": 2 if variable.kind is VariableKind.CONSTANT else 0,
    }
    if variable.kind is VariableKind.QUERY:
        rendered |= {
            "datasource": dict(DATASOURCE),
            "query": variable.definition,
            "definition": variable.definition,
            "refresh": 2,  # on time range change: new machines appear by themselves
            "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        }
        if variable.include_all:
            # "All" as one regex instead of an alternation of every machine: InfluxDB then
            # skips the per-series regex match (about half the time of a 50-machine panel).
            rendered["allValue"] = ALL
    else:
        values = variable.definition.split(",")
        rendered |= {
            "query": variable.definition,
            "current": {"selected": True, "text": values[0], "value": values[0]},
            "options": [
                {"selected": i == 0, "text": value, "value": value}
                for i, value in enumerate(values)
            ],
        }
    return rendered


def _links(panel: Panel) -> list[Json]:
    """Each data link as an override of its column."""
    return [
        {
            "matcher": {"id": "byName", "options": link.field},
            "properties": [
                {"id": "links", "value": [{"title": link.title, "url": link.url}]},
            ],
        }
        for link in panel.links
    ]


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Json]:
    targets: list[Json] = [
        {
            "refId": chr(ord("A") + i),
            "datasource": dict(DATASOURCE),
            "rawQuery": True,
            "query": query.influxql,
            "alias": query.alias,
            "resultFormat": "table" if query.table else "time_series",
        }
        for i, query in enumerate(panel.queries)
    ]
    rendered: dict[str, Json] = {
        "id": panel_id,
        "type": str(panel.kind),
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(DATASOURCE),
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": _links(panel)},
        "options": {},
        "targets": targets,
    }
    transformations: list[Json] = []
    if len(panel.queries) > 1 and panel.queries[0].table:
        # Several table queries become one row per machine.
        transformations.append({"id": "merge", "options": {}})
    if panel.hidden_columns:
        hidden: dict[str, Json] = dict.fromkeys(panel.hidden_columns, True)
        transformations.append({"id": "organize", "options": {"excludeByName": hidden}})
    if transformations:
        rendered["transformations"] = transformations
    if panel.min_interval:
        rendered["interval"] = panel.min_interval
    if panel.max_data_points:
        rendered["maxDataPoints"] = panel.max_data_points
    if panel.relative_time:
        rendered["timeFrom"] = panel.relative_time
    return rendered


def render(dashboard: Dashboard, constants: Mapping[str, str] | None = None) -> dict[str, Json]:
    """The dashboard's JSON model, panels laid out left to right, top to bottom.

    `constants` overrides the defaults of the dashboard's settings (`officina_url`).
    """
    panels: list[Json] = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(panel, panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time_from, "to": "now"},
        "templating": {"list": [_variable(v, constants or {}) for v in dashboard.variables]},
        "panels": panels,
    }


def render_text(dashboard: Dashboard, constants: Mapping[str, str] | None = None) -> str:
    """The JSON text as it is kept in `dashboards/json/`."""
    return json.dumps(render(dashboard, constants), indent=2, sort_keys=True) + "\n"
