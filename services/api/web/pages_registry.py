"""The coordinator's registry pages: machines, gateways, tariffs and plans."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
