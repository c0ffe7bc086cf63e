"""Meeting ids as every service's edge accepts them: one definition for meetings, chat and
signaling (path parameters, socket.io payloads).

Meetings issues ids like ``abcd-efgh-ijkl``; the edges accept the wider set below, 1–128 of
``[A-Za-z0-9_-]``, which is safe as a URL path segment as it is. Anything else (a control
character, ``?``, ``#``, ``/``, ``%``, a space) is refused as invalid input (HTTP 422, or
``invalid_payload`` on the socket) before any domain code runs or any URL is built from it.
"""

from typing import Annotated

from pydantic import Field, StringConstraints

MEETING_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
MEETING_ID_MAX_LENGTH = 128

MeetingId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MEETING_ID_MAX_LENGTH, pattern=MEETING_ID_PATTERN),
    Field(
        description="A meeting id as meetings issues it (e.g. `abcd-efgh-ijkl`): 1–128 of `[A-Za-z0-9_-]`.",
        examples=["abcd-efgh-ijkl"],
    ),
]
