"""The official FatturaPA schema, read from the shared folder beside the repository.

A fixture of its own module, so that every test that writes FatturaPA XML validates it the same
way: `from tests.fatturapa_schema import fatturapa_schema` in a conftest or a test module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import xmlschema

from harness.plugin import running_in_ci

REPO_ROOT = Path(__file__).resolve().parents[1]


# The schema lives beside the repository (`../shared/fatturapa`); OFFICINA_FATTURAPA_DIR overrides.
SCHEMA_DIR = Path(
    os.environ.get("OFFICINA_FATTURAPA_DIR") or REPO_ROOT.parent / "shared" / "fatturapa"
)
SCHEMA = SCHEMA_DIR / "Schema_VFPR12_v1.2.3.xsd"
XMLDSIG = SCHEMA_DIR / "xmldsig-core-schema.xsd"
# The schema imports the W3C signature schema by URL; it is read from the copy beside it.
XMLDSIG_URL = "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd"


@pytest.fixture(scope="session")
def fatturapa_schema() -> xmlschema.XMLSchema:
    """The Agenzia delle Entrate's FPR12 schema 1.2.3, loaded with no network access.

    Skips when the shared folder is not there; fails instead when CI is set, as the harness does
    for a missing PostgreSQL, so that CI never passes without the schema having been checked.
    """
    if not (SCHEMA.is_file() and XMLDSIG.is_file()):
        reason = f"the official FatturaPA schema is not in {SCHEMA_DIR} (shared/fatturapa)"
        if running_in_ci():
            pytest.fail(f"{reason} (CI is set: the XML must be validated)", pytrace=False)
        pytest.skip(reason)
    return xmlschema.XMLSchema(
        str(SCHEMA), uri_mapper={XMLDSIG_URL: XMLDSIG.as_uri()}, allow="local"
    )
