"""What can go wrong operating the server."""

from __future__ import annotations


class OpsError(Exception):
    """An operation on the server's state or configuration failed."""


class BrokerAclError(OpsError):
    """The broker's password and ACL files could not be made."""


class InitError(OpsError):
    """The `.env` of secrets could not be written."""


class BackupError(OpsError):
    """A backup could not be made, or an archive could not be restored."""


class FirstAdminError(OpsError):
    """The first admin login could not be made: the ledger is away, or the site has an admin."""


class DoctorError(OpsError):
    """A check of the site could not run at all."""
