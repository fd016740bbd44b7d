"""The names of officina's InfluxDB measurements, one place for every writer and panel.

What each holds (tags, fields, times) is described in SCHEMA.md beside this module.
"""

from __future__ import annotations

TELEMETRY = "telemetry"
MACHINE_STATE = "machine_state"
GATEWAY_STATUS = "gateway_status"
REJECTED = "rejected"
SESSION = "session"
SESSION_CONFLICT = "session_conflict"
POOL_PROJECTION = "pool_projection"
MAINTENANCE = "maintenance"
