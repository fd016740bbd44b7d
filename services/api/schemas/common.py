"""Field types every resource shares: ids, card hashes, aware datetimes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, StringConstraints

from contract import Id as Id  # the contract's id, re-exported for the schemas

CardHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(max_length=200)]
Email = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]{1,64}@[^@\s]{1,135}$")]
Instant = AwareDatetime
