"""Storage Queues: send pydantic messages as raw JSON text.

host.json sets `"messageEncoding": "none"`, so the Functions host (and the local host) read a
message's text as it is; the queue SDK's default policies send text as it is too. Nothing here
base64-encodes. A message carries ids and ranges, never bodies: 64 KB is the service's limit.
"""

from __future__ import annotations

from typing import Final

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import QueueClient
from pydantic import BaseModel

from shared.storage.account import StorageAccount
from shared.storage.errors import MessageTooLarge, translate
from shared.storage.names import check_queue_name, poison_name

# The service (and Azurite) count the UTF-8 bytes of the message text.
MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_DELAY_SECONDS: Final = 7 * 24 * 3600 - 1  # below the default 7-day time to live

__all__ = ["MAX_MESSAGE_BYTES", "QueueSender", "encode_message", "poison_name"]


def encode_message(message: BaseModel) -> str:
    """The message's JSON text; raise `MessageTooLarge` above 64 KB (UTF-8)."""
    text = message.model_dump_json()
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(
            f"{type(message).__name__} is {size} bytes as JSON; a queue message holds at most "
            f"{MAX_MESSAGE_BYTES}. Send ids and ranges, and keep bodies in tables or blobs."
        )
    return text


class QueueSender:
    """Sends messages to one queue (and knows its `-poison` twin)."""

    def __init__(self, account: StorageAccount, name: str) -> None:
        """Bind to queue `name` (checked against the naming rules; nothing is created yet)."""
        self.name: Final = check_queue_name(name)
        self.poison_name: Final = poison_name(name)
        self.client: Final[QueueClient] = account.queue_client(self.name)
        self._poison: Final[QueueClient] = account.queue_client(self.poison_name)

    def ensure(self) -> None:
        """Create the queue and its poison queue if needed; idempotent."""
        for client in (self.client, self._poison):
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise translate(exc, f"queue {client.queue_name}") from exc

    def send(self, message: BaseModel, delay_seconds: int = 0) -> str:
        """Enqueue the message as JSON text, visible after `delay_seconds`; returns the message id."""
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS}")
        text = encode_message(message)
        try:
            sent = self.client.send_message(text, visibility_timeout=delay_seconds or None)
        except AzureError as exc:
            raise translate(exc, f"queue {self.name}") from exc
        return str(sent.id)
