"""The treasurer's pages: statements to review, issue, credit and send; what waits for review."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
