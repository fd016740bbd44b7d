"""Telemetry read fast: msgspec decides the well-formed sample, pydantic everything else.

Telemetry is nearly every message ingest takes, and validating it with the pydantic model cost
about 2 µs a message, a fifth of ingest's network thread. `read_telemetry` first tries a msgspec
decoder of the same fields, which is stricter than the model (no numbers as strings, no booleans
as numbers, nothing that is not plain JSON) and four to five times as fast; whatever it refuses
goes to `decode_telemetry`, which accepts what the contract allows and names the field of what
it does not. So the answer is always the model's: the fast decoder only ever accepts a subset of
what the model accepts, with the same values (`tests/contract/test_reading.py` holds the two to
that, on generated payloads).

Two checks are not left to msgspec, for speed: its `pattern` (a Python regex call) cost three
times the whole rest of the decode, so the id's characters are checked with `str` methods; and
the state is read as one of `MachineState`'s values, a plain string, because formatting the enum
into the line protocol ran `Enum.__format__` for every message.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contract.payloads import (
    INT64_MAX,
    MAX_EPOCH_MS,
    MAX_PAYLOAD_BYTES,
    Telemetry,
    decode_telemetry,
)

__all__ = ["State", "TelemetryReading", "read_telemetry"]

# The largest finite float: bounds that leave out inf (and NaN, which fails every comparison).
_MAX_FLOAT = 1.7976931348623157e308
# `MachineState`'s values, as the strings they are (a test holds the two equal).
State = Literal["locked", "unlocked", "idle", "running", "fault", "offline"]

_EpochMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_MS)]
_Counter64 = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_NonNegative = Annotated[float, msgspec.Meta(ge=0, le=_MAX_FLOAT)]
_Finite = Annotated[float, msgspec.Meta(ge=-_MAX_FLOAT, le=_MAX_FLOAT)]
# The id's characters (`[!-~]`) are checked by `read_telemetry`.
_MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class TelemetryReading(msgspec.Struct, frozen=True, gc=False):
    """A telemetry sample with `Telemetry`'s fields and values (`gc=False`: it holds no cycles)."""

    id: _MessageId
    ts: _EpochMs
    seq: _Counter64
    amps: _NonNegative
    state: State
    v: Literal[1] = 1
    volts: _NonNegative | None = None
    watts: _Finite | None = None
    wh: _NonNegative | None = None


_DECODER = msgspec.json.Decoder(TelemetryReading)


def read_telemetry(raw: bytes) -> TelemetryReading | Telemetry:
    """A telemetry payload read as `decode_telemetry` would, raising its ContractError."""
    if len(raw) <= MAX_PAYLOAD_BYTES:
        try:
            reading = _DECODER.decode(raw)
        except msgspec.MsgspecError:
            pass  # not the plain, well-formed case: the model decides, and names the field
        else:
            # The model's id pattern `^[!-~]+$` without a regex: printable ASCII and no space
            # (for ASCII, isprintable() is exactly " " to "~"; min_length leaves out "").
            ident = reading.id
            if ident.isascii() and ident.isprintable() and " " not in ident:
                return reading
    return decode_telemetry(raw)
