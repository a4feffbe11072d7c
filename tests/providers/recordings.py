"""Load the recorded provider responses in ../shared/provider-fixtures (outside the repo, read-only)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.providers.replay_server import Reply

# CI copies shared/ beside the clone, at the same place relative to the repo root as here.
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = REPO_ROOT / ".." / "shared" / "provider-fixtures"

# Headers the replay server writes itself (framing) or that would break the replay.
_FRAMING = {"connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"}
_EVENT_END = re.compile(rb"(?<=\r\n\r\n)|(?<=\n\n)")


@dataclass(frozen=True)
class Recording:
    """One recorded response: body bytes plus status, reason and headers from its .meta.json."""

    name: str
    body: bytes
    status: int
    reason: str | None
    headers: tuple[tuple[str, str], ...]
    request: dict[str, Any] | None

    @property
    def is_sse(self) -> bool:
        """Whether the body is an event stream (replayed chunk by chunk)."""
        return self.name.endswith(".sse")

    def events(self) -> list[bytes]:
        """The body cut after each blank line, bytes exact; stray blank lines stay with the event before."""
        pieces: list[bytes] = []
        for piece in _EVENT_END.split(self.body):
            if pieces and not piece.strip():
                pieces[-1] += piece
            elif piece:
                pieces.append(piece)
        return pieces

    def reply(self, *, chunk_delay_s: float = 0.002, max_stream_s: float = 0.25) -> Reply:
        """A Reply replaying this recording; event streams really stream, one event per chunk."""
        if not self.is_sse:
            return Reply(status=self.status, reason=self.reason, headers=list(self.headers), body=self.body)
        events = self.events()
        # Long recordings (hundreds of events) stay under max_stream_s in total.
        delay = min(chunk_delay_s, max_stream_s / max(1, len(events)))
        return Reply(
            status=self.status,
            reason=self.reason,
            headers=list(self.headers),
            chunks=events,
            delays=[delay] * len(events),
        )


def load(name: str) -> Recording:
    """`load("openai/chat_stream_include_usage")`: finds the .json or .sse body and its meta file."""
    meta_path = FIXTURES_DIR / f"{name}.meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    body_path = meta_path.with_name(meta["body_file"])
    response = meta["response"]
    raw_headers = response.get("replay_headers") or response.get("headers") or []
    headers = tuple((str(h), str(v)) for h, v in raw_headers if str(h).lower() not in _FRAMING)
    if not any(h.lower() == "content-type" for h, _ in headers):
        # Recordings pasted from issues have no headers; give them the type their body has.
        kind = "text/event-stream" if body_path.suffix == ".sse" else "application/json"
        headers += (("Content-Type", kind),)
    return Recording(
        name=body_path.name,
        body=body_path.read_bytes(),
        status=int(response["status"]),
        reason=response.get("reason"),
        headers=headers,
        request=meta.get("request"),
    )
