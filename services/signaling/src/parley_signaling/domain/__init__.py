"""Signaling rules: the protocol's payloads, rooms, the replicated room directory, rate limits."""
