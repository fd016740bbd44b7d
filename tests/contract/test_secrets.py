"""One rule for secrets: what every component refuses, and the demo's keys only in the demo."""

from __future__ import annotations

import secrets

import pytest

from contract.secrets import (
    DEMO_API_SECRET,
    DEMO_PSEUDONYM_KEY,
    DEMO_SITE_KEY,
    MIN_SECRET_LENGTH,
    password_problem,
    secret_problem,
)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "must be set"),
        ("", "must be set"),
        (" " * 40, "must not be blank"),
        ("\t\n" * 20, "must not be blank"),
        ("x", f"must be at least {MIN_SECRET_LENGTH} characters (has 1)"),
        ("k" * 64, "repeats too few characters"),
        ("ab" * 32, "repeats too few characters"),
        ("REPLACE-with-the-site-key-from-officina-init", "a placeholder from an example"),
        ("Change-Me-please-to-something-random-later", "a placeholder from an example"),
        ("changethis", "a placeholder from an example"),
        (" 8rjX4uZKPcHc2AXuLooi_DxBzocrVVINB41eHwIzfjk", "has spaces or line breaks around it"),
        (DEMO_SITE_KEY, "the demo's well-known value is refused outside the demo"),
    ],
)
def test_a_weak_secret_is_refused_naming_its_setting(value: str | None, reason: str) -> None:
    problem = secret_problem("site_key", value)
    assert problem is not None and problem.startswith(f"site_key: {reason}")


def test_a_random_secret_of_32_characters_is_accepted() -> None:
    assert secret_problem("secret", secrets.token_urlsafe(24)) is None  # 32 characters


@pytest.mark.parametrize("key", [DEMO_API_SECRET, DEMO_SITE_KEY, DEMO_PSEUDONYM_KEY])
def test_the_demos_secrets_pass_only_in_the_demo(key: str) -> None:
    assert secret_problem("key", key, demo=True) is None
    assert secret_problem("key", key) is not None


def test_the_demo_flag_lets_no_other_weak_secret_through() -> None:
    assert secret_problem("key", "x", demo=True) == "key: must be at least 32 characters (has 1)"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("   ", "broker.password: must not be blank"),
        ("REPLACE-with-this-gateway-broker-password", "broker.password: a placeholder"),
        ("change-me", "broker.password: a placeholder"),
    ],
)
def test_a_blank_or_placeholder_password_is_refused(value: str, problem: str) -> None:
    found = password_problem("broker.password", value)
    assert found is not None and found.startswith(problem)


def test_a_password_is_not_held_to_the_key_length() -> None:
    assert password_problem("password", "gw-a-secret") is None
    assert password_problem("password", None) is None
