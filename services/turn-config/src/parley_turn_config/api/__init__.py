"""HTTP routes of turn-config."""
