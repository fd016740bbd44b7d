"""Serial decode throughput: frames per second through one `Decoder` on one core, as one JSON line.

Run from the repository root: `python -m bench.serial_decode [--frames N]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import time

from firmware_bridge import CardRead, Decoder, Measurement, encode

CHUNK = 256  # about what a USB CDC read hands over at once


def make_stream(frames: int, rng: random.Random) -> bytes:
    """Mostly M frames, one CARD in 50, and a little line noise (about 1 line in 100)."""
    parts: list[bytes] = []
    for seq in range(frames):
        if seq % 50 == 49:
            parts.append(encode(CardRead(uid=f"{rng.getrandbits(56):014X}")))
        else:
            amps = rng.uniform(0, 16)
            parts.append(
                encode(
                    Measurement(
                        channel=seq % 4,
                        seq=seq,
                        irms=amps,
                        vrms=rng.gauss(230, 1),
                        watts=amps * 230 * 0.8,
                        wh=seq * 0.35,
                        cycles=50,
                    )
                )
            )
        if rng.random() < 0.01:
            parts.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))))
    return b"".join(parts)


def main() -> None:
    """Decode a prepared stream and print the throughput."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the noise warnings are the point, not the output
    stream = make_stream(args.frames, random.Random(args.seed))
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    decoder = Decoder(source="bench")
    started = time.perf_counter()
    decoded = sum(len(decoder.feed(chunk)) for chunk in chunks)
    elapsed = time.perf_counter() - started
    counts = decoder.counters
    print(
        json.dumps(
            {
                "bench": "serial_decode",
                "python": platform.python_version(),
                "frames_decoded": decoded,
                "bytes": len(stream),
                "seconds": round(elapsed, 4),
                "frames_per_s": round(decoded / elapsed),
                "rejected": counts["bad_crc"]
                + counts["malformed"]
                + counts["unknown_type"]
                + counts["overlong"],
                "garbage_bytes": counts["garbage_bytes"],
            }
        )
    )


if __name__ == "__main__":
    main()
