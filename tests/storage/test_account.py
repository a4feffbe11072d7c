"""StorageAccount: connection strings (Azurite included) and identity-based settings, without network calls."""

from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential

from shared.config import StorageSettings
from shared.storage.account import ConnectionStringError, StorageAccount, parse_connection_string
from shared.storage.emulator import DEV_ACCOUNT, DEV_ACCOUNT_KEY


def test_development_storage_means_azurite_default_ports() -> None:
    settings = StorageSettings.model_validate({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    account = StorageAccount.from_settings(settings)
    assert account.blob_service.url.rstrip("/") == f"http://127.0.0.1:10000/{DEV_ACCOUNT}"
    assert account.queue_service.url.rstrip("/") == f"http://127.0.0.1:10001/{DEV_ACCOUNT}"
    assert account.table_service.url.rstrip("/") == f"http://127.0.0.1:10002/{DEV_ACCOUNT}"
    assert account.account_name == DEV_ACCOUNT
    assert account.uses_account_key
    assert not account.uses_token_credential
    assert account.token_credential is None


def test_connection_string_with_endpoint_suffix_derives_https_urls() -> None:
    account = StorageAccount.from_connection_string(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0a2V5==;EndpointSuffix=core.windows.net"
    )
    assert account.blob_service.url.rstrip("/") == "https://acme.blob.core.windows.net"
    assert account.queue_service.url.rstrip("/") == "https://acme.queue.core.windows.net"
    assert account.table_service.url.rstrip("/") == "https://acme.table.core.windows.net"
    key = account.named_key
    assert key is not None
    assert key.named_key.key == "c2VjcmV0a2V5=="  # a value with '=' survives parsing


def test_explicit_endpoints_win() -> None:
    connection = (
        f"AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
        "BlobEndpoint=http://127.0.0.1:1/x;QueueEndpoint=http://127.0.0.1:2/x;TableEndpoint=http://127.0.0.1:3/x"
    )
    account = StorageAccount.from_connection_string(connection)
    assert account.blob_service.url.startswith("http://127.0.0.1:1/x")
    assert account.queue_service.url.startswith("http://127.0.0.1:2/x")
    assert account.table_service.url.startswith("http://127.0.0.1:3/x")


def test_identity_settings_from_account_name_build_token_clients() -> None:
    settings = StorageSettings.model_validate(
        {
            "AzureWebJobsStorage__accountName": "tokenroutestore",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
        }
    )
    account = StorageAccount.from_settings(settings)
    assert account.blob_service.url.rstrip("/") == "https://tokenroutestore.blob.core.windows.net"
    assert account.queue_service.url.rstrip("/") == "https://tokenroutestore.queue.core.windows.net"
    assert account.table_service.url.rstrip("/") == "https://tokenroutestore.table.core.windows.net"
    assert account.account_name == "tokenroutestore"
    assert account.uses_token_credential
    assert isinstance(account.token_credential, DefaultAzureCredential)
    assert account.named_key is None


def test_identity_settings_with_explicit_service_uris() -> None:
    settings = StorageSettings.model_validate(
        {
            "AzureWebJobsStorage__blobServiceUri": "https://custom-b.example.net",
            "AzureWebJobsStorage__queueServiceUri": "https://custom-q.example.net",
            "AzureWebJobsStorage__tableServiceUri": "https://custom-t.example.net",
            "AzureWebJobsStorage__accountName": "customacct",
        }
    )
    account = StorageAccount.from_settings(settings)
    assert account.blob_service.url.rstrip("/") == "https://custom-b.example.net"
    assert account.queue_service.url.rstrip("/") == "https://custom-q.example.net"
    assert account.table_service.url.rstrip("/") == "https://custom-t.example.net"
    assert account.account_name == "customacct"
    assert isinstance(account.token_credential, DefaultAzureCredential)


def test_unknown_credential_mode_is_refused() -> None:
    settings = StorageSettings.model_validate(
        {"AzureWebJobsStorage__accountName": "acme", "AzureWebJobsStorage__credential": "clientsecret"}
    )
    with pytest.raises(ValueError, match="managedidentity"):
        StorageAccount.from_settings(settings)


def test_credentials_never_appear_in_repr() -> None:
    account = StorageAccount.from_connection_string("UseDevelopmentStorage=true")
    for text in (repr(account), str(account)):
        assert DEV_ACCOUNT_KEY not in text
        assert DEV_ACCOUNT in text
        assert "account key" in text


def test_bad_connection_strings_say_why_without_the_value() -> None:
    with pytest.raises(ConnectionStringError, match="SAS") as sas:
        StorageAccount.from_connection_string("BlobEndpoint=https://x;SharedAccessSignature=sv=2020&sig=SECRETSIG")
    assert "SECRETSIG" not in str(sas.value)
    with pytest.raises(ConnectionStringError, match="AccountKey") as missing:
        StorageAccount.from_connection_string("AccountName=acme")
    assert "acme" not in str(missing.value)
    with pytest.raises(ConnectionStringError, match="Key=Value"):
        parse_connection_string("garbage-without-equals")


def test_table_clients_are_built_once() -> None:
    account = StorageAccount.from_connection_string("UseDevelopmentStorage=true")
    assert account.table_client("abc") is account.table_client("abc")
