"""The webhooks page: subscriptions, their secrets shown once, and each delivery's outcome.

The forms go to `/api/v1/webhooks`; a failed delivery is replayed from here under its own id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.api.deps import StateDep
from services.api.routes.webhooks import webhook_store
from services.api.web.access import StaffPage
from services.api.web.render import render
from services.ledger.outbox import RESERVED, SENT

router = APIRouter(include_in_schema=False)


@router.get("/manage/webhooks", response_class=HTMLResponse)
def manage_webhooks(
    request: Request,
    state: StateDep,
    user: StaffPage,
    id: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    """Coordinators: subscriptions, a form for a new one, and the chosen one's deliveries."""
    store = webhook_store(state)
    subscriptions = store.subscriptions()
    chosen = next((s for s in subscriptions if str(s.id) == id), None)
    if chosen is None and subscriptions:
        chosen = subscriptions[0]
    return render(
        request,
        state,
        "manage_webhooks.html",
        user,
        subscriptions=subscriptions,
        counts=store.counts(),
        chosen=chosen,
        deliveries=[] if chosen is None else store.deliveries(chosen.id),
        sent=sorted(SENT),
        reserved=sorted(RESERVED),
    )
