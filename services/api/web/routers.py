"""Every router of the pages, in the order the app includes them."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.web import (
    pages,
    pages_billing,
    pages_bookings,
    pages_charts,
    pages_consumables,
    pages_credit,
    pages_fiscal,
    pages_maintenance,
    pages_payments,
    pages_registry,
    pages_setup,
    pages_webhooks,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    pages.router,
    pages_registry.router,
    pages_billing.router,
    pages_setup.router,
    pages_charts.router,
    pages_fiscal.router,
    pages_webhooks.router,
    pages_payments.router,
    pages_credit.router,
    pages_maintenance.router,
    pages_consumables.router,
    pages_bookings.router,
)
