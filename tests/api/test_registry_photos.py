"""Machine photos: JPEG, PNG or WebP as their bytes say, size-limited, served back as found."""

from __future__ import annotations

from services.api.photos import MAX_PHOTO_BYTES, sniffed_type
from services.api.security import Role
from tests.api.conftest import PASSWORD, Api, seed_registry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64)
URL = "/api/v1/machines/lathe-1/photo"


def test_the_type_is_read_from_the_bytes() -> None:
    assert sniffed_type(PNG) == "image/png"
    assert sniffed_type(JPEG) == "image/jpeg"
    assert sniffed_type(WEBP) == "image/webp"
    assert sniffed_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert sniffed_type(b"GIF89a" + bytes(16)) is None
    assert sniffed_type(b"") is None


def test_a_photo_is_stored_served_as_sniffed_and_shown_on_the_pages(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    saved = api.client.put(URL, content=WEBP, headers=staff | {"Content-Type": "image/webp"})
    assert saved.status_code == 204, saved.text
    served = api.client.get(URL, headers=staff)
    assert served.status_code == 200 and served.content == WEBP
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["x-content-type-options"] == "nosniff"
    answer = api.client.post("/api/v1/login", json={"username": "coord", "password": PASSWORD})
    assert answer.status_code == 200
    for page in ("/floor", "/manage/machines", "/machines/lathe-1/day"):
        assert 'src="/api/v1/machines/lathe-1/photo?v=' in api.client.get(page).text, page
    dropped = api.client.delete(URL, headers={"X-CSRF-Token": answer.json()["csrf"]})
    assert dropped.status_code == 204
    assert api.client.get(URL).status_code == 404


def test_a_photo_of_the_wrong_type_or_size_is_refused_naming_the_photo(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    staff = api.add_login("coord", Role.COORDINATOR)
    cases = (
        (b"GIF89a" + bytes(64), "image/gif", 415),
        (b"<svg/>", "image/svg+xml", 415),
        (b"<svg/>", "image/png", 422),  # declared PNG, bytes are not an image
        (JPEG, "image/png", 422),  # declared PNG, bytes are JPEG
        (PNG + bytes(MAX_PHOTO_BYTES), "image/png", 413),
    )
    for body, declared, code in cases:
        answer = api.client.put(URL, content=body, headers=staff | {"Content-Type": declared})
        assert answer.status_code == code, (declared, answer.text)
        assert "photo" in answer.text, answer.text
    assert api.client.get(URL, headers=staff).status_code == 404
    assert api.state.rejections.snapshot()["photo"] == len(cases)


def test_only_staff_change_a_photo(sqlite_api: Api) -> None:
    api = sqlite_api
    seed_registry(api)
    member = api.add_login("giulia", Role.MEMBER, member="giulia")
    answer = api.client.put(URL, content=PNG, headers=member | {"Content-Type": "image/png"})
    assert answer.status_code == 403
    staff = api.add_login("coord", Role.COORDINATOR)
    missing = "/api/v1/machines/nope-1/photo"
    answer = api.client.put(missing, content=PNG, headers=staff | {"Content-Type": "image/png"})
    assert answer.status_code == 404
