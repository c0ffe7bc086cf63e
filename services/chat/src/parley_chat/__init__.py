"""Parley chat: messages of a meeting, before, during and after it."""
