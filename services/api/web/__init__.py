"""The web pages the api serves: the live floor, a machine's day, a member's month, the registry."""
