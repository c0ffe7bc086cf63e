import httpx
import pytest

from parley_security import MeetingsClient, MembershipDenied, MembershipUnavailable


def _client(status: int, body: dict | None = None) -> MeetingsClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/meetings/m-1/membership"
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(status, json=body or {})

    return MeetingsClient("http://meetings", http=httpx.AsyncClient(
        base_url="http://meetings", transport=httpx.MockTransport(answer)
    ))


async def test_membership_of_a_participant() -> None:
    body = {"meeting_id": "m-1", "user_id": "u", "role": "host", "status": "active"}
    membership = await _client(200, body).membership("m-1", "tok")
    assert (membership.role, membership.status) == ("host", "active")


@pytest.mark.parametrize(("status", "reason"), [(404, "not_found"), (403, "forbidden")])
async def test_denials_carry_their_reason(status: int, reason: str) -> None:
    with pytest.raises(MembershipDenied) as denied:
        await _client(status).membership("m-1", "tok")
    assert denied.value.reason == reason


async def test_a_failing_meetings_service_is_unavailable_not_denied() -> None:
    with pytest.raises(MembershipUnavailable):
        await _client(503).membership("m-1", "tok")


@pytest.mark.parametrize("meeting_id", ["a?b", "a#b", "a/b", "a\x01b", "a b", "a%2Fb", "..", "é", ""])
async def test_an_id_that_is_no_meeting_id_is_not_found_without_asking(meeting_id: str) -> None:
    """Issue 6 item 15: the URL was an f-string, so ``?``/``#`` changed which URL was asked and a
    control character raised ``httpx.InvalidURL`` (not an ``HTTPError``: a 500 in chat). Now such
    an id names no meeting, and nothing is asked."""
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(500, json={})

    client = MeetingsClient("http://meetings", http=httpx.AsyncClient(
        base_url="http://meetings", transport=httpx.MockTransport(answer)))
    with pytest.raises(MembershipDenied) as denied:
        await client.membership(meeting_id, "tok")
    assert denied.value.reason == "not_found"
    assert asked == []


def test_the_shared_meeting_id_type_accepts_ids_and_refuses_the_rest() -> None:
    from pydantic import TypeAdapter, ValidationError

    from parley_security import MeetingId

    ids = TypeAdapter(MeetingId)
    for good in ("abcd-efgh-ijkl", "A_b-9", "x" * 128):
        assert ids.validate_python(good) == good
    for bad in ("", "a?b", "a#b", "a/b", "a\x01b", "a b", "a.b", "é", "x" * 129, "abc\n"):
        with pytest.raises(ValidationError):
            ids.validate_python(bad)
