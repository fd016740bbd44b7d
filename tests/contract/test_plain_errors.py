"""Validation errors read as a person would write them: fields by name, problems in plain words."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.plain_errors import field_name, plain_problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Clamp(_Strict):
    driver: Literal["clamp"]
    channel: int = 0


class Meter(_Strict):
    driver: Literal["meter"]
    address: int = 1


class Machine(_Strict):
    id: str
    run_amps: Annotated[float, Field(gt=0)]
    sensor: Annotated[Clamp | Meter, Field(discriminator="driver")]


class Floor(_Strict):
    name: str
    machines: tuple[Machine, ...]
    tags: tuple[str, ...] = ()


def _problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Floor.model_validate(data)
    return [str(p) for p in plain_problems(caught.value, data=data, model=Floor)]


LATHE = {"id": "lathe-1", "run_amps": 4.0, "sensor": {"driver": "clamp"}}


def test_a_misspelt_key_is_named_by_the_machine_id_with_the_key_it_meant() -> None:
    lathe = {"id": "lathe-1", "run_amp": 4.0, "sensor": {"driver": "clamp"}}
    assert _problems({"name": "hall", "machines": [lathe]}) == [
        "machines[lathe-1].run_amps: is missing",
        "machines[lathe-1].run_amp: unknown key; did you mean run_amps?",
    ]


def test_a_key_inside_a_chosen_driver_is_matched_against_that_drivers_keys() -> None:
    lathe = LATHE | {"sensor": {"driver": "meter", "adress": 3}}
    assert _problems({"name": "hall", "machines": [lathe]}) == [
        "machines[lathe-1].sensor.adress: unknown key; did you mean address?"
    ]


def test_a_key_like_no_other_gets_no_guess() -> None:
    assert _problems({"name": "hall", "machines": [], "colour": "red"}) == ["colour: unknown key"]


def test_library_sentences_become_plain_words() -> None:
    lathe = LATHE | {"run_amps": 0}
    problems = _problems({"name": 3, "machines": "lathe-1", "tags": "x"})
    assert problems == ["name: must be text", "machines: must be a list", "tags: must be a list"]
    assert _problems({"name": "hall", "machines": [lathe]}) == [
        "machines[lathe-1].run_amps: must be more than 0"
    ]


def test_an_unknown_driver_names_the_driver_key_and_the_known_ones() -> None:
    lathe = LATHE | {"sensor": {"driver": "probe"}}
    assert _problems({"name": "hall", "machines": [lathe]}) == [
        "machines[lathe-1].sensor.driver: must be one of 'clamp', 'meter'"
    ]


def test_an_entry_without_an_id_is_named_by_its_place() -> None:
    assert field_name(("access", 1, "until"), {"access": [{}, {"card": "x"}]}) == "access[1].until"
    assert field_name(("machines", 0, "id")) == "machines[0].id"
