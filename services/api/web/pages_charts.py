"""Usage over the month, drawn on the server: hours per day and kWh, for machines and members."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
