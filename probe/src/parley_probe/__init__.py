"""Parley's synthetic two-party call: ``python -m parley_probe [--base-url URL]``.

Registers two users, creates and joins a meeting, connects both to signaling on different
replicas, negotiates a relay-only aiortc call, counts decoded media, checks live chat and the
end of the meeting, then prints one JSON object (see ``parley_probe.result.ProbeResult``).
"""
