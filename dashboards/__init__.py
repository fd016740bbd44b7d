"""Grafana dashboards for the wall screen: built from code, checked, provisioned, pushed."""

from dashboards.catalogue import DASHBOARDS
from dashboards.errors import DashboardError, PushError, TemplateError
from dashboards.panels import Dashboard, Panel, PanelKind, Query, Variable, VariableKind

__all__ = [
    "DASHBOARDS",
    "Dashboard",
    "DashboardError",
    "Panel",
    "PanelKind",
    "PushError",
    "Query",
    "TemplateError",
    "Variable",
    "VariableKind",
]
