"""Every row of the api's error table answers as it says: the status, the field, no traceback."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from services.api.error_handlers import ERROR_RULES, Answer, ErrorRule
from services.api.errors import BrokerError, EnrolmentTimeoutError
from services.billing.errors import (
    BillingError,
    BillingInputError,
    StatementStateError,
    UnallocatablePoolError,
)
from services.ledger import LedgerError, RegistryError
from tests.api.conftest import Api

RAISED: dict[type[Exception], Exception] = {
    RegistryError: RegistryError("member", "'nessuno' is not a registered member"),
    BillingInputError: BillingInputError("amount", "must be more than 0"),
    StatementStateError: StatementStateError("2026-03 is already issued"),
    UnallocatablePoolError: UnallocatablePoolError("Luce", "kwh"),
    EnrolmentTimeoutError: EnrolmentTimeoutError("no card was badged at lathe-1"),
    BillingError: BillingError("the ledger went away: connection refused"),
    LedgerError: LedgerError("could not connect to server"),
    BrokerError: BrokerError("no CONNACK within 5 s"),
}


def _raise_on(app: FastAPI, path: str, err: Exception) -> None:
    def route() -> None:
        raise err

    app.add_api_route(path, route)


def _rule(error: type[Exception]) -> ErrorRule:
    return next(rule for rule in ERROR_RULES if rule.error is error)


@pytest.mark.parametrize("error", list(RAISED), ids=lambda e: e.__name__)
def test_each_error_is_answered_with_its_rules_status_and_never_a_traceback(
    sqlite_api: Api, error: type[Exception]
) -> None:
    app: FastAPI = sqlite_api.client.app  # type: ignore[assignment]
    path = f"/test-raises/{error.__name__}"
    _raise_on(app, path, RAISED[error])
    rule = _rule(error)
    answer = sqlite_api.client.get(path)
    assert answer.status_code == rule.status
    detail = answer.json()["detail"]
    if rule.answer is Answer.FIELD:
        field = str(RAISED[error].field)  # type: ignore[attr-defined]
        assert detail[0]["loc"] == ["body", field]
        assert sqlite_api.state.rejections.snapshot()[field] == 1
    elif rule.answer is Answer.MESSAGE:
        assert detail == str(RAISED[error])
    else:
        assert "unavailable" in detail and "Traceback" not in answer.text


def test_a_subclass_row_wins_over_its_base_class_row(sqlite_api: Api) -> None:
    app: FastAPI = sqlite_api.client.app  # type: ignore[assignment]
    _raise_on(app, "/test-raises/state", StatementStateError("2026-03 is already issued"))
    _raise_on(app, "/test-raises/billing", BillingError("database is locked"))
    assert sqlite_api.client.get("/test-raises/state").status_code == 409
    assert sqlite_api.client.get("/test-raises/billing").status_code == 503
