"""The reference firmware's C++ builds strict and sanitized on the host, passes its own tests, and
speaks byte for byte what the Python codec speaks.

Needs g++. Without it the tests are skipped with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, cast

import pytest

import firmware_bridge
from firmware_bridge import (
    CardRead,
    Decoder,
    DeviceError,
    FrameError,
    Heartbeat,
    Hello,
    Measurement,
    RejectKind,
    RelayAck,
    decode_line,
    encode,
)
from tests.firmware_bridge.test_vectors import VECTORS, VECTORS_PATH, Fields, frame_of, wire

FIRMWARE = Path(firmware_bridge.__file__).parent / "firmware"
FIRMWARE_SOURCES = tuple(sorted((FIRMWARE / "officina_mcu" / "src").glob("*.cpp")))
HARNESS_SOURCE = FIRMWARE / "test" / "test_host.cpp"
STRICT = ("-std=c++17", "-Wall", "-Wextra", "-Werror")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")

# The firmware is built twice, optimised and sanitized; the test harness around it (most of the
# compile time) once, unoptimised and sanitized, and linked into both.
BUILDS: dict[str, tuple[str, ...]] = {"optimised": ("-O2",), "sanitized": ("-O1", *SANITIZE)}
HARNESS_FLAGS = ("-O0", *SANITIZE)
# The firmware never allocates; leak checking needs ptrace, which some CI sandboxes forbid.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1",
}
RUN_TIMEOUT_S = 60


@dataclass(frozen=True)
class HostBuild:
    """The firmware's host test program, built both ways."""

    binaries: dict[str, Path]
    workdir: Path


class DecodedResult(TypedDict, total=False):
    """What the C++ parser made of one line."""

    ok: bool
    type: str
    fields: Fields
    reject: str
    field: str | None
    frame_type: str


class Decoded(TypedDict):
    """A line and the C++ parser's result."""

    line: str
    result: DecodedResult


class Named(TypedDict, total=False):
    """An entry of the C++ results named after its vector."""

    name: str
    line: str
    refused: bool
    frames: list[str]
    counters: dict[str, int]


class CppResults(TypedDict):
    """Everything the C++ test program encoded and decoded."""

    encoded: list[Named]
    decoded: list[Decoded]
    unencodable: list[Named]
    streams: list[Named]
    board_session: str
    measurement_expected: dict[str, float]


def _compile(compiler: str, workdir: Path) -> dict[str, Path]:
    """Compile every translation unit at once, then link one program per build."""
    units: list[tuple[Path, tuple[str, ...], Path]] = [
        (HARNESS_SOURCE, HARNESS_FLAGS, workdir / "harness.o")
    ]
    for build, flags in BUILDS.items():
        units += [(src, flags, workdir / f"{build}-{src.stem}.o") for src in FIRMWARE_SOURCES]
    jobs = [
        (
            subprocess.Popen(
                [compiler, *STRICT, *flags, "-c", str(src), "-o", str(obj)], stderr=subprocess.PIPE
            ),
            src.name,
        )
        for src, flags, obj in units
    ]
    errors = []
    for job, name in jobs:
        _, stderr = job.communicate(timeout=RUN_TIMEOUT_S)
        if job.returncode != 0:
            errors.append(f"{name}:\n{stderr.decode(errors='replace')}")
    assert not errors, "the firmware does not compile cleanly:\n" + "\n".join(errors)
    binaries = {}
    for build in BUILDS:
        binary = workdir / f"test_host-{build}"
        objects = [str(obj) for _, _, obj in units if obj.name.startswith((build, "harness"))]
        command = [compiler, *SANITIZE, *objects, "-o", str(binary), "-lm"]
        linked = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        assert linked.returncode == 0, f"linking the {build} build failed:\n{linked.stderr}"
        binaries[build] = binary
    return binaries


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostBuild]:
    """The host test program compiled into pytest's temporary directory."""
    compiler = shutil.which("g++")
    if compiler is None:
        if os.environ.get("CI"):
            pytest.fail("g++ is not installed; CI must build the firmware's host tests (apt g++)")
        pytest.skip("g++ is not installed: the firmware's host tests need it (apt install g++)")
    workdir = tmp_path_factory.mktemp("firmware")
    yield HostBuild(binaries=_compile(compiler, workdir), workdir=workdir)


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SANITIZER_ENV}
    return subprocess.run(
        [str(binary), str(VECTORS_PATH), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def cpp_results(host_build: HostBuild) -> CppResults:
    """What the optimised C++ build encoded and decoded from the shared vectors."""
    out = host_build.workdir / "results.json"
    run = _run(host_build.binaries["optimised"], "--emit", str(out))
    assert run.returncode == 0, run.stderr
    return cast(CppResults, json.loads(out.read_text(encoding="ascii")))


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_firmware_host_tests_pass(host_build: HostBuild, build: str) -> None:
    run = _run(host_build.binaries[build])
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert run.stdout.strip().endswith(", 0 failed")
    assert "runtime error" not in run.stderr  # UBSan reports, should one slip through


def test_cpp_encodes_every_vector_byte_for_byte_as_python(cpp_results: CppResults) -> None:
    vectors = [*VECTORS["frames"], *VECTORS["rounded"]]
    assert [entry["name"] for entry in cpp_results["encoded"]] == [v["name"] for v in vectors]
    for vector, entry in zip(vectors, cpp_results["encoded"], strict=True):
        python_line = encode(frame_of(vector["type"], vector["fields"]))
        assert wire(entry["line"]) == python_line == wire(vector["line"]), vector["name"]


def test_cpp_decodes_every_line_as_python_does(cpp_results: CppResults) -> None:
    assert len(cpp_results["decoded"]) == sum(
        len(VECTORS[section]) for section in ("frames", "rounded", "accepted", "rejected")
    )
    for entry in cpp_results["decoded"]:
        line, result = wire(entry["line"]), entry["result"]
        if result["ok"]:
            assert decode_line(line) == frame_of(result["type"], result["fields"]), entry["line"]
            continue
        with pytest.raises(FrameError) as caught:
            decode_line(line)
        assert caught.value.kind == RejectKind(result["reject"]), entry["line"]
        assert caught.value.field == result["field"], entry["line"]
        assert (caught.value.frame_type or "") == result["frame_type"], entry["line"]


def test_cpp_refuses_to_encode_what_python_refuses(cpp_results: CppResults) -> None:
    refused = {entry["name"]: entry["refused"] for entry in cpp_results["unencodable"]}
    assert refused == {vector["name"]: True for vector in VECTORS["unencodable"]}


def test_cpp_parser_finds_and_counts_like_the_python_decoder(cpp_results: CppResults) -> None:
    for vector, entry in zip(VECTORS["streams"], cpp_results["streams"], strict=True):
        decoder = Decoder()
        frames = decoder.feed(wire(vector["bytes"]))
        assert [wire(line) for line in entry["frames"]] == [encode(f) for f in frames]
        assert entry["counters"] == decoder.counters, vector["name"]


def test_python_decodes_everything_the_cpp_board_sends(cpp_results: CppResults) -> None:
    decoder = Decoder(source="firmware")
    frames = decoder.feed(wire(cpp_results["board_session"]))
    counters = decoder.counters
    assert counters["frames"] == len(frames)
    assert sum(counters.values()) == len(frames), counters  # no rejects, no noise
    without_measurements = [f for f in frames if not isinstance(f, Measurement)]
    assert without_measurements == [
        Hello(firmware="officina-1.0.0", protocol=1, channels=2),
        RelayAck(channel=0, closed=True, seq=17),
        DeviceError(code="BAD_CRC", detail=""),
        RelayAck(channel=0, closed=False, seq=18),
        DeviceError(code="BAD_CHANNEL", detail="relay 5 seq 19"),
        Hello(firmware="officina-1.0.0", protocol=1, channels=2),
        DeviceError(code="VERSION", detail="host v2 device v1"),
        DeviceError(code="MALFORMED", detail="action"),
        DeviceError(code="UNKNOWN_TYPE", detail="HB"),
        Heartbeat(uptime_ms=1000),
        CardRead(uid="1A2B3C4D5E", reader=1),
    ]


def _measurements(frames: Sequence[object]) -> list[Measurement]:
    return [frame for frame in frames if isinstance(frame, Measurement)]


def test_python_reads_the_cpp_measurement_of_a_synthetic_sine(cpp_results: CppResults) -> None:
    measurements = _measurements(Decoder().feed(wire(cpp_results["board_session"])))
    expected = cpp_results["measurement_expected"]
    assert [m.seq for m in measurements] == [0, 1]
    reading = measurements[0]
    assert reading.channel == 0
    assert reading.cycles == expected["cycles"]
    assert reading.vrms is not None
    assert math.isclose(reading.irms, expected["irms"], rel_tol=0.01)
    assert math.isclose(reading.vrms, expected["vrms"], rel_tol=0.01)
    assert math.isclose(reading.watts, expected["watts"], rel_tol=0.01)
    assert math.isclose(reading.watts, 230.0 * 10.0 * math.cos(math.radians(30)), rel_tol=0.01)
    assert reading.wh > 0
