"""What the billing command groups share: the existing ledger opened with its errors in words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from contract.terminal import labelled, print_error
from services.billing.errors import BillingError, BillingInputError, StatementStateError
from services.billing.store import BillingLedger
from services.ledger import LedgerError

ByOption = Annotated[str, typer.Option("--by", help="who records it")]


@contextmanager
def existing_ledger(ledger_url: str) -> Iterator[BillingLedger]:
    """The existing ledger, errors turned into a clear message and an exit status: 2 for input
    that names its field, 1 for anything else."""
    console = Console(stderr=True)
    try:
        ledger = BillingLedger.open(ledger_url, existing=True)
    except (BillingError, LedgerError) as err:
        print_error("ledger", err, console=console)
        raise typer.Exit(1) from err
    try:
        yield ledger
    except BillingInputError as err:
        console.print(labelled(f"{err.field}:", err.reason))
        raise typer.Exit(2) from err
    except (BillingError, StatementStateError) as err:
        print_error("error", err, console=console)
        raise typer.Exit(1) from err
    finally:
        ledger.close()
