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
