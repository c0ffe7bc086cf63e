"""FastAPI dependencies of the chat routes.

``async`` although they await nothing: FastAPI runs a plain ``def`` dependency in its thread
pool, a hop per request that cost ~12% of chat's CPU per post (py-spy, bench/README.md).
"""

from typing import Annotated

from fastapi import Depends, Request

from parley_chat.domain.conversations import DirectMessages
from parley_chat.domain.notes import NotesService
from parley_chat.domain.service import Chat


async def _chat(request: Request) -> Chat:
    return request.app.state.chat


ChatService = Annotated[Chat, Depends(_chat)]


async def _notes(request: Request) -> NotesService:
    return request.app.state.notes


NotesDep = Annotated[NotesService, Depends(_notes)]


async def _direct_messages(request: Request) -> DirectMessages:
    return request.app.state.direct_messages


DirectMessagesDep = Annotated[DirectMessages, Depends(_direct_messages)]
