"""A guest in chat, against the real FerretDB and Kafka: it reads and posts in its own
meeting's chat, once it joined, and nothing else (notes, other meetings)."""

import pytest

pytestmark = pytest.mark.integration


async def test_a_guest_reads_and_posts_in_its_meeting_only(client, room) -> None:
    client.meetings.members[room]["guest-g1"] = "participant"
    client.meetings.members["other-room"] = {"alice": "host", "guest-g1": "participant"}
    guest = {"Authorization": f"Bearer {client.issuer.issue_guest(room, 'Grace', guest_id='guest-g1')}"}

    posted = await client.http.post(
        f"/api/chat/meetings/{room}/messages", json={"message_id": "guest-msg-1", "text": "Hi all"}, headers=guest
    )
    assert posted.status_code == 201, posted.text
    assert (posted.json()["sender_id"], posted.json()["sender_name"]) == ("guest-g1", "Grace")
    history = await client.http.get(f"/api/chat/meetings/{room}/messages", headers=guest)
    assert history.status_code == 200 and [m["text"] for m in history.json()["messages"]] == ["Hi all"]

    for method, path, body in (
        ("GET", "/api/chat/meetings/other-room/messages", None),
        ("POST", "/api/chat/meetings/other-room/messages", {"message_id": "guest-msg-2", "text": "x"}),
        ("GET", f"/api/chat/meetings/{room}/notes", None),
        ("PUT", f"/api/chat/meetings/{room}/notes", {"text": "mine"}),
    ):
        answer = await client.http.request(method, path, json=body, headers=guest)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["detail"]["code"] == "guest_not_allowed", (method, path)
