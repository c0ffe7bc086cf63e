"""FastAPI dependencies of the chat routes."""

from typing import Annotated

from fastapi import Depends, Request

from parley_chat.domain.service import Chat


def _chat(request: Request) -> Chat:
    return request.app.state.chat


ChatService = Annotated[Chat, Depends(_chat)]
