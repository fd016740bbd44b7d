"""Credits read from a bank statement: ISO 20022 CAMT.053 (001.02, 001.08) or the bank's CSV.

Only credits are kept (`CdtDbtInd` CRDT; a positive CSV amount): they are what members paid.
A file is read whole or refused whole, naming the element or the line at fault, so nothing of
a file the bank did not mean is ever stored. Each credit carries a key that is the same every
time the same file is read (the bank's entry reference, or a hash of the line and its
repetition), so importing a file twice books nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from services.billing.errors import BillingInputError

NAMESPACES = (
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
)
CSV_HEADER = ("date", "amount", "counterparty", "remittance")
MAX_TEXT = 500
_AMOUNT = re.compile(r"\d{1,13}(\.\d{1,2})?")
_CSV_AMOUNT = re.compile(r"-?\d{1,3}(\.?\d{3})*(,\d{1,2})?")
# Refusals name where the file is wrong, never what it says there (it may be anyone's data).
# A parser that never fetches anything and never expands an entity: a bank file is data.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class BankFileError(BillingInputError):
    """A bank file that is refused whole; `field` names the element or the line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """Money that came in: when, how much, from whom and what the payer wrote."""

    key: str  # the same for the same credit of the same file, read again
    booked: date
    amount_cents: int
    currency: str
    payer: str
    remittance: str
    creditor_reference: str | None = None


def read_bank_file(data: bytes) -> tuple[str, list[Credit]]:
    """The file's kind (`camt` or `csv`) and its credits; a BankFileError refuses it."""
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<":
        return "camt", read_camt(data)
    return "csv", read_csv(data)


def read_camt(data: bytes) -> list[Credit]:
    """The credits of a CAMT.053 bank-to-customer statement."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as err:
        raise BankFileError(f"line {err.lineno}", f"not well-formed XML: {err.msg}") from err
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.public_id:
        raise BankFileError("DOCTYPE", "a bank statement declares no document type")
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Document" or namespace not in NAMESPACES:
        raise BankFileError("Document", "not a camt.053.001.02 or camt.053.001.08 document")
    read = _Camt(namespace)
    statement_root = read.one(root, "BkToCstmrStmt", "Document")
    statements = read.all(statement_root, "Stmt")
    if not statements:
        raise BankFileError("BkToCstmrStmt/Stmt", "no statement in the file")
    credits: list[Credit] = []
    for s, statement in enumerate(statements, start=1):
        account = read.text(statement, "Acct/Id/IBAN", f"Stmt[{s}]", required=False) or ""
        for e, entry in enumerate(read.all(statement, "Ntry"), start=1):
            credits.extend(read.entry(entry, f"Stmt[{s}]/Ntry[{e}]", account))
    return credits


class _Camt:
    """Reads one CAMT namespace's elements, naming the path of any that is wrong."""

    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}

    def _path(self, path: str) -> str:
        return "/".join(f"c:{part}" for part in path.split("/"))

    def all(self, node: etree._Element, path: str) -> list[etree._Element]:
        return list(node.findall(self._path(path), self.ns))

    def one(self, node: etree._Element, path: str, where: str) -> etree._Element:
        found = node.find(self._path(path), self.ns)
        if found is None:
            raise BankFileError(f"{where}/{path}", "missing")
        return found

    def text(self, node: etree._Element, path: str, where: str, *, required: bool = True) -> str:
        found = node.find(self._path(path), self.ns)
        value = (found.text or "").strip() if found is not None else ""
        if required and not value:
            raise BankFileError(f"{where}/{path}", "missing")
        if len(value) > MAX_TEXT:
            raise BankFileError(f"{where}/{path}", f"longer than {MAX_TEXT} characters")
        return value

    def amount(self, node: etree._Element, where: str) -> tuple[int, str]:
        text = (node.text or "").strip()
        currency = node.get("Ccy") or ""
        if not _AMOUNT.fullmatch(text):
            raise BankFileError(where, "not an amount such as 12.50")
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise BankFileError(f"{where}@Ccy", "missing or not a currency code")
        cents = int(Decimal(text) * 100)
        if cents <= 0:
            raise BankFileError(where, "a credit is more than zero")
        return cents, currency

    def booked(self, entry: etree._Element, where: str) -> date:
        day = self.text(entry, "BookgDt/Dt", where, required=False)
        stamp = self.text(entry, "BookgDt/DtTm", where, required=False)
        text = day or stamp[:10]
        try:
            return date.fromisoformat(text)
        except ValueError as err:
            raise BankFileError(f"{where}/BookgDt", "not a date such as 2026-11-20") from err

    def entry(self, entry: etree._Element, where: str, account: str) -> list[Credit]:
        sign = self.text(entry, "CdtDbtInd", where)
        if sign not in ("CRDT", "DBIT"):
            raise BankFileError(f"{where}/CdtDbtInd", "neither CRDT nor DBIT")
        cents, currency = self.amount(self.one(entry, "Amt", where), f"{where}/Amt")
        booked = self.booked(entry, where)
        if sign == "DBIT":
            return []
        bank_ref = self.text(entry, "AcctSvcrRef", where, required=False) or self.text(
            entry, "NtryRef", where, required=False
        )
        # The bank's own reference where it gives one; else where the entry sits in the file.
        base = f"{account}/{bank_ref}" if bank_ref else _hash(account, where, f"{booked}/{cents}")
        details = self.all(entry, "NtryDtls/TxDtls")
        if not details:
            return [
                Credit(
                    key=base,
                    booked=booked,
                    amount_cents=cents,
                    currency=currency,
                    payer="",
                    remittance="",
                )
            ]
        credits = [
            self.transaction(tx, f"{where}/NtryDtls/TxDtls[{t}]", booked, currency)
            for t, tx in enumerate(details, start=1)
        ]
        if len(credits) == 1 and credits[0].amount_cents == 0:
            credits = [_with(credits[0], amount_cents=cents)]
        if sum(credit.amount_cents for credit in credits) != cents or any(
            credit.amount_cents == 0 for credit in credits
        ):
            raise BankFileError(f"{where}/NtryDtls", "the transactions do not add up to Ntry/Amt")
        return [_with(credit, key=f"{base}#{t}") for t, credit in enumerate(credits, start=1)]

    def transaction(self, tx: etree._Element, where: str, booked: date, currency: str) -> Credit:
        amount = tx.find(self._path("AmtDtls/TxAmt/Amt"), self.ns)
        if amount is None:
            amount = tx.find(self._path("Amt"), self.ns)
        cents = 0
        if amount is not None:
            cents, own_currency = self.amount(amount, f"{where}/Amt")
            if own_currency != currency:
                raise BankFileError(f"{where}/Amt@Ccy", "differs from the entry's currency")
        payer = self.text(tx, "RltdPties/Dbtr/Nm", where, required=False) or self.text(
            tx, "RltdPties/Dbtr/Pty/Nm", where, required=False
        )
        unstructured = " ".join(
            (node.text or "").strip() for node in self.all(tx, "RmtInf/Ustrd") if node.text
        )
        if len(unstructured) > MAX_TEXT:
            raise BankFileError(f"{where}/RmtInf/Ustrd", f"longer than {MAX_TEXT} characters")
        reference = self.text(tx, "RmtInf/Strd/CdtrRefInf/Ref", where, required=False)
        return Credit(
            key="",
            booked=booked,
            amount_cents=cents,
            currency=currency,
            payer=payer,
            remittance=unstructured,
            creditor_reference=reference or None,
        )


def _with(credit: Credit, **changes: object) -> Credit:
    values = {name: getattr(credit, name) for name in Credit.__dataclass_fields__}
    values.update(changes)
    return Credit(**values)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def read_csv(data: bytes) -> list[Credit]:
    """The credits of a bank CSV: `date;amount;counterparty;remittance`, amounts as `1.234,56`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BankFileError("line 1", "not UTF-8 text") from err
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = next(rows, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != CSV_HEADER:
        raise BankFileError("line 1", f"the header must be {';'.join(CSV_HEADER)}")
    seen: Counter[tuple[str, ...]] = Counter()
    credits = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            raise BankFileError(f"line {line}", f"{len(row)} values, not {len(CSV_HEADER)}")
        day, amount, payer, remittance = (cell.strip() for cell in row)
        cents = _csv_cents(amount, line)
        try:
            booked = _csv_date(day)
        except ValueError as err:
            raise BankFileError(f"line {line}: date", "not a date such as 20/11/2026") from err
        if len(payer) > MAX_TEXT or len(remittance) > MAX_TEXT:
            raise BankFileError(f"line {line}", f"a value longer than {MAX_TEXT} characters")
        if cents <= 0:
            continue
        identity = (str(booked), str(cents), payer, remittance)
        seen[identity] += 1
        credits.append(
            Credit(
                key=_hash("csv", *identity, str(seen[identity])),
                booked=booked,
                amount_cents=cents,
                currency="EUR",
                payer=payer,
                remittance=remittance,
            )
        )
    return credits


def _csv_cents(text: str, line: int) -> int:
    if not _CSV_AMOUNT.fullmatch(text):
        raise BankFileError(f"line {line}: amount", "not an amount such as 1.234,56")
    try:
        return int(Decimal(text.replace(".", "").replace(",", ".")) * 100)
    except InvalidOperation as err:
        raise BankFileError(f"line {line}: amount", "not an amount such as 1.234,56") from err


def _csv_date(text: str) -> date:
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", text):
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)
