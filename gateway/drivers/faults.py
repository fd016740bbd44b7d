"""What a driver read and what it threw away, by kind; the first of each kind is logged."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

from gateway.drivers.base import DriverError


class GarbageError(DriverError):
    """Bytes from a chip that its protocol does not allow; `kind` is the counter it goes to."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(f"{kind}: {reason}")


class Tally:
    """Counts readings and rejects by kind; the first reject of a kind is logged with its reason."""

    def __init__(self, source: str, logger: logging.Logger) -> None:
        self.source = source
        self._logger = logger
        self._counts: Counter[str] = Counter()

    def count(self, kind: str, n: int = 1) -> None:
        """Count something that went right (`reads`, `switches`)."""
        self._counts[kind] += n

    def reject(self, kind: str, reason: str) -> None:
        """Count bad input of one kind; a warning the first time, debug after, so logs stay calm."""
        self._counts[kind] += 1
        if self._counts[kind] == 1:
            self._logger.warning(
                "%s: %s (%s; later ones are only counted)", self.source, reason, kind
            )
        else:
            self._logger.debug("%s: %s (%s)", self.source, reason, kind)

    def reject_error(self, err: GarbageError) -> None:
        """Count and log a GarbageError by its kind."""
        self.reject(err.kind, err.reason)

    @property
    def snapshot(self) -> Mapping[str, int]:
        """A read-only copy of the counts."""
        return MappingProxyType(dict(self._counts))
