"""Parley turn-config: short-lived TURN REST API credentials for signed-in users."""
