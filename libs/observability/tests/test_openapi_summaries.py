"""Operation summaries from the routes' docstrings (parley_observability.openapi)."""

import pytest
from fastapi import APIRouter, FastAPI

from parley_observability import summarize_operations
from parley_observability.openapi import summary_of


@pytest.mark.parametrize(("docstring", "summary"), [
    ("Block a user: ends a contact or invitation with them.", "Block a user"),
    ("Lift the caller's block of a user (no change if there is none).", "Lift the caller's block of a user"),
    ("The signed-in user.", "The signed-in user"),
    ("Mark the conversation read up to ``seq``; the caller's other sockets", "Mark the conversation read up to `seq`"),
    ("Remove a contact,\n    for both users.", "Remove a contact, for both users"),
    ("x" * 200, None),
    ("", None),
    (None, None),
])
def test_the_summary_is_the_docstrings_first_clause(docstring: str | None, summary: str | None) -> None:
    assert summary_of(docstring) == summary


def test_routes_without_a_summary_get_their_docstrings_and_others_keep_theirs() -> None:
    router = APIRouter()

    @router.delete("/contacts/{contact_id}")
    async def remove(contact_id: str) -> None:
        """Remove a contact, for both users."""

    @router.get("/named", summary="Its own summary")
    async def named() -> None:
        """Something else."""

    @router.get("/bare")
    async def bare() -> None: ...

    summarize_operations(router)
    app = FastAPI()
    app.include_router(router)
    paths = app.openapi()["paths"]
    assert paths["/contacts/{contact_id}"]["delete"]["summary"] == "Remove a contact, for both users"
    assert paths["/contacts/{contact_id}"]["delete"]["description"] == "Remove a contact, for both users."
    assert paths["/named"]["get"]["summary"] == "Its own summary"
    assert paths["/bare"]["get"]["summary"] == "Bare"  # FastAPI's own, from the function's name
