"""The dashboards show pseudonyms; staff, and only staff, turn one back into the member."""

from __future__ import annotations

import pytest

from contract.mqtt import BrokerOptions
from contract.secrets import DEMO_PSEUDONYM_KEY
from harness.mosquitto import MosquittoServer
from services.api.errors import SettingsError
from services.api.security import Role
from services.api.settings import ApiSettings
from services.ledger import member_pseudonym
from tests.api.conftest import (
    PASSWORD,
    PSEUDONYM_KEY,
    SECRET,
    SITE_KEY,
    Api,
    make_settings,
    running_api,
    seed_registry,
)

GIULIA = member_pseudonym("giulia", PSEUDONYM_KEY)


def _by_pseudonym(api: Api, pseudonym: str, headers: dict[str, str]) -> tuple[int, object]:
    answer = api.client.get(f"/api/v1/members/by-pseudonym/{pseudonym}", headers=headers)
    return answer.status_code, answer.json()


def test_a_coordinator_resolves_a_pseudonym_and_a_member_is_refused(api: Api) -> None:
    seed_registry(api)
    coordinator = api.add_login("coord", Role.COORDINATOR)
    admin = api.add_login("admin", Role.ADMIN)
    giulia = api.add_login("giulia", Role.MEMBER, member="giulia")

    status, member = _by_pseudonym(api, GIULIA, coordinator)
    assert status == 200
    assert member == {
        "id": "giulia",
        "name": "Giulia Rossi",
        "email": "giulia@example.org",
        "joined_at": member["joined_at"],  # type: ignore[index]
        "erased_at": None,
    }
    assert _by_pseudonym(api, member_pseudonym("marco", PSEUDONYM_KEY), admin)[0] == 200
    # A member may not learn who is behind a pseudonym, not even their own.
    assert _by_pseudonym(api, GIULIA, giulia)[0] == 403
    assert _by_pseudonym(api, GIULIA, {})[0] == 401


def test_an_unknown_or_malformed_pseudonym_is_not_found_or_refused(api: Api) -> None:
    seed_registry(api)
    coordinator = api.add_login("coord", Role.COORDINATOR)

    status, body = _by_pseudonym(api, "m-0000000000", coordinator)
    assert (status, body) == (404, {"detail": "no member is 'm-0000000000'"})
    # A member id is not a pseudonym: it is refused naming the path parameter.
    status, body = _by_pseudonym(api, "giulia", coordinator)
    assert status == 422
    assert body["detail"][0]["loc"] == ["path", "pseudonym"]  # type: ignore[index]
    # The same member under another key is somebody else's pseudonym, or nobody's.
    other_key = member_pseudonym("giulia", PSEUDONYM_KEY + " rotated")
    assert _by_pseudonym(api, other_key, coordinator)[0] == 404


def test_an_erased_member_leaves_their_pseudonym_unresolvable(api: Api) -> None:
    seed_registry(api)
    coordinator = api.add_login("coord", Role.COORDINATOR)
    admin = api.add_login("admin", Role.ADMIN)
    assert _by_pseudonym(api, GIULIA, coordinator)[0] == 200

    erased = api.client.post("/api/v1/members/giulia/erase", headers=admin)
    assert erased.status_code == 200, erased.text

    assert _by_pseudonym(api, GIULIA, coordinator) == (
        404,
        {"detail": f"no member is {GIULIA!r}"},
    )


def test_the_dashboards_link_takes_a_coordinator_to_the_members_month(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    link = f"/members/by-pseudonym/{GIULIA}"
    assert api.client.get(link, follow_redirects=False).headers["location"] == (
        f"/login?next={link}"
    )

    api.add_login("coord", Role.COORDINATOR)
    api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    answer = api.client.get(link, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/members/giulia/month")
    assert api.client.get("/members/by-pseudonym/m-0000000000?lang=en").status_code == 404

    api.add_login("marco", Role.MEMBER, member="marco")
    api.client.post("/api/v1/login", json={"username": "marco", "password": PASSWORD})
    refused = api.client.get(f"{link}?lang=en")
    assert refused.status_code == 403 and "You may not see this page" in refused.text


def test_an_api_without_a_pseudonym_key_resolves_none(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    for api in running_api(make_settings(sqlite_url, mosquitto, site, pseudonym_key=None)):
        seed_registry(api)
        coordinator = api.add_login("coord", Role.COORDINATOR)

        status, body = _by_pseudonym(api, GIULIA, coordinator)

        assert status == 404
        assert "no pseudonym key" in body["detail"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("key", "problem"),
    [("short", "at least 32 characters"), (DEMO_PSEUDONYM_KEY, "well-known value is refused")],
)
def test_a_weak_pseudonym_key_is_refused_outside_the_demo(key: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=f"pseudonym_key: .*{problem}"):
        ApiSettings(site="nord", secret=SECRET, site_key=SITE_KEY, pseudonym_key=key)


def test_the_demo_resolves_under_its_own_key() -> None:
    demo = ApiSettings.for_demo(site="nord", ledger_url="sqlite://", broker=BrokerOptions())

    assert demo.pseudonym_key == DEMO_PSEUDONYM_KEY
