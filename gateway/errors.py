"""Errors raised by the gateway."""


class GatewayError(Exception):
    """Base of every error the gateway raises."""


class ConfigError(GatewayError):
    """The gateway's configuration file is missing or invalid."""


class LinkError(GatewayError):
    """The MQTT link to the broker failed in a way the gateway cannot ride out."""
