"""The gateway's configuration file: every problem reported at once, each naming its field."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from contract import card_hash
from gateway.config import load_config, parse_config
from gateway.errors import ConfigError

GOOD = """
site = "officine-zero"
gateway = "gw-hall-a"
site_key = "k3y-with-enough-entropy-for-tests"

[broker]
url = "mqtt://broker.lan:1883"
username = "gateway-gw-hall-a"
password = "s3cret"

[[machines]]
id = "lathe-1"
idle_amps = 0.8
run_amps = 4.0
mcu = { port = "/dev/ttyUSB0" }

[[machines]]
id = "laser-1"
idle_amps = 1.0
run_amps = 3.2
idle_timeout_s = 300
current = { driver = "pzem004t", port = "/dev/ttyUSB1" }
reader = { driver = "rc522" }
relay = { driver = "gpio", pin = 17 }

[[access]]
card = "04:A1:B2:C3"
member = "giulia"
machines = ["lathe-1"]
until = 2026-12-31T23:59:59+01:00

[[access]]
card = "04D4E5F6"
member = "marco"
"""


def test_a_good_file_loads_into_typed_settings(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert (config.broker.host, config.broker.port) == ("broker.lan", 1883)
    assert [m.id for m in config.machines] == ["lathe-1", "laser-1"]
    assert config.machines[1].policy().idle_timeout_s == 300
    key = config.site_key_bytes()
    lathe = config.access_for("lathe-1", key)
    laser = config.access_for("laser-1", key)
    assert len(lathe) == 2 and len(laser) == 1
    giulia = lathe.decide(card_hash("04A1B2C3", key), now_ms=1_790_000_000_000)
    assert giulia.granted and giulia.member == "giulia"
    assert not lathe.decide(card_hash("04A1B2C3", key), now_ms=1_800_000_000_000).granted


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    bad = (
        GOOD.replace("run_amps = 4.0", "run_amps = 0.5")
        .replace('id = "laser-1"', 'id = "Laser 1"')
        .replace('url = "mqtt://broker.lan:1883"', 'url = "http://broker.lan"')
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, source="hall-a.toml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("hall-a.toml: ") for line in lines)
    assert "hall-a.toml: machines[lathe-1].run_amps: must be greater than idle_amps" in lines
    assert any(line.startswith("hall-a.toml: machines[Laser 1].id: ") for line in lines)
    assert "hall-a.toml: broker.url: expected mqtt://host:port or mqtts://host:port" in lines


def test_unknown_keys_and_missing_keys_are_named() -> None:
    bad = GOOD.replace('site = "officine-zero"', 'sitte = "officine-zero"')
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    assert "site: is missing" in str(caught.value)
    assert "sitte: unknown key; did you mean site?" in str(caught.value)


def test_broken_toml_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("site = ")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_a_weak_site_key_is_refused_when_the_file_is_read() -> None:
    with pytest.raises(ConfigError, match="site_key: a placeholder"):
        parse_config(GOOD.replace("k3y-with-enough-entropy-for-tests", "changeme"))


def test_a_bad_card_uid_and_a_naive_expiry_are_refused() -> None:
    bad = GOOD.replace('card = "04D4E5F6"', 'card = "not-hex"').replace(
        "until = 2026-12-31T23:59:59+01:00", "until = 2026-12-31T23:59:59"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    assert "access[0].until: needs a time zone" in str(caught.value)
    assert "access[1]" in str(caught.value) and "hex" in str(caught.value)


def test_the_status_interval_defaults_to_a_minute_and_refuses_nonsense() -> None:
    assert parse_config(GOOD).broker.status_interval_s == 60.0
    every_ten = GOOD.replace("[broker]\n", "[broker]\nstatus_interval_s = 10\n")
    assert parse_config(every_ten).broker.status_interval_s == 10.0
    for bad in ("0", "-5", "0.2", "86400", '"often"', "nan"):
        text = GOOD.replace("[broker]\n", f"[broker]\nstatus_interval_s = {bad}\n")
        with pytest.raises(ConfigError) as caught:
            parse_config(text)
        assert "broker.status_interval_s" in str(caught.value), bad


def test_a_misspelt_machine_key_names_the_machine_and_the_key_it_meant() -> None:
    bad = GOOD.replace("run_amps = 4.0", "run_amp = 4.0").replace(
        "idle_amps = 1.0", "idle_amps = 0"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, source="hall-a.toml")
    lines = str(caught.value).splitlines()
    assert "hall-a.toml: machines[lathe-1].run_amp: unknown key; did you mean run_amps?" in lines
    assert "hall-a.toml: machines[laser-1].idle_amps: must be more than 0" in lines


def test_policy_keys_in_a_machine_section_still_load_with_a_warning_naming_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        config = parse_config(GOOD, source="hall-a.toml")
    assert config.machines[1].thresholds().run_amps == 3.2
    warned = [r.getMessage() for r in caplog.records]
    for key in (
        "machines[lathe-1].idle_amps",
        "machines[lathe-1].run_amps",
        "machines[laser-1].idle_amps",
        "machines[laser-1].run_amps",
        "machines[laser-1].idle_timeout_s",
    ):
        assert any(f"hall-a.toml: {key} is deprecated" in line for line in warned), key
    assert len(warned) == 5


def test_a_machine_section_with_wiring_only_runs_by_the_default_policy_until_a_config_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wiring_only = "\n".join(
        line for line in GOOD.splitlines() if not line.startswith(("idle_", "run_amps"))
    )
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        config = parse_config(wiring_only)
    assert not caplog.records
    assert config.machines[0].thresholds() == config.machines[1].thresholds()
    assert config.machines[0].policy().idle_timeout_s == 900
