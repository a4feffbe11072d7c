"""Cursor codec and SDK-error translation, without a store."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import CredentialUnavailableError

from shared.storage.errors import (
    ConcurrencyError,
    Conflict,
    InvalidCursor,
    NotFound,
    StorageError,
    StorageUnavailable,
    translate,
)
from shared.storage.paging import decode_cursor, encode_cursor


def test_cursor_round_trip_and_every_single_character_change_is_caught() -> None:
    position = {"PartitionKey": "1!8!cGsx", "RowKey": "1!12!MDAwNDA-"}
    cursor = encode_cursor(position, "q1")
    assert decode_cursor(cursor, "q1") == position
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(cursor):
        replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        tampered = cursor[:index] + replacement + cursor[index + 1 :]
        with pytest.raises(InvalidCursor):
            decode_cursor(tampered, "q1")


@pytest.mark.parametrize("bad", ["", "!!!!", "a", "A" * 9000, "eyJxIjoicTEifQ", "=" * 8])
def test_malformed_cursors(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(bad, "q1")


def test_cursor_of_another_query() -> None:
    with pytest.raises(InvalidCursor, match="another query"):
        decode_cursor(encode_cursor({"PartitionKey": "a"}, "q1"), "q2")


def test_invalid_cursor_is_a_value_error() -> None:
    assert issubclass(InvalidCursor, ValueError)


def test_translate_maps_sdk_errors_to_domain_errors() -> None:
    assert isinstance(translate(ResourceNotFoundError("x"), "blob a"), NotFound)
    assert isinstance(translate(ResourceExistsError("x"), "entity"), Conflict)
    assert isinstance(translate(ResourceModifiedError("x"), "entity"), ConcurrencyError)
    assert isinstance(translate(ClientAuthenticationError("x"), "table t"), StorageUnavailable)
    assert "no Azure credential" in str(translate(CredentialUnavailableError("x"), "table t"))
    unreachable = translate(ServiceRequestError("HTTPConnection(host='secret-host')"), "table t")
    assert isinstance(unreachable, StorageUnavailable)
    assert "secret-host" not in str(unreachable)
    generic = translate(HttpResponseError("boom"), "queue q")
    assert isinstance(generic, StorageError)
    assert "boom" not in str(generic)
