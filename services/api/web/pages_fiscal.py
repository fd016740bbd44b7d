"""The fiscal pages: the workshop's and the members' tax data, and the month's fiscal documents."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
