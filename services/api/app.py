"""The app factory: wires the ledger, the broker, the floor and the routes into one FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from contract import GatewayTopic, MachineTopic, Message, TopicKind
from services.api.acl import AclPublisher
from services.api.broker import BrokerLink
from services.api.enrolment import BadgeWaiters
from services.api.error_handlers import install_error_handlers
from services.api.events import FloorHub
from services.api.floor import Floor
from services.api.floor_erasure import remember_erasures
from services.api.maintenance_watch import MaintenanceWatch
from services.api.middleware import RequestGuard, SecurityHeaders
from services.api.policy import PolicyPublisher
from services.api.ratelimit import LoginLimiter
from services.api.reservations import BookingsPublisher
from services.api.routes import API_ROUTERS
from services.api.security import Passwords
from services.api.settings import ApiSettings
from services.api.state import ApiState, utc_now
from services.api.web.render import STATIC_DIR
from services.api.web.routers import PAGE_ROUTERS
from services.billing.service import Billing
from services.billing.store import BillingLedger
from services.influx import InfluxClient
from services.ledger import Registry, open_ledger
from services.ledger.maintenance import Maintenance
from services.ledger.reservations import Reservations

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
TAGS = [
    {"name": "login", "description": "Tokens for people and gateways; rate-limited."},
    {"name": "users", "description": "Logins and their roles (admins only)."},
    {"name": "members", "description": "Members, their data export and erasure."},
    {"name": "parties", "description": "Whom a member's documents are made out to."},
    {"name": "workshop", "description": "The workshop's fiscal profile (read-only)."},
    {"name": "cards", "description": "RFID cards, known only by the site's keyed hash."},
    {"name": "qualifications", "description": "Which member may use which machine, until when."},
    {"name": "machines", "description": "Machines, thresholds, access lists, remote lock."},
    {"name": "maintenance", "description": "Service tasks, sign-off, faults, out of order."},
    {"name": "sessions", "description": "Booked sessions; filters and CSV export."},
    {"name": "floor", "description": "The live floor and its Server-Sent Events stream."},
    {"name": "tariffs", "description": "Machine prices from a day on."},
    {"name": "cost pools", "description": "A month's shared bills and their allocation keys."},
    {"name": "statements", "description": "Drafts, issue, credit notes, PDF."},
    {"name": "credit", "description": "Members' credit, top-ups, the pack catalogue, packs sold."},
    {"name": "gateways", "description": "Gateway credentials, issued once and shown once."},
    {"name": "review", "description": "Sessions held from billing, and conflicting copies."},
]


def _health(request: Request) -> Response:
    """For the orchestrator: 200 while the ledger answers and the broker link is up, else 503."""
    api: ApiState = request.app.state.api
    problems = []
    try:
        with api.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        problems.append(f"ledger: {type(err).__name__}")
    if not api.link.connected:
        problems.append("broker: not connected")
    if problems:
        return JSONResponse({"status": "unhealthy", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(settings: ApiSettings, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """The api for one site; the ledger and the broker are opened when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_ledger(settings.ledger_url)
        registry = Registry(engine, clock=clock)
        link = BrokerLink(settings)
        floor = Floor(site=settings.site, sparkline_points=settings.sparkline_points)
        remember_erasures(floor, registry.members(), settings.secret)
        waiters = BadgeWaiters(site=settings.site)
        site = settings.site
        for kind in (TopicKind.STATE, TopicKind.TELEMETRY):
            link.follow(MachineTopic.filter(site, "+", kind), floor.take)
        link.follow(GatewayTopic.filter(site), floor.take)

        def badge(message: Message) -> None:
            waiters.take(message)  # an enrolment waiting for this card
            floor.take(message)  # a refusal, for staff watching the floor

        link.follow(MachineTopic.filter(site, "+", TopicKind.BADGES), badge)
        billing = Billing(BillingLedger(engine, clock=clock), settings.billing, terminal=False)
        publisher = AclPublisher(
            site=site,
            link=link,
            source=registry,
            engine=engine,
            clock=clock,
            credit=billing.ledger,
            tz=billing.tz,
        )
        # A credit-required member's session changes what her credit buys: her lists follow.
        link.follow(MachineTopic.filter(site, "+", TopicKind.SESSIONS), publisher.session_closed)
        maintenance = Maintenance(engine, clock=clock)
        configs = PolicyPublisher(
            site=site,
            link=link,
            source=registry,
            engine=engine,
            clock=clock,
            out_of_order=lambda: maintenance.out_of_order(site),
        )
        influx = InfluxClient(settings.influx) if settings.influx is not None else None
        watch = MaintenanceWatch(
            site=site,
            maintenance=maintenance,
            registry=registry,
            policy=configs,
            every_s=settings.maintenance_every_s,
            floor=floor,
            influx=influx,
            clock=clock,
        )
        reservations = Reservations(engine, zone=ZoneInfo(settings.timezone), clock=clock)
        bookings = BookingsPublisher(
            site=site,
            link=link,
            registry=registry,
            reservations=reservations,
            engine=engine,
            clock=clock,
        )
        hub = FloorHub(floor, amps_every_s=settings.amps_every_s)
        app.state.api = ApiState(
            settings=settings,
            engine=engine,
            open_db=sessionmaker(engine, expire_on_commit=False),
            registry=registry,
            link=link,
            floor=floor,
            hub=hub,
            waiters=waiters,
            acl=publisher,
            policy=configs,
            maintenance=maintenance,
            watch=watch,
            reservations=reservations,
            bookings=bookings,
            billing=billing,
            limiter=LoginLimiter(settings.login),
            passwords=Passwords(settings.password_cost),
            clock=clock,
        )
        await hub.start()
        try:
            with link, publisher, configs, watch, bookings:
                log.info("api serving site %s", site)
                yield
        finally:
            await hub.stop()
            if influx is not None:
                influx.close()
            engine.dispose()

    app = FastAPI(
        title="officina",
        summary="Live floor, members, cards, machines, access lists and statements of a workshop.",
        version="1",
        openapi_tags=TAGS,
        lifespan=lifespan,
        # FastAPI's /docs and /redoc load their scripts from a CDN: off; /openapi.json stays.
        docs_url=None,
        redoc_url=None,
    )
    # Added last is outermost: the headers go on every answer, the guard's refusals included.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for page_router in PAGE_ROUTERS:
        app.include_router(page_router)
    app.add_api_route("/healthz", _health, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
