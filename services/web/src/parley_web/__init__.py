"""Parley web: the static service that serves the browser client built into ``web/dist``."""
