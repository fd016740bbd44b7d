"""Running a workshop's server: broker logins and ACL, first-time secrets, backups."""

from services.ops.backup import BackupReport, backup, restore
from services.ops.broker_acl import BrokerFiles, ServiceLogin, broker_files, write_broker_files
from services.ops.errors import BackupError, BrokerAclError, InitError, OpsError
from services.ops.init import generate_env

__all__ = [
    "BackupError",
    "BackupReport",
    "BrokerAclError",
    "BrokerFiles",
    "InitError",
    "OpsError",
    "ServiceLogin",
    "backup",
    "broker_files",
    "generate_env",
    "restore",
    "write_broker_files",
]
