"""Direct messages: chat's ``dm.*`` events, delivered to the users' sockets.

Every replica consumes ``parley.dm`` (no consumer group, from the end; see
:mod:`parley_signaling.messaging`) and, through :class:`~parley_signaling.users.UserDelivery`,
emits ``direct-message`` to its own sockets of the sender and the recipient
(``dm.message.posted``), and ``direct-message-read`` to its own sockets of the user who read
(``dm.conversation.read``), so each socket of those users, on any replica, gets it once
(docs/signaling.md, "Direct messages"). A socket that was not connected when the event went by
does not get it later: clients reload from chat's HTTP API when their socket (re)connects.
Sending is chat's HTTP API (``/api/chat/conversations``); there is no client-sent event.
"""

from parley_events import DmConversationRead, DmMessagePosted
from parley_signaling.domain.protocol import DirectMessageEvent, DirectMessageReadEvent, dump
from parley_signaling.users import UserDelivery


class DirectMessageDelivery:
    """Turns ``dm.*`` events into socket events for the users concerned, on this replica."""

    def __init__(self, users: UserDelivery) -> None:
        self._users = users

    async def dm_event(self, event: DmMessagePosted | DmConversationRead) -> None:
        if isinstance(event, DmMessagePosted):
            payload = dump(DirectMessageEvent(**event.model_dump(mode="json")))
            await self._users.deliver([event.recipient_id, event.sender_id], "direct-message", payload)
        else:
            payload = dump(DirectMessageReadEvent(**event.model_dump(mode="json")))
            await self._users.deliver([event.user_id], "direct-message-read", payload)
