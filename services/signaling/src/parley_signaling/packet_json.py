"""The JSON of socket.io and Engine.IO packets: orjson, in the shape python-socketio takes.

python-socketio and python-engineio encode and decode every packet's JSON with a module whose
``dumps`` and ``loads`` match the standard library's (``socketio.AsyncServer(json=...)``). The
standard library's pure-Python layer around its C scanner was ~5 % of a replica's busy time at
1,000 relayed messages/s (py-spy: ``JSONEncoder.iterencode``, a new ``JSONDecoder`` per
``loads``); orjson does the same in C.

On the wire (RFC 8259 JSON either way): text is UTF-8 instead of ``\\uXXXX`` escapes, and
``dumps`` is always compact (python-socketio asks for ``separators=(",", ":")`` anyway).
``loads`` is stricter than the standard library's on what a client sends, and raises
``ValueError`` (``orjson.JSONDecodeError``), which signaling counts as ``malformed``, for
``NaN`` and ``Infinity`` (not JSON), a lone surrogate escape, and nesting deeper than 1,024.
"""

from typing import Any

import orjson


def encode(obj: Any) -> bytes:
    """``obj`` as compact JSON in UTF-8; dict keys that are not strings are written as strings.
    Also the encoding of the fan-out's Kafka records (:mod:`parley_signaling.fanout`)."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def dumps(obj: Any, **_: Any) -> str:
    """``obj`` as compact JSON text (:func:`encode`)."""
    return encode(obj).decode()


def loads(text: str | bytes, **_: Any) -> Any:
    """The value of the JSON ``text``; ``ValueError`` when it is not JSON (RFC 8259)."""
    return orjson.loads(text)
