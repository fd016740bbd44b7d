"""First run: the pages a fresh site offers before anyone can log in."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
