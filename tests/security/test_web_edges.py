"""15.8: the web's edges: no open redirect, safe headers, no cache, a Secure cookie, no CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from contract.mqtt import BrokerOptions
from harness.mosquitto import MosquittoServer
from services.api.deps import SESSION_COOKIE
from services.api.middleware import CONTENT_SECURITY_POLICY
from services.api.security import Role
from services.api.settings import ApiSettings
from services.api.web.redirects import local_path
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    book_session,
    make_settings,
    running_api,
    seed_registry_of,
)
from tests.security.conftest import AttackLog

STAFF_PAGES = (
    "/login",
    "/floor",
    "/machines/lathe-1/day?date=2026-03-02",
    "/machines/lathe-1/month?month=2026-03",
    "/members/giulia/month?month=2026-03",
    "/manage/members",
    "/manage/cards",
    "/manage/qualifications",
    "/manage/cost-pools?month=2026-03",
)


@dataclass(frozen=True)
class Site:
    """A running api (Secure cookie as by default) with data and the admin's bearer token."""

    api: Api
    token: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mosquitto: MosquittoServer) -> Iterator[Site]:
    """The api on a real SQLite ledger and the real broker, its cookie Secure as by default."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web-edges') / 'ledger.sqlite3'}"
    settings = make_settings(url, mosquitto, "web-edges", cookie_secure=True)
    for api in running_api(settings):
        seed_registry_of(api.state, api.site)
        started = datetime(2026, 3, 2, 9, tzinfo=UTC)
        book_session(api.state, member="giulia", machine="lathe-1", started=started, minutes=5)
        add_login_directly(api.state, "boss", Role.ADMIN)
        answer = api.client.post("/api/v1/login", json={"username": "boss", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        api.client.cookies.clear()
        yield Site(api=api, token=answer.json()["access_token"])


OPEN_REDIRECTS = (
    "//evil.example/",
    "/\\evil.example",
    "/%5Cevil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/\\/evil.example",
    " /\\evil.example",
    "\\\\evil.example",
    "/ /evil.example",
)


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_a_login_never_bounces_to_another_site(site: Site, attack: AttackLog, target: str) -> None:
    attack.tried("15.8 web edges", f"login page with next={target!r}")
    page = site.api.client.get("/login", params={"next": target})
    assert page.status_code == 200
    assert 'data-next="/"' in page.text
    assert local_path(target) == "/"
    attack.held("the login goes home after all: only local paths are kept")


def test_a_local_next_is_kept() -> None:
    assert local_path("/members/giulia/month?month=2026-03") == (
        "/members/giulia/month?month=2026-03"
    )
    assert local_path("/floor") == "/floor"


def _check_headers(headers: dict[str, str], *, static: bool) -> None:
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and csp == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    if static:
        assert "no-store" not in headers.get("cache-control", "")
    else:
        assert headers["cache-control"] == "no-store"


def test_every_answer_carries_the_security_headers_and_no_store(
    site: Site, attack: AttackLog
) -> None:
    attack.tried("15.8 web edges", "pages, exports, PDFs, errors: headers and caching of each")
    client = site.api.client
    bearer = {"Authorization": f"Bearer {site.token}"}
    client.cookies.set(SESSION_COOKIE, site.token)
    try:
        answers = [client.get(path) for path in STAFF_PAGES]
    finally:
        client.cookies.clear()
    answers += [
        client.get("/api/v1/sessions", headers=bearer),
        client.get("/api/v1/sessions.csv", headers=bearer),
        client.get("/api/v1/members/giulia/export", headers=bearer),
        client.get("/api/v1/statements/1/pdf", headers=bearer),
        client.get("/api/v1/me"),
        client.get("/no/such/page"),
        client.post("/api/v1/login", content=b"{", headers={"Content-Type": "application/json"}),
        client.post(
            "/api/v1/login",
            content=b"{}",
            headers={"Content-Type": "application/json", "Content-Length": str(10**9)},
        ),
    ]
    for answer in answers:
        _check_headers(dict(answer.headers), static=False)
    for asset in ("/static/officina.js", "/static/floor.js", "/static/officina.css"):
        answer = client.get(asset)
        assert answer.status_code == 200
        _check_headers(dict(answer.headers), static=True)
    statuses = sorted({answer.status_code for answer in answers})
    attack.held(f"CSP, nosniff, Referrer-Policy on every answer ({statuses}); no-store but assets")


class _InlineFinder(HTMLParser):
    """Collects inline scripts, style attributes, style elements and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in named and named.get("type") != "application/json":
            self._in_script = True
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in {"src", "href"} and value and re.match(r"^(https?:)?//", value):
                self.found.append(f"<{tag} {name}={value!r}> from another site")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script {data[:40]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def test_no_page_has_inline_script_or_style_or_a_cdn(site: Site, attack: AttackLog) -> None:
    attack.tried("15.8 web edges", "each page read for what a CSP without unsafe-inline blocks")
    client = site.api.client
    client.cookies.set(SESSION_COOKIE, site.token)
    try:
        pages = {path: client.get(path) for path in STAFF_PAGES}
    finally:
        client.cookies.clear()
    for path, page in pages.items():
        assert page.status_code == 200, path
        finder = _InlineFinder()
        finder.feed(page.text)
        assert not finder.found, f"{path}: {finder.found}"
    attack.held("no inline script, style or handler, and nothing loaded from another site")


def test_the_cookie_is_secure_by_default_and_docs_load_nothing_from_a_cdn(
    site: Site, attack: AttackLog
) -> None:
    attack.tried("15.8 web edges", "the login cookie over plain http, and /docs from a CDN")
    add_login_directly(site.api.state, "coord", Role.COORDINATOR)
    answer = site.api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    site.api.client.cookies.clear()
    cookie = answer.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert ApiSettings(
        site="x",
        secret="web-edges-api-secret-0123456789abcdef",
        site_key="web-edges-site-key-0123456789abcdef",
    ).cookie_secure
    demo = ApiSettings.for_demo(
        site="x", ledger_url="sqlite://", broker=BrokerOptions(host="h", port=1)
    )
    assert not demo.cookie_secure
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert site.api.client.get(path).status_code == 404
    assert site.api.client.get("/openapi.json").status_code == 200
    attack.held("Secure outside the demo; /docs and /redoc off (they load a CDN); schema served")


def test_the_login_form_keeps_a_quoted_local_target(site: Site) -> None:
    target = "/members/giulia/month?month=2026-03"
    page = site.api.client.get(f"/login?next={quote(target)}")
    assert f'data-next="{target}"' in page.text
