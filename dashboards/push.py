"""Push the dashboards (and optionally the InfluxDB data source) to a Grafana over its HTTP API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.catalogue import DASHBOARDS
from dashboards.errors import PushError
from dashboards.grafana_json import check_constants, render
from dashboards.panels import INFLUX_UID, Dashboard

log = logging.getLogger(__name__)

FOLDER_UID = "officina"
FOLDER_TITLE = "officina"


@dataclass(frozen=True, slots=True, kw_only=True)
class InfluxSource:
    """The InfluxDB data source to create in Grafana: v1 API, InfluxQL, token auth on 2.x."""

    url: str
    database: str
    token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PushOptions:
    """Where to push: Grafana's URL and a service-account token; timeout in seconds."""

    grafana_url: str
    token: str
    timeout_s: float = 10.0
    influx: InfluxSource | None = None
    # The dashboards' settings, e.g. officina_url (their defaults otherwise).
    constants: Mapping[str, str] = field(default_factory=dict)


def _datasource(source: InfluxSource) -> dict[str, object]:
    headers: dict[str, object] = {}
    if source.token:
        # InfluxDB 2.x/3.x read InfluxQL with a token in the Authorization header.
        headers = {
            "jsonData": {"httpHeaderName1": "Authorization", "httpMode": "GET"},
            "secureJsonData": {"httpHeaderValue1": f"Token {source.token}"},
        }
    return {
        "uid": INFLUX_UID,
        "name": "officina InfluxDB",
        "type": "influxdb",
        "access": "proxy",
        "url": source.url,
        "jsonData": {"dbName": source.database, "httpMode": "GET"},
        "database": source.database,
        **headers,
    }


def push(options: PushOptions, dashboards: tuple[Dashboard, ...] = DASHBOARDS) -> list[str]:
    """Create the folder (and data source), then create or overwrite every dashboard; their uids."""
    if not options.grafana_url.startswith(("http://", "https://")):
        raise PushError(f"grafana url {options.grafana_url!r}: must start with http:// or https://")
    if not options.token:
        raise PushError("token: a Grafana service-account token is needed")
    check_constants(dashboards, options.constants)
    api = GrafanaApi.from_url(
        options.grafana_url, credential=options.token, timeout=options.timeout_s
    )
    pushed = []
    try:
        _ensure_folder(api)
        if options.influx is not None:
            _ensure_datasource(api, options.influx)
        for dashboard in dashboards:
            api.dashboard.update_dashboard(
                {
                    "dashboard": render(dashboard, options.constants),
                    "folderUid": FOLDER_UID,
                    "overwrite": True,
                }
            )
            log.info("pushed dashboard %s to %s", dashboard.uid, options.grafana_url)
            pushed.append(dashboard.uid)
    except (GrafanaException, OSError) as err:
        # niquests' connection errors are OSErrors.
        raise PushError(f"grafana {options.grafana_url}: {err}") from err
    return pushed


def _ensure_folder(api: GrafanaApi) -> None:
    try:
        api.folder.get_folder(FOLDER_UID)  # type: ignore[no-untyped-call]
    except GrafanaClientError:
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)  # type: ignore[no-untyped-call]


def _ensure_datasource(api: GrafanaApi, source: InfluxSource) -> None:
    try:
        api.datasource.get_datasource_by_uid(INFLUX_UID)  # type: ignore[no-untyped-call]
    except GrafanaClientError:
        api.datasource.create_datasource(_datasource(source))  # type: ignore[no-untyped-call]
    else:
        api.datasource.update_datasource_by_uid(INFLUX_UID, _datasource(source))  # type: ignore[no-untyped-call]
