"""Bank statements for the payments tests, written as the bank writes them.

`camt053` follows the ISO 20022 sample structure of a bank-to-customer statement: GrpHdr,
Stmt with its account and balances, and one Ntry per booked amount with NtryDtls/TxDtls,
the debtor's name and the remittance (structured CdtrRefInf/Ref or free Ustrd).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
IBAN = "IT60X0542811101000000123456"


@dataclass(frozen=True, slots=True)
class Entry:
    """One booked amount: a credit unless `debit`, with what the payer wrote."""

    cents: int
    payer: str = ""
    reference: str | None = None  # Strd/CdtrRefInf/Ref
    text: str | None = None  # Ustrd
    debit: bool = False
    bank_ref: str | None = None
    booked: date = date(2026, 11, 20)
    # A batch booked as one entry: each part is a transaction of its own (its cents add up).
    parts: tuple[Entry, ...] = ()


def amount(cents: int) -> str:
    """Cents as the decimal text CAMT amounts are written in."""
    return f"{cents // 100}.{cents % 100:02d}"


def _remittance(entry: Entry) -> str:
    parts = []
    if entry.text is not None:
        parts.append(f"<Ustrd>{escape(entry.text)}</Ustrd>")
    if entry.reference is not None:
        parts.append(
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
            f"<Ref>{escape(entry.reference)}</Ref></CdtrRefInf></Strd>"
        )
    return f"<RmtInf>{''.join(parts)}</RmtInf>" if parts else ""


def _transaction(entry: Entry) -> str:
    return f"""
        <TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">{amount(entry.cents)}</Amt></TxAmt></AmtDtls>
          <RltdPties><Dbtr><Nm>{escape(entry.payer)}</Nm></Dbtr></RltdPties>
          {_remittance(entry)}
        </TxDtls>"""


def _entry(n: int, entry: Entry) -> str:
    sign = "DBIT" if entry.debit else "CRDT"
    bank_ref = entry.bank_ref if entry.bank_ref is not None else f"2026112000{n:04d}"
    day = entry.booked.isoformat()
    details = "".join(_transaction(part) for part in entry.parts or (entry,))
    return f"""
    <Ntry>
      <NtryRef>{n}</NtryRef>
      <Amt Ccy="EUR">{amount(entry.cents)}</Amt>
      <CdtDbtInd>{sign}</CdtDbtInd>
      <Sts>BOOK</Sts>
      <BookgDt><Dt>{day}</Dt></BookgDt>
      <ValDt><Dt>{day}</Dt></ValDt>
      <AcctSvcrRef>{bank_ref}</AcctSvcrRef>
      <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
      </BkTxCd>
      <NtryDtls>{details}
      </NtryDtls>
    </Ntry>"""


def camt053(entries: list[Entry], *, namespace: str = V02, statement_id: str = "STMT-1") -> bytes:
    """A camt.053 document with one statement of the given entries."""
    credits = sum(e.cents for e in entries if not e.debit)
    debits = sum(e.cents for e in entries if e.debit)
    closing = 100_000 + credits - debits
    body = "".join(_entry(n, entry) for n, entry in enumerate(entries, start=1))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>{statement_id}-MSG</MsgId>
      <CreDtTm>2026-11-21T06:00:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <CreDtTm>2026-11-21T06:00:00</CreDtTm>
      <Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-11-20</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{amount(closing)}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-11-20</Dt></Dt>
      </Bal>
      <TxsSummry><TtlNtries><NbOfNtries>{len(entries)}</NbOfNtries></TtlNtries></TxsSummry>{body}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def bank_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """The bank's CSV export: `date;amount;counterparty;remittance`, Italian decimal commas."""
    lines = ["date;amount;counterparty;remittance", *(";".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()
