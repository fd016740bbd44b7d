"""The live floor follows retained state and gateway status on the broker, and streams changes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx

from contract import (
    Badge,
    BadgeDecision,
    Command,
    CommandAction,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineState,
    MachineTopic,
    Message,
    Telemetry,
    TopicKind,
    decode_message,
    encode_payload,
)
from harness.mosquitto import MosquittoServer
from harness.mqtt import MqttProbe
from services.api.floor import ChangeKind, Floor, FloorChange
from services.api.security import Role
from tests.api.conftest import (
    PASSWORD,
    Api,
    add_login_directly,
    make_settings,
    publish_state,
    seed_registry,
    served_api,
)
from tests.waiting import eventually

CARD = "ab" * 32


def _tile(api: Api, headers: dict[str, str], machine: str) -> dict[str, object]:
    floor = api.client.get("/api/v1/floor", headers=headers).json()
    [tile] = [t for t in floor["machines"] if t["machine"] == machine]
    return tile  # type: ignore[no-any-return]


def test_the_floor_shows_a_machine_running_for_its_member(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    assert _tile(api, staff, "lathe-1")["state"] == "offline"
    publish_state(mosquitto, api.site, "lathe-1", MachineState.RUNNING, member="giulia")
    eventually(lambda: _tile(api, staff, "lathe-1")["state"] == "running", what="lathe running")
    tile = _tile(api, staff, "lathe-1")
    assert (tile["name"], tile["member"]) == ("Tornio", "giulia")
    assert tile["member_name"] == "Giulia Rossi"  # names, not codes, on the coordinator's floor
    assert tile["since"] is not None


def test_a_member_sees_the_floor_without_other_members_names(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    marco = api.add_login("marco", Role.MEMBER, member="marco")
    publish_state(mosquitto, api.site, "lathe-1", MachineState.RUNNING, member="giulia")
    eventually(lambda: _tile(api, marco, "lathe-1")["state"] == "running", what="lathe running")
    assert _tile(api, marco, "lathe-1")["member"] is None
    assert _tile(api, marco, "lathe-1")["member_name"] is None
    assert _tile(api, marco, "lathe-1")["session"] is None


def test_an_offline_gateway_turns_its_machines_offline(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    publish_state(mosquitto, api.site, "laser-1", MachineState.IDLE, member="marco")
    eventually(lambda: _tile(api, staff, "laser-1")["state"] == "idle", what="laser idle")
    will = GatewayStatus(
        id="gw-1-offline",
        ts=int(time.time() * 1000),
        status=GatewayStatusValue.OFFLINE,
        version="1",
    )
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as probe:
        topic = str(GatewayTopic(api.site, "gw-1"))
        online = will.model_copy(
            update={"status": GatewayStatusValue.ONLINE, "machines": ("laser-1",)}
        )
        probe.publish(topic, encode_payload(online), retain=True)
        eventually(lambda: _tile(api, staff, "laser-1")["gateway_online"] is True, what="online")
        probe.publish(topic, encode_payload(will), retain=True)
    eventually(lambda: _tile(api, staff, "laser-1")["state"] == "offline", what="laser offline")
    assert _tile(api, staff, "laser-1")["reported_state"] == "idle"


def test_telemetry_fills_the_amps_sparkline(sqlite_api: Api, mosquitto: MosquittoServer) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    topic = str(MachineTopic(api.site, "lathe-1", TopicKind.TELEMETRY))
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
        for seq, amps in enumerate((0.1, 5.2, 5.4)):
            reading = Telemetry(
                id=f"t-{seq}",
                ts=1_700_000_000_000 + seq,
                seq=seq,
                amps=amps,
                state=MachineState.RUNNING,
            )
            gateway.publish(topic, encode_payload(reading))
    eventually(lambda: len(_tile(api, staff, "lathe-1")["sparkline"]) == 3, what="3 points")  # type: ignore[arg-type]
    tile = _tile(api, staff, "lathe-1")
    assert tile["sparkline"] == [0.1, 5.2, 5.4] and tile["amps"] == 5.4


def test_a_bad_state_message_is_ignored_and_counted_and_the_next_good_one_shown(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    topic = str(MachineTopic(api.site, "lathe-1", TopicKind.STATE))
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
        gateway.publish(topic, b'{"v":1,"id":"x","ts":1,"state":"exploded","since":1}')
    publish_state(mosquitto, api.site, "lathe-1", MachineState.UNLOCKED, member="giulia")
    eventually(lambda: _tile(api, staff, "lathe-1")["state"] == "unlocked", what="unlocked")
    assert api.state.link.rejected == 1


def test_a_remote_lock_goes_to_the_machines_commands_topic(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
        gateway.subscribe(str(MachineTopic(api.site, "lathe-1", TopicKind.COMMANDS)))
        sent = api.client.post(
            "/api/v1/machines/lathe-1/commands", json={"action": "lock"}, headers=staff
        )
        assert sent.status_code == 202
        received = gateway.receive()
    command = decode_message(received.topic, received.payload).payload
    assert isinstance(command, Command)
    assert (command.action, command.by) == (CommandAction.LOCK, "coord")


def test_a_card_is_enrolled_by_badging_it_at_the_chosen_machine(
    sqlite_api: Api, mosquitto: MosquittoServer
) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    badge = Badge(
        id="b-1",
        ts=1_700_000_000_000,
        card=CARD,
        decision=BadgeDecision.DENIED,
        reason="unknown_card",
    )

    async def enrol_while_badging() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            request = asyncio.create_task(
                client.post(
                    "/api/v1/cards/enrol",
                    json={"member": "marco", "machine": "laser-1", "label": "spare"},
                    headers=staff,
                )
            )
            while api.state.waiters.waiting_at("laser-1") == 0:
                await asyncio.sleep(0.02)
            with MqttProbe(host=mosquitto.host, port=mosquitto.port) as gateway:
                topic = str(MachineTopic(api.site, "laser-1", TopicKind.BADGES))
                gateway.publish(topic, encode_payload(badge))
            return await asyncio.wait_for(request, 10)

    answer = asyncio.run(enrol_while_badging())
    assert answer.status_code == 201, answer.text
    assert (answer.json()["card_hash"], answer.json()["member"]) == (CARD, "marco")


def test_an_enrolment_with_no_badge_times_out_with_408(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    answer = api.client.post(
        "/api/v1/cards/enrol",
        json={"member": "marco", "machine": "laser-1", "timeout_s": 0.2},
        headers=staff,
    )
    assert answer.status_code == 408
    assert "no card badged at laser-1" in answer.json()["detail"]


def _events(lines: Iterator[str]) -> Iterator[tuple[str, object]]:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_the_event_stream_sends_a_snapshot_then_each_state_change(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        running.state.registry.add_member(member_id="giulia", name="Giulia")
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        with httpx.Client(base_url=running.url, timeout=10) as client:
            token = client.post(
                "/api/v1/login", json={"username": "coord", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with client.stream("GET", "/api/v1/floor/events", headers=headers) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = _events(stream.iter_lines())
                kind, snapshot = next(events)
                assert kind == "snapshot" and snapshot["machines"] == []  # type: ignore[index]
                publish_state(mosquitto, site, "drill-1", MachineState.RUNNING, member="giulia")
                kind, tiles = next(events)
                assert kind == "tiles"
                assert [(t["machine"], t["state"], t["member"]) for t in tiles] == [  # type: ignore[attr-defined]
                    ("drill-1", "running", "giulia")
                ]


def test_many_event_streams_all_see_a_change(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    # More streams than the database pool has connections: a stream must not hold one.
    streams = 40
    with served_api(make_settings(sqlite_url, mosquitto, site)) as running:
        add_login_directly(running.state, "coord", Role.COORDINATOR)
        token = httpx.post(
            f"{running.url}/api/v1/login", json={"username": "coord", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def watch(client: httpx.AsyncClient, subscribed: asyncio.Event) -> str:
            async with client.stream("GET", "/api/v1/floor/events", headers=headers) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("event: snapshot"):
                        subscribed.set()
                    elif line.startswith("data: ") and "drill-1" in line:
                        return str(json.loads(line.removeprefix("data: "))[0]["state"])
            return "closed"

        async def all_watch() -> list[str]:
            limits = httpx.Limits(max_connections=streams + 5)
            async with httpx.AsyncClient(base_url=running.url, timeout=15, limits=limits) as client:
                ready = [asyncio.Event() for _ in range(streams)]
                watchers = [asyncio.create_task(watch(client, r)) for r in ready]
                await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 15)
                await asyncio.to_thread(
                    publish_state, mosquitto, site, "drill-1", MachineState.FAULT
                )
                return await asyncio.wait_for(asyncio.gather(*watchers), 15)

        assert asyncio.run(all_watch()) == ["fault"] * streams


def test_a_repeated_online_status_changes_nothing_on_the_floor() -> None:
    floor = Floor(site="officina-nord", sparkline_points=10)
    changes: list[FloorChange] = []
    floor.listen(changes.append)
    topic = GatewayTopic("officina-nord", "gw-1")

    def status(value: GatewayStatusValue, ts: int, spool: int | None) -> Message:
        payload = GatewayStatus(
            id=f"gw-1-{ts}", ts=ts, status=value, version="1", machines=("lathe-1",), spool=spool
        )
        return Message(topic, payload)

    floor.take(status(GatewayStatusValue.ONLINE, 1_000, 12))
    floor.take(status(GatewayStatusValue.ONLINE, 61_000, 0))  # a minute later, spool drained
    floor.take(status(GatewayStatusValue.ONLINE, 121_000, 0))
    assert [c.kind for c in changes] == [ChangeKind.GATEWAY]
    floor.take(status(GatewayStatusValue.OFFLINE, 150_000, None))
    assert [c.kind for c in changes] == [ChangeKind.GATEWAY, ChangeKind.GATEWAY]
    assert changes[-1].machines[0].shown_state is MachineState.OFFLINE
