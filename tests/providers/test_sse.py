"""The SSE decoder against the framing the providers really use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.providers.sse import ServerSentEvent, SSEDecoder, aiter_sse
from tests.providers.recordings import load


def decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def test_event_names_multiline_data_comments_and_fields() -> None:
    stream = (
        b": keep-alive comment\n"
        b"event: message_start\n"
        b"data: first line\n"
        b"data: second line\n"
        b"id: 7\n"
        b"retry: 1500\n"
        b"\n"
        b"data:no space after colon\n\n"
        b"event: only-an-event-no-data\n\n"
        b"data: [DONE]\n\n"
    )
    events = decode_all([stream])
    assert events == [
        ServerSentEvent(data="first line\nsecond line", event="message_start", id="7", retry_ms=1500),
        ServerSentEvent(data="no space after colon", id="7"),
        ServerSentEvent(data="[DONE]", id="7"),
    ]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_all_three_line_endings(newline: bytes) -> None:
    stream = newline.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])
    assert [(e.event, e.data) for e in decode_all([stream])] == [("a", "1"), ("message", "2")]


def test_any_chunk_split_gives_the_same_events() -> None:
    # Gemini's CRLF framing and multi-byte UTF-8 (Anthropic's emoji) cut at every possible byte.
    for name in ("gemini/stream_sse_cumulative_usage_thoughts", "anthropic/messages_stream_cache_read"):
        body = load(name).body
        whole = decode_all([body])
        assert len(whole) > 2
        for cut in range(1, len(body)):
            assert decode_all([body[:cut], body[cut:]]) == whole, (name, cut)


def test_byte_by_byte_feed() -> None:
    body = load("openai/chat_stream_gpt5mini_reasoning_length").body
    assert decode_all([bytes([b]) for b in body]) == decode_all([body])


def test_last_event_without_blank_line_is_flushed_at_eof() -> None:
    # Anthropic's official SDK fixture ends right after message_stop's data line.
    body = load("anthropic/messages_stream_sdk_basic_fixture").body
    assert not body.endswith(b"\n\n")
    events = decode_all([body])
    assert events[-1].event == "message_stop"
    assert events[-1].data == '{"type":"message_stop"}'


def test_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    events = decode_all([b"data: x\r", b"\n\r", b"\n"])
    assert events == [ServerSentEvent(data="x")]


async def test_aiter_sse_yields_events_from_byte_chunks() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"event: ping\ndata: {}\n"
        yield b"\ndata: tail"

    events = [event async for event in aiter_sse(chunks())]
    assert events == [ServerSentEvent(data="{}", event="ping"), ServerSentEvent(data="tail")]
