"""The process-wide objects built once from settings and handed to the code that needs them."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import Settings
from shared.storage.account import StorageAccount


@dataclass(frozen=True)
class Services:
    """Everything an HTTP route or a job needs from the outside world."""

    settings: Settings
    storage: StorageAccount

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Create the clients; no network call happens here."""
        return cls(settings=settings, storage=StorageAccount.from_settings(settings.storage))
