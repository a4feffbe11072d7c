"""What a test app handled, as JSON lines appended to the file named by DEVHOST_TEST_RECORD."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

_lock = threading.Lock()


def record(event: str, **fields: Any) -> None:
    """Append one line; the test process reads the file to see what ran, when and how often."""
    line = json.dumps({"event": event, "pid": os.getpid(), "time": time.time(), **fields})
    with _lock, open(os.environ["DEVHOST_TEST_RECORD"], "a", encoding="utf-8") as out:
        out.write(line + "\n")
