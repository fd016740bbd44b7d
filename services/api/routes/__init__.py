"""The api's routes, one module per resource."""

from fastapi import APIRouter

from services.api.routes import (
    cards,
    cost_pools,
    credit,
    floor,
    gateways,
    login,
    machines,
    members,
    parties,
    payments,
    plans,
    qualifications,
    review,
    sessions,
    statements,
    tariffs,
    users,
    webhooks,
    workshop,
)

API_ROUTERS: tuple[APIRouter, ...] = (
    login.router,
    users.router,
    members.router,
    cards.router,
    parties.router,
    qualifications.router,
    machines.router,
    sessions.router,
    tariffs.router,
    plans.router,
    cost_pools.router,
    statements.router,
    payments.router,
    credit.router,
    floor.router,
    gateways.router,
    review.router,
    workshop.router,
    webhooks.router,
)
