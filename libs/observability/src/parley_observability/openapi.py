"""Operation summaries for the OpenAPI document, from the routes' own docstrings.

FastAPI names an operation without a ``summary`` after its function ("Remove", "Deny",
"Credentials"); a stranger reading the document learns little from that. Every Parley route
starts its docstring with what it does ("Block a user: ends a contact or invitation…"), so
:func:`summarize_operations` takes that first clause as the summary ("Block a user"), and the
whole docstring stays the operation's description.
"""

import re

from fastapi import APIRouter
from fastapi.routing import APIRoute

#: The longest summary taken from a docstring, in characters; a longer first clause keeps
#: FastAPI's own summary.
MAX_SUMMARY = 90
#: Where a docstring's first clause ends: a sentence's end, a colon, a semicolon, a parenthesis.
_CLAUSE_END = re.compile(r"\.\s|\.$|:\s|;|\s\(")


def summary_of(docstring: str | None) -> str | None:
    """The first clause of ``docstring`` as a summary (reST ````code```` as Markdown
    ```code```), or None when there is none or it is longer than :data:`MAX_SUMMARY`."""
    text = " ".join((docstring or "").split())
    if not text:
        return None
    clause = _CLAUSE_END.split(text, maxsplit=1)[0].strip().replace("``", "`")
    return clause if 0 < len(clause) <= MAX_SUMMARY else None


def summarize_operations(*routers: APIRouter) -> None:
    """Give every route of ``routers`` without a ``summary`` the first clause of its endpoint's
    docstring (:func:`summary_of`). Idempotent; call it in ``create_app``."""
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.summary is None:
                route.summary = summary_of(route.endpoint.__doc__)
