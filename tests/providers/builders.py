"""Small builders shared by the adapter tests."""

from __future__ import annotations

from shared.providers.models import ChatMessage, ChatRequest, GenerationParams


def chat(
    model: str = "gpt-4o",
    *,
    stream: bool = True,
    prompt: str = "What is 4200 + 42?",
    system: str | None = None,
    params: GenerationParams | None = None,
) -> ChatRequest:
    """A one-turn chat request (optionally with a system message first)."""
    messages = [ChatMessage(role="user", content=prompt)]
    if system is not None:
        messages.insert(0, ChatMessage(role="system", content=system))
    return ChatRequest(model=model, messages=tuple(messages), params=params or GenerationParams(), stream=stream)
