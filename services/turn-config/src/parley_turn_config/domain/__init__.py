"""Rules of turn-config: how TURN REST API credentials are computed."""
