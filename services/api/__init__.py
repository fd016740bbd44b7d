"""The api: live floor, registry, access lists out, statements, and the web pages it serves."""

from services.api.app import create_app
from services.api.settings import ApiSettings, LoginLimits

__all__ = ["ApiSettings", "LoginLimits", "create_app"]
