"""FastAPI dependencies of the chat routes."""

from typing import Annotated

from fastapi import Depends, Request

from parley_chat.domain.notes import NotesService
from parley_chat.domain.service import Chat


def _chat(request: Request) -> Chat:
    return request.app.state.chat


ChatService = Annotated[Chat, Depends(_chat)]


def _notes(request: Request) -> NotesService:
    return request.app.state.notes


NotesDep = Annotated[NotesService, Depends(_notes)]
