"""The edge daemon: drivers, the session state machine, the access list and the MQTT link."""

__version__ = "0.1.0"
