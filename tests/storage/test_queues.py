"""QueueSender against Azurite: raw JSON text, the poison twin, the 64 KB limit."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from shared.storage.account import StorageAccount
from shared.storage.errors import InvalidKey, MessageTooLarge
from shared.storage.queues import MAX_MESSAGE_BYTES, QueueSender, encode_message, poison_name


class ShardMessage(BaseModel):
    run_id: str
    shard: int
    cases: list[int]
    note: str = ""


@pytest.fixture
def sender(account: StorageAccount, unique_name: str) -> QueueSender:
    created = QueueSender(account, unique_name)
    created.ensure()
    return created


def test_ensure_is_idempotent_and_creates_the_poison_queue(account: StorageAccount, unique_name: str) -> None:
    sender = QueueSender(account, unique_name)
    sender.ensure()
    sender.ensure()
    assert sender.poison_name == f"{unique_name}-poison"
    for name in (unique_name, sender.poison_name):
        account.queue_client(name).get_queue_properties()  # raises if missing


def test_send_and_receive_raw_json_text(account: StorageAccount, sender: QueueSender) -> None:
    message = ShardMessage(run_id="run-1", shard=3, cases=[1, 2, 3], note="<b>&amp; é")
    message_id = sender.send(message)
    received = account.queue_client(sender.name).receive_message(visibility_timeout=5)
    assert received is not None
    assert received.id == message_id
    assert received.content == message.model_dump_json()  # text as is: no base64, no XML entities
    assert ShardMessage.model_validate_json(received.content) == message


def test_delayed_message_is_not_visible_yet(account: StorageAccount, sender: QueueSender) -> None:
    sender.send(ShardMessage(run_id="r", shard=0, cases=[]), delay_seconds=60)
    assert account.queue_client(sender.name).receive_message() is None
    with pytest.raises(ValueError, match="delay_seconds"):
        sender.send(ShardMessage(run_id="r", shard=0, cases=[]), delay_seconds=-1)


def test_oversized_message_is_refused_before_sending(account: StorageAccount, sender: QueueSender) -> None:
    overhead = len(ShardMessage(run_id="r", shard=0, cases=[], note="").model_dump_json())
    at_limit = ShardMessage(run_id="r", shard=0, cases=[], note="n" * (MAX_MESSAGE_BYTES - overhead))
    assert len(encode_message(at_limit).encode()) == MAX_MESSAGE_BYTES
    sender.send(at_limit)  # the service takes exactly 64 KB
    too_big = ShardMessage(run_id="r", shard=0, cases=[], note="é" * (MAX_MESSAGE_BYTES // 2))
    with pytest.raises(MessageTooLarge, match="at most 65536"):
        sender.send(too_big)
    peeked = account.queue_client(sender.name).peek_messages(max_messages=32)
    assert len(peeked) == 1


def test_poison_names() -> None:
    assert poison_name("shards") == "shards-poison"
    with pytest.raises(InvalidKey):
        poison_name("x" * 60)
    with pytest.raises(InvalidKey):
        poison_name("Upper")
