"""Provider credentials over the API: metadata only, admin-managed, validated by a real call, never leaking the key."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.config import Settings
from shared.credentials.records import CredentialValidationMessage
from shared.credentials.validation import CredentialValidator
from shared.devhost.azurite import free_ports
from shared.secrets import SecretNotFound, SecretRef
from shared.services import Services
from tests.conftest import TokenFactory
from tests.credentials.provider_standin import ProviderStandIn
from tests.support.api import bearer, create_key, create_project
from tests.support.storage_scan import stored_text


def new_key() -> str:
    """A key no other test uses, shaped like OpenAI's."""
    return "sk-proj-" + secrets.token_urlsafe(32)


@pytest.fixture
def allow_private() -> bool:
    """TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS for this test (parametrize to turn it on)."""
    return False


@pytest.fixture
def settings(settings: Settings, allow_private: bool) -> Settings:
    """The session settings with the private-endpoint switch of the test."""
    return settings.model_copy(update={"allow_private_endpoints": allow_private})


@pytest.fixture
def owner(session_token: TokenFactory, unique_user: str) -> dict[str, str]:
    return bearer(session_token(unique_user))


@pytest.fixture
async def project(client: httpx.AsyncClient, owner: dict[str, str]) -> str:
    created = await create_project(client, owner, "credentials")
    return str(created["id"])


@pytest.fixture
def standin() -> Iterator[ProviderStandIn]:
    with ProviderStandIn(set()) as server:
        yield server


@pytest.fixture
async def drained(services: Services) -> AsyncIterator[Services]:
    """Leaves the validation queue empty, so that no later Function App test validates these credentials."""
    yield services
    services.credentials.validations.client.clear_messages()


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], project: str, **body: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    response = await client.post(f"/api/v1/projects/{project}/credentials", json=body, headers=headers)
    return response, response.json()


async def test_create_list_get_rotate_delete(
    client: httpx.AsyncClient, owner: dict[str, str], project: str, services: Services
) -> None:
    base = f"/api/v1/projects/{project}/credentials"
    key = new_key()
    response, created = await create(client, owner, project, provider="openai", name=" Production ", key=key)
    assert response.status_code == 201, response.text
    assert created["id"].startswith("crd_")
    assert (created["provider"], created["name"], created["fingerprint"]) == ("openai", "Production", "…" + key[-4:])
    assert (created["validation_state"], created["validation_pending"], created["base_url"]) == (
        "unvalidated",
        False,
        None,
    )
    assert "key" not in created
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]
    ref = SecretRef.credential(tenant, project, created["id"])
    assert services.secrets.get(ref) == key  # the key lives in the secret backend

    fetched = await client.get(f"{base}/{created['id']}", headers=owner)
    assert fetched.json() == created
    listed = (await client.get(base, headers=owner)).json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]

    rotated_key = new_key()
    rotated = await client.post(f"{base}/{created['id']}/rotate", json={"key": rotated_key}, headers=owner)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["fingerprint"] == "…" + rotated_key[-4:]
    assert rotated.json()["rotated_at"] is not None
    assert services.secrets.get(ref) == rotated_key
    stored = services.credentials.find(tenant, project, created["id"])
    assert stored is not None
    assert services.credentials.provider_credential(stored).secret() == rotated_key

    assert (await client.delete(f"{base}/{created['id']}", headers=owner)).status_code == 204
    assert (await client.get(f"{base}/{created['id']}", headers=owner)).status_code == 404
    assert (await client.delete(f"{base}/{created['id']}", headers=owner)).status_code == 404
    with pytest.raises(SecretNotFound):
        services.secrets.get(ref)

    entries = (await client.get(f"/api/v1/projects/{project}/audit", headers=owner)).json()["items"]
    audited = [e for e in entries if e["target_type"] == "credential"]
    assert [e["action"] for e in audited] == ["credential.deleted", "credential.rotated", "credential.created"]
    assert all(e["details"] == {"provider": "openai", "name": "Production"} for e in audited)


async def test_lists_are_paged(client: httpx.AsyncClient, owner: dict[str, str], project: str) -> None:
    for n in range(3):
        response, _ = await create(client, owner, project, provider="anthropic", name=f"c{n}", key=new_key())
        assert response.status_code == 201
    base = f"/api/v1/projects/{project}/credentials"
    first = (await client.get(base, headers=owner, params={"limit": "2"})).json()
    second = (await client.get(base, headers=owner, params={"limit": "2", "cursor": first["next_cursor"]})).json()
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None


async def test_provider_specific_fields(client: httpx.AsyncClient, owner: dict[str, str], project: str) -> None:
    response, azure = await create(
        client,
        owner,
        project,
        provider="azure_openai",
        name="Azure",
        key=new_key(),
        azure_endpoint="https://my-resource.openai.azure.com/",
        azure_deployment="gpt-4o-mini",
        azure_api_version="2024-10-21",
    )
    assert response.status_code == 201, response.text
    assert (azure["azure_endpoint"], azure["azure_deployment"], azure["azure_api_version"]) == (
        "https://my-resource.openai.azure.com",
        "gpt-4o-mini",
        "2024-10-21",
    )
    response, compatible = await create(
        client, owner, project, provider="openai_compatible", name="Self-hosted", key=new_key(),
        base_url="https://llm.example.com/v1",
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert compatible["base_url"] == "https://llm.example.com/v1"
    response, openai = await create(
        client, owner, project, provider="openai", name="Org", key=new_key(), organization="org-abc123"
    )
    assert response.status_code == 201, response.text
    assert openai["organization"] == "org-abc123"


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"provider": "openai", "base_url": "https://127.0.0.1/v1"}, {"body.base_url"}),
        ({"provider": "openai", "base_url": "http://127.0.0.1:11434/v1"}, {"body.base_url"}),
        ({"provider": "openai", "base_url": "https://169.254.169.254/v1"}, {"body.base_url"}),
        ({"provider": "openai", "base_url": "https://[::1]/v1"}, {"body.base_url"}),
        ({"provider": "ollama"}, {"body.base_url"}),
        ({"provider": "openai_compatible"}, {"body.base_url"}),
        ({"provider": "openai", "azure_endpoint": "https://a.openai.azure.com", "azure_deployment": "d"},
         {"body.azure_endpoint", "body.azure_deployment"}),
        ({"provider": "azure_openai"}, {"body.azure_endpoint"}),
        ({"provider": "azure_openai", "azure_endpoint": "https://a.openai.azure.com", "base_url": "https://x.com"},
         {"body.base_url"}),
        ({"provider": "anthropic", "organization": "org-1"}, {"body.organization"}),
        ({"provider": "sandbox"}, {"body.provider"}),
        ({"provider": "nope"}, {"body.provider"}),
        ({"provider": "openai", "azure_api_version": "yesterday"}, {"body.azure_api_version"}),
        ({"provider": "openai", "secret": "x"}, {"body.secret"}),
    ],
)  # fmt: skip
async def test_wrong_fields_answer_422_naming_them(
    client: httpx.AsyncClient, owner: dict[str, str], project: str, body: dict[str, Any], paths: set[str]
) -> None:
    response, problem = await create(client, owner, project, **{"name": "x", "key": new_key(), **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["path"] for e in problem["errors"]} == paths
    assert problem["type"] == "urn:tokenroute:problem:validation"


async def test_a_base_url_resolving_to_a_private_address_is_refused(
    client: httpx.AsyncClient, owner: dict[str, str], project: str
) -> None:
    # This machine's own name resolves to loopback or a private address on any CI runner or laptop.
    name = socket.gethostname().lower()
    try:
        addresses = {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(name, 443)}
    except OSError:
        addresses = set()
    if not name.replace("-", "").replace(".", "").isalnum() or all(a.is_global for a in addresses):
        pytest.skip("the host name does not resolve to a private address here")
    response, problem = await create(
        client, owner, project, provider="openai", name="x", key=new_key(), base_url=f"https://{name}/v1"
    )
    assert response.status_code == 422, response.text
    assert [e["path"] for e in problem["errors"]] == ["body.base_url"]
    assert "resolves to" in problem["errors"][0]["message"]


@pytest.mark.parametrize(
    "bad", ["short", "x" * 513, "sk-with a space-0123456789", "sk-newline\n0123456789", "sk-ünïcode-0123456789"]
)
async def test_bad_keys_are_refused_without_being_echoed(
    client: httpx.AsyncClient, owner: dict[str, str], project: str, bad: str
) -> None:
    response, problem = await create(client, owner, project, provider="openai", name="x", key=bad)
    assert response.status_code == 422
    assert [e["path"] for e in problem["errors"]] == ["body.key"]
    assert bad not in response.text
    credential, _ = await create(client, owner, project, provider="openai", name="x", key=new_key())
    rotate = await client.post(
        f"/api/v1/projects/{project}/credentials/{credential.json()['id']}/rotate", json={"key": bad}, headers=owner
    )
    assert rotate.status_code == 422
    assert bad not in rotate.text


async def test_roles_and_scopes(client: httpx.AsyncClient, session_token: TokenFactory) -> None:
    org = "org_" + secrets.token_hex(6)
    owner = bearer(session_token(f"user_owner_{org}", org=org, role="org:admin"))
    admin = bearer(session_token(f"user_admin_{org}", org=org, role="org:manager"))
    member = bearer(session_token(f"user_member_{org}", org=org, role="org:member"))
    viewer = bearer(session_token(f"user_viewer_{org}", org=org, role="org:viewer"))
    project = (await create_project(client, owner, "roles"))["id"]
    base = f"/api/v1/projects/{project}/credentials"
    body = {"provider": "openai", "name": "x", "key": new_key()}

    assert (await client.post(base, json=body, headers=member)).status_code == 403
    assert (await client.post(base, json=body, headers=viewer)).status_code == 403
    created = await client.post(base, json=body, headers=admin)
    assert created.status_code == 201
    credential = created.json()["id"]
    for headers in (viewer, member):
        assert (await client.get(base, headers=headers)).status_code == 200
        assert (await client.get(f"{base}/{credential}", headers=headers)).status_code == 200
        assert (await client.post(f"{base}/{credential}/validate", headers=headers)).status_code == 403
        rotate = await client.post(f"{base}/{credential}/rotate", json={"key": new_key()}, headers=headers)
        assert rotate.status_code == 403
        assert (await client.delete(f"{base}/{credential}", headers=headers)).status_code == 403

    reader = bearer((await create_key(client, owner, project, ["runs:read", "runs:write"]))["key"])
    assert (await client.get(base, headers=reader)).status_code == 200
    assert (await client.post(base, json=body, headers=reader)).status_code == 403
    admin_key = bearer((await create_key(client, owner, project, ["admin"]))["key"])
    assert (await client.post(base, json=body, headers=admin_key)).status_code == 201
    entries = (await client.get(f"/api/v1/projects/{project}/audit", headers=owner)).json()["items"]
    assert [e["action"] for e in entries].count("credential.created") == 2


async def test_a_deleted_project_has_no_credentials(
    client: httpx.AsyncClient, owner: dict[str, str], project: str
) -> None:
    response, created = await create(client, owner, project, provider="openai", name="x", key=new_key())
    assert response.status_code == 201
    assert (await client.delete(f"/api/v1/projects/{project}", headers=owner)).status_code == 204
    response, _ = await create(client, owner, project, provider="openai", name="x", key=new_key())
    assert response.status_code == 404
    base = f"/api/v1/projects/{project}/credentials"
    assert (await client.get(f"{base}/{created['id']}", headers=owner)).status_code == 404
    assert (await client.get(base, headers=owner)).status_code == 404


def take_message(services: Services, credential_id: str) -> CredentialValidationMessage:
    """The credential's message from the real queue (deleted from it), as the queue function receives it."""
    for item in services.credentials.validations.client.receive_messages(max_messages=32, visibility_timeout=5):
        message = CredentialValidationMessage.model_validate_json(item.content)
        if message.credential_id == credential_id:
            services.credentials.validations.client.delete_message(item)
            return message
    raise AssertionError(f"no validation message for {credential_id}")


@pytest.mark.parametrize("allow_private", [True])
async def test_validation_states_and_the_raw_key_appears_nowhere(
    client: httpx.AsyncClient,
    owner: dict[str, str],
    project: str,
    drained: Services,
    standin: ProviderStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Create, validate (valid, invalid with the provider's reason, unreachable), rotate: then scan responses,
    every log record, every table and blob for the keys; only the secret backend holds them."""
    services = drained
    caplog.set_level(logging.DEBUG)
    base = f"/api/v1/projects/{project}/credentials"
    good, bad, other = new_key(), new_key(), new_key()
    standin.behaviour.good_keys.add(good)
    closed = f"http://127.0.0.1:{free_ports(1)[0]}/v1"
    answers: list[httpx.Response] = []
    validator = CredentialValidator(services.credentials, services.http)

    async def validate(key: str, base_url: str) -> dict[str, Any]:
        response, created = await create(
            client, owner, project, provider="openai", name="v", key=key, base_url=base_url
        )
        assert response.status_code == 201, response.text
        accepted = await client.post(f"{base}/{created['id']}/validate", headers=owner)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["validation_pending"] is True
        await validator.handle(take_message(services, created["id"]))
        fetched = await client.get(f"{base}/{created['id']}", headers=owner)
        answers.extend([response, accepted, fetched])
        result: dict[str, Any] = fetched.json()
        assert result["validation_pending"] is False
        assert result["validated_at"] is not None
        return result

    valid = await validate(good, standin.url("/v1"))
    assert (valid["validation_state"], valid["validation_reason"]) == ("valid", None)
    invalid = await validate(bad, standin.url("/v1"))
    assert invalid["validation_state"] == "invalid"
    assert invalid["validation_reason"].startswith("HTTP 401 invalid_api_key: Incorrect API key provided")
    unreachable = await validate(other, closed)
    assert unreachable["validation_state"] == "unreachable"
    assert unreachable["validation_reason"].startswith("could not connect")

    # Rotating the invalid one to the good key: unvalidated again, then valid.
    rotated = await client.post(f"{base}/{invalid['id']}/rotate", json={"key": good}, headers=owner)
    assert rotated.json()["validation_state"] == "unvalidated"
    await client.post(f"{base}/{invalid['id']}/validate", headers=owner)
    await validator.handle(take_message(services, invalid["id"]))
    fixed = await client.get(f"{base}/{invalid['id']}", headers=owner)
    assert fixed.json()["validation_state"] == "valid"
    answers.extend([rotated, fixed, await client.get(base, headers=owner)])
    answers.append(await client.get(f"/api/v1/projects/{project}/audit", headers=owner))
    actions = [e["action"] for e in answers[-1].json()["items"]]
    assert actions.count("credential.validation_requested") == 4

    # The provider really received the keys (so the scan below proves something).
    assert {seen.headers.get("authorization") for seen in standin.seen} == {f"Bearer {good}", f"Bearer {bad}"}
    tenant = (await client.get("/api/v1/me", headers=owner)).json()["tenant_id"]
    everything = stored_text(services.storage)
    assert valid["id"] in everything  # the scan sees the credential rows
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 10
    for key in (good, bad, other):
        assert key not in everything
        assert key not in logged
        assert all(key not in answer.text for answer in answers)
        assert all(key not in str(dict(answer.headers)) for answer in answers)
    assert services.secrets.get(SecretRef.credential(tenant, project, valid["id"])) == good
    assert services.secrets.get(SecretRef.credential(tenant, project, unreachable["id"])) == other


async def test_validating_a_missing_credential_is_404_and_enqueues_nothing(
    client: httpx.AsyncClient, owner: dict[str, str], project: str, drained: Services
) -> None:
    queue = drained.credentials.validations.client
    before = queue.get_queue_properties().approximate_message_count
    missing = "crd_" + "a" * 20
    response = await client.post(f"/api/v1/projects/{project}/credentials/{missing}/validate", headers=owner)
    assert response.status_code == 404
    assert queue.get_queue_properties().approximate_message_count == before
    assert (await client.get(f"/api/v1/projects/{project}/credentials/not-an-id", headers=owner)).status_code == 422
