"""Maintenance in the pages, on the live floor and in InfluxDB: a member reports a fault from the
machine's page, everyone sees it out of order, a coordinator signs it back in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx

from harness.influxdb import InfluxServer
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port
from services.api.floor import ChangeKind, Floor, FloorChange, ServiceMark
from services.api.security import Role
from services.api.state import utc_now
from services.influx import InfluxSettings
from tests.api.conftest import (
    PASSWORD,
    Api,
    MovableClock,
    add_login_directly,
    book_session,
    make_settings,
    running_api,
    seed_registry,
    seed_registry_of,
    served_api,
)
from tests.api.test_registry_photos import PNG
from tests.waiting import eventually


def _browse_as(api: Api, username: str, role: Role, member: str | None = None) -> dict[str, str]:
    """Log in as the login page does (the client keeps the cookie); the page's CSRF header."""
    api.add_login(username, role, member=member)
    answer = api.client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200
    return {"X-CSRF-Token": str(answer.json()["csrf"])}


def test_a_fault_reported_from_the_machine_page_shows_it_out_of_order_until_closed(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    seed_registry(api)
    giulia = _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    page = api.client.get("/machines/lathe-1/maintenance?lang=en")
    assert page.status_code == 200
    assert "data-in-order" in page.text and 'data-fault-form="lathe-1"' in page.text
    assert "Add task" not in page.text  # members report; coordinators manage

    # What the page's form sends: the text as JSON, then the photo's bytes.
    fault = api.client.post(
        "/api/v1/machines/lathe-1/faults", json={"text": "chuck wobbles"}, headers=giulia
    ).json()
    photo = api.client.put(
        f"/api/v1/machines/lathe-1/faults/{fault['id']}/photo",
        content=PNG,
        headers=giulia | {"Content-Type": "image/png"},
    )
    assert photo.status_code == 204, photo.text

    page = api.client.get("/machines/lathe-1/maintenance?lang=en")
    assert "data-out-of-order" in page.text and "Out of order</b>: fault reported" in page.text
    assert "chuck wobbles" in page.text and "Giulia Rossi" in page.text
    assert f"/api/v1/machines/lathe-1/faults/{fault['id']}/photo" in page.text
    italian = api.client.get("/machines/lathe-1/maintenance?lang=it").text
    assert "Fuori servizio</b>: guasto segnalato" in italian
    floor = api.client.get("/floor?lang=en").text
    assert "is-out-of-order" in floor and "Out of order: <span" in floor
    tiles = {t["machine"]: t for t in api.client.get("/api/v1/floor").json()["machines"]}
    assert tiles["lathe-1"]["out_of_order"] == "fault reported"
    assert tiles["laser-1"]["out_of_order"] is None
    assert "fault reported" in api.client.get("/machines/lathe-1/day?lang=en").text

    # A member may not close it; a coordinator does, with notes and parts.
    refused = api.client.post(
        f"/api/v1/machines/lathe-1/faults/{fault['id']}/close", json={}, headers=giulia
    )
    assert refused.status_code == 403
    api.client.cookies.clear()
    coord = _browse_as(api, "coord", Role.COORDINATOR)
    staff_page = api.client.get("/machines/lathe-1/maintenance?lang=en").text
    assert f"/api/v1/machines/lathe-1/faults/{fault['id']}/close" in staff_page
    closed = api.client.post(
        f"/api/v1/machines/lathe-1/faults/{fault['id']}/close",
        json={"notes": "jaws reseated", "parts": "2 screws"},
        headers=coord,
    )
    assert closed.status_code == 200, closed.text
    page = api.client.get("/machines/lathe-1/maintenance?lang=en").text
    assert "data-in-order" in page and "jaws reseated" in page and "2 screws" in page
    tiles = {t["machine"]: t for t in api.client.get("/api/v1/floor").json()["machines"]}
    assert tiles["lathe-1"]["out_of_order"] is None


def test_a_coordinator_adds_a_task_signs_it_off_and_the_overview_lists_what_is_due(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    clock = MovableClock()
    # The login outlives the two days the test moves on.
    settings = make_settings(sqlite_url, mosquitto, site, token_ttl_s=7 * 86_400)
    for api in running_api(settings, clock=clock):
        _task_round(api, clock)


def _task_round(api: Api, clock: MovableClock) -> None:
    seed_registry(api)
    coord = _browse_as(api, "coord", Role.COORDINATOR)
    page = api.client.get("/machines/laser-1/maintenance?lang=en").text
    assert 'id="add-task"' in page and 'name="critical"' in page
    # The add-task form as the page sends it: numbers as numbers, the checkbox as a yes or no.
    added = api.client.post(
        "/api/v1/machines/laser-1/maintenance/tasks",
        json={"title": "Clean the lens", "every_days": 1, "critical": True},
        headers=coord,
    )
    assert added.status_code == 201, added.text
    task = added.json()
    assert api.client.get("/manage/maintenance?lang=en").text.count('class="due"') == 0

    # A day on, the watch finds the task due: the laser is out of order, on every page.
    clock.move_to(utc_now() + timedelta(days=2))
    assert api.state.watch.check() == {"laser-1"}
    overview = api.client.get("/manage/maintenance?lang=en").text
    assert 'data-machine-line="laser-1" class="out-of-order"' in overview
    assert "service due: Clean the lens" in overview and "Clean the lens" in overview
    assert overview.index('data-machine-line="laser-1"') < overview.index("lathe-1")
    tile = next(
        t for t in api.client.get("/api/v1/floor").json()["machines"] if t["machine"] == "laser-1"
    )
    assert (tile["out_of_order"], tile["tasks_due"]) == ("service due: Clean the lens", 1)
    page = api.client.get("/machines/laser-1/maintenance?lang=en").text
    assert f'data-task="{task["id"]}" class="due"' in page and 'data-due="yes"' in page

    signed = api.client.post(
        f"/api/v1/machines/laser-1/maintenance/tasks/{task['id']}/sign-off",
        json={"notes": "lens wiped", "parts": ""},
        headers=coord,
    )
    assert signed.status_code == 200, signed.text
    overview = api.client.get("/manage/maintenance?lang=en").text
    assert "data-all-in-order" in overview
    page = api.client.get("/machines/laser-1/maintenance?lang=en").text
    assert 'data-due="no"' in page and "lens wiped" in page
    removed = api.client.delete(
        f"/api/v1/machines/laser-1/maintenance/tasks/{task['id']}", headers=coord
    )
    assert removed.status_code == 204
    assert "No service tasks" in api.client.get("/machines/laser-1/maintenance?lang=en").text


def test_maintenance_pages_say_who_may_see_them(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    for page in ("/manage/maintenance", "/machines/lathe-1/maintenance"):
        answer = api.client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    _browse_as(api, "giulia", Role.MEMBER, member="giulia")
    assert api.client.get("/manage/maintenance").status_code == 403
    assert api.client.get("/machines/nowhere-1/maintenance").status_code == 404
    assert api.client.get("/machines/NOT%20AN%20ID/maintenance").status_code == 422


def test_the_qualifications_form_marks_a_member_as_staff(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    coord = _browse_as(api, "coord", Role.COORDINATOR)
    page = api.client.get("/manage/qualifications?lang=en").text
    assert '<input type="checkbox" name="staff">' in page
    granted = api.client.put(
        "/api/v1/qualifications",
        json={"member": "marco", "machine": "lathe-1", "staff": True},
        headers=coord,
    )
    assert granted.status_code in (200, 201), granted.text
    assert 'data-staff="yes"' in api.client.get("/manage/qualifications").text


def test_the_floor_is_told_only_of_machines_whose_service_state_changed() -> None:
    floor = Floor(site="s", sparkline_points=10)
    changes: list[FloorChange] = []
    floor.listen(changes.append)
    assert floor.mark_service({"lathe-1": ServiceMark()}) == ()
    [changed] = floor.mark_service({"lathe-1": ServiceMark("fault reported", 0)})
    assert (changed.out_of_order, floor.machine("lathe-1").out_of_order) == ("fault reported",) * 2
    assert floor.mark_service({"lathe-1": ServiceMark("fault reported", 0)}) == ()
    [back] = floor.mark_service({})
    assert back.out_of_order is None
    assert [c.kind for c in changes] == [ChangeKind.SERVICE, ChangeKind.SERVICE]


def _events(lines: Iterator[str]) -> Iterator[tuple[str, object]]:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, json.loads(line.removeprefix("data: "))


def test_a_reported_fault_turns_the_live_floor_out_of_order_and_reaches_influx(
    sqlite_url: str, mosquitto: MosquittoServer, site: str, influxdb: InfluxServer
) -> None:
    database = f"maint_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(database)
    influx = InfluxSettings(url=influxdb.url, database=database)
    try:
        with served_api(make_settings(sqlite_url, mosquitto, site, influx=influx)) as running:
            seed_registry_of(running.state, site)
            add_login_directly(running.state, "giulia", Role.MEMBER, member="giulia")
            with httpx.Client(base_url=running.url, timeout=10) as client:
                token = client.post(
                    "/api/v1/login", json={"username": "giulia", "password": PASSWORD}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                with client.stream("GET", "/api/v1/floor/events", headers=headers) as stream:
                    events = _events(stream.iter_lines())
                    kind, _ = next(events)
                    assert kind == "snapshot"
                    with httpx.Client(base_url=running.url, timeout=10) as other:
                        reported = other.post(
                            "/api/v1/machines/lathe-1/faults",
                            json={"text": "smoke from the motor"},
                            headers=headers,
                        )
                    assert reported.status_code == 201, reported.text
                    kind, tiles = next(events)
                    assert kind == "tiles"
                    assert [(t["machine"], t["out_of_order"]) for t in tiles] == [  # type: ignore[attr-defined]
                        ("lathe-1", "fault reported")
                    ]

        def written() -> list[dict[str, object]]:
            series = influxdb.query(
                'SELECT last("out_of_order") AS "out", last("reason") AS "reason" '
                'FROM "maintenance" GROUP BY "machine"',
                database=database,
            )
            return [{"machine": s.tags["machine"], **s.rows()[0]} for s in series]

        eventually(lambda: len(written()) == 2, what="maintenance points of both machines")
        assert {(r["machine"], r["out"], r["reason"]) for r in written()} == {
            ("lathe-1", 1, "fault reported"),
            ("laser-1", 0, ""),
        }
    finally:
        influxdb.drop_database(database)


def test_a_fault_is_reported_and_shown_while_influx_does_not_answer(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    gone = InfluxSettings(url=f"http://{LOOPBACK}:{free_port()}", database="officina")
    for api in running_api(make_settings(sqlite_url, mosquitto, site, influx=gone)):
        seed_registry(api)
        giulia = api.add_login("giulia", Role.MEMBER, member="giulia")
        reported = api.client.post(
            "/api/v1/machines/lathe-1/faults", json={"text": "no power"}, headers=giulia
        )
        assert reported.status_code == 201, reported.text
        tiles = {
            t["machine"]: t
            for t in api.client.get("/api/v1/floor", headers=giulia).json()["machines"]
        }
        assert tiles["lathe-1"]["out_of_order"] == "fault reported"


def test_an_api_without_influx_still_shows_maintenance(
    sqlite_url: str, mosquitto: MosquittoServer, site: str
) -> None:
    for api in running_api(make_settings(sqlite_url, mosquitto, site)):
        seed_registry(api)
        assert api.state.watch.services()["lathe-1"].out_of_order is None


def test_the_service_state_counts_running_hours_and_days_left_from_the_ledger(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    seed_registry(api)
    coord = api.add_login("coord", Role.COORDINATOR)
    for body in (
        {"title": "Grease", "every_running_h": 10},
        {"title": "Inspect", "every_days": 30, "every_running_h": 100},
    ):
        added = api.client.post(
            "/api/v1/machines/lathe-1/maintenance/tasks", json=body, headers=coord
        )
        assert added.status_code == 201, added.text
    # 360 minutes badged in, 240 of them running: 4 hours towards each task.
    book_session(api.state, member="giulia", machine="lathe-1", started=utc_now(), minutes=360)
    lathe = api.state.watch.services()["lathe-1"]
    assert (lathe.out_of_order, lathe.tasks_due, lathe.hours_to_service) == (None, 0, 6.0)
    assert lathe.days_to_service is not None and 29.99 < lathe.days_to_service <= 30
    laser = api.state.watch.services()["laser-1"]
    assert (laser.tasks_due, laser.hours_to_service, laser.days_to_service) == (0, None, None)
