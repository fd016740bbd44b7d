"""The api refuses to start with empty, default or short secrets, except in the demo."""

from __future__ import annotations

import pytest

from contract.mqtt import BrokerOptions
from contract.secrets import DEMO_API_SECRET, DEMO_SITE_KEY
from services.api.errors import SettingsError
from services.api.settings import ApiSettings

GOOD_SECRET = "Zr4kT9-the-api-token-key-of-this-test-workshop"
GOOD_KEY = "a-site-key-of-this-workshop-0123456789"


def test_empty_secrets_are_refused_naming_both_fields() -> None:
    with pytest.raises(SettingsError) as refused:
        ApiSettings(site="officina-1")
    assert "secret: must be set" in str(refused.value)
    assert "site_key: must be set" in str(refused.value)


@pytest.mark.parametrize(
    "secret", ["changethis", "SECRET", "REPLACE-with-a-secret-of-32-characters"]
)
def test_a_placeholder_secret_is_refused(secret: str) -> None:
    with pytest.raises(SettingsError, match="secret: a placeholder from an example is refused"):
        ApiSettings(site="officina-1", secret=secret, site_key=GOOD_KEY)


def test_the_demo_secret_is_refused_outside_the_demo() -> None:
    with pytest.raises(SettingsError, match="secret: the demo's well-known value is refused"):
        ApiSettings(site="officina-1", secret=DEMO_API_SECRET, site_key=GOOD_KEY)


@pytest.mark.parametrize("site_key", ["x", " " * 32, "k" * 40])
def test_a_weak_site_key_is_refused(site_key: str) -> None:
    with pytest.raises(SettingsError, match="site_key: "):
        ApiSettings(site="officina-1", secret=GOOD_SECRET, site_key=site_key)


def test_the_demo_site_key_is_refused_outside_the_demo() -> None:
    with pytest.raises(SettingsError, match="site_key: the demo's well-known value is refused"):
        ApiSettings(site="officina-1", secret=GOOD_SECRET, site_key=DEMO_SITE_KEY)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="secret: must be at least 32 characters"):
        ApiSettings(site="officina-1", secret="short-but-not-default", site_key=GOOD_KEY)


def test_the_demo_runs_with_its_well_known_secrets() -> None:
    settings = ApiSettings.for_demo(
        site="demo", ledger_url="sqlite://", broker=BrokerOptions(port=1884)
    )
    assert settings.demo and settings.secret == DEMO_API_SECRET


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        ApiSettings(
            site="Not A Site",
            secret=GOOD_SECRET,
            site_key=GOOD_KEY,
            timezone="Mars/Olympus",
        )
    message = str(refused.value)
    for field in ("site:", "timezone:"):
        assert field in message
