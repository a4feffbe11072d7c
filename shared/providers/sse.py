"""A small Server-Sent Events decoder (WHATWG HTML §9.2.6), fed with arbitrary chunks of bytes.

Written here rather than taken from a library because the rules are short and the providers' quirks
matter: CRLF, LF or CR line ends (Gemini uses CRLF), chunks split anywhere (even inside a UTF-8
sequence or between CR and LF), comments, multi-line data, and a last event without the closing blank
line (Anthropic's SDK fixture), which is flushed at end of stream. `[DONE]` is ordinary data: the
OpenAI-style adapters decide what it means.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. `event` is "message" when the stream named none."""

    data: str
    event: str = "message"
    id: str | None = None
    retry_ms: int | None = None


class SSEDecoder:
    """Incremental decoder: `feed` text or bytes as they arrive, `close` at end of stream."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        """Decode a chunk; returns the events it completed."""
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        self._pending += text
        events: list[ServerSentEvent] = []
        while True:
            cut = self._line_end()
            if cut is None:
                return events
            end, skip = cut
            line = self._pending[:end]
            self._pending = self._pending[end + skip :]
            event = self._line(line)
            if event is not None:
                events.append(event)

    def close(self) -> list[ServerSentEvent]:
        """Flush at end of stream: a trailing line and an event missing its closing blank line."""
        events: list[ServerSentEvent] = []
        tail = self._utf8.decode(b"", final=True)
        rest = self._pending + tail
        self._pending = ""
        for line in rest.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line:
                event = self._line(line)
                if event is not None:
                    events.append(event)
        flushed = self._dispatch()
        if flushed is not None:
            events.append(flushed)
        return events

    def _line_end(self) -> tuple[int, int] | None:
        # Returns (index of the line end, its length). A CR at the very end of the buffer may be the
        # first half of CRLF, so it waits for the next chunk (or `close`).
        for index, char in enumerate(self._pending):
            if char == "\n":
                return index, 1
            if char == "\r":
                if index + 1 == len(self._pending):
                    return None
                return index, 2 if self._pending[index + 1] == "\n" else 1
        return None

    def _line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment, e.g. a keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, self._data = self._data, []
        event, self._event = self._event, ""
        retry, self._retry = self._retry, None
        # Per the spec an event without data lines is not dispatched (the id persists though).
        if not data:
            return None
        return ServerSentEvent(data="\n".join(data), event=event or "message", id=self._id, retry_ms=retry)


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Events from a byte stream, yielded as soon as each one is complete."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
