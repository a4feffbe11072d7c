"""The deployment templates, read as text (no Bicep CLI here): settings, storage names,
identity-only access, roles, Flex Consumption, and the azd wiring.

What these tests cannot see: whether the AVM modules accept these parameters at the pinned
versions, and whether ARM accepts the result. `az bicep build` and `az deployment sub what-if`
(README, "Deploy to Azure") check that on a machine with the Azure CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import pytest
import yaml

from shared.config.settings import Settings, StorageSettings
from shared.storage.catalog import CONTAINERS, TABLES, all_queue_names
from tests.infra import bicep_text, templates

# Settings the code reads that must never be set in Azure, and why.
LOCAL_ONLY: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AzureWebJobsStorage": "the connection-string form; Azure uses the identity-based AzureWebJobsStorage__* keys",
        "LOCAL_SECRETS_KEY": "encrypts the local secrets store; Azure keeps secrets in Key Vault",
        "LOCAL_SECRETS_PATH": "where the local secrets store lives; Azure keeps secrets in Key Vault",
        "TOKENROUTE_DEV_TENANT": "seeds a development tenant and key; refused when TOKENROUTE_ENV=prod",
    }
)
# shared/devhost is the local Functions host: not deployed (.funcignore), its settings are local.
LOCAL_HOST_PACKAGE: Final = "shared/devhost/"

# Settings read by the platform (the Functions host, azure-identity) rather than by our code.
PLATFORM_SETTINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AZURE_CLIENT_ID": "DefaultAzureCredential (Key Vault backend) selects the user-assigned identity by it",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "where the Functions host sends telemetry",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "makes the host authenticate telemetry with the identity",
    }
)

# local.settings.sample.json keys that only the local host needs: on Flex Consumption the runtime
# comes from functionAppConfig, and worker indexing is the host's default.
LOCAL_HOST_KEYS: Final = frozenset({"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags"})

# App settings Flex Consumption rejects or replaces with functionAppConfig.
NOT_ON_FLEX: Final = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_EXTENSION_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    }
)

# Built-in role definition IDs: the same GUIDs in every tenant.
ROLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    }
)

# Anything that would put an account key, a SAS or a key-based connection string into play.
KEY_MATERIAL: Final = (
    "AccountKey",
    "listKeys",
    "primaryAccessKey",
    "secondaryAccessKey",
    "primaryConnectionString",
    "secondaryConnectionString",
    "DefaultEndpointsProtocol",
    "SharedAccessSignature",
    "listAccountSas",
    "listServiceSas",
    "InstrumentationKey",
    "UseDevelopmentStorage",
    # The AVM site module turns a storage account given here into an AccountKey connection string.
    "storageAccountResourceId",
    "secretsExportConfiguration",
)

_ENV_READ = re.compile(
    r"""(?:\benviron(?:\.get)?\s*[\[(]\s*|\bgetenv\(\s*|\benviron\s*,\s*)["']([A-Za-z_][A-Za-z0-9_.]*)["']"""
)


def settings_aliases() -> set[str]:
    """Every environment key the settings models read (their field aliases)."""
    return {
        field.alias
        for model in (Settings, StorageSettings)
        for field in model.model_fields.values()
        if field.alias is not None
    }


def environment_reads() -> dict[str, set[str]]:
    """Environment keys read by name anywhere in shared/, outside the settings models: key to files."""
    reads: dict[str, set[str]] = {}
    for path in sorted((templates.ROOT / "shared").rglob("*.py")):
        relative = path.relative_to(templates.ROOT).as_posix()
        for match in _ENV_READ.finditer(path.read_text(encoding="utf-8")):
            reads.setdefault(match[1], set()).add(relative)
    return reads


def deployed_reads() -> set[str]:
    """Keys the deployed code reads: the settings models and env reads outside the local host."""
    reads = settings_aliases()
    for key, files in environment_reads().items():
        if any(not file.startswith(LOCAL_HOST_PACKAGE) for file in files):
            reads.add(key)
    return reads


def local_host_reads() -> set[str]:
    """Keys only the local host (shared/devhost) reads."""
    return {
        key
        for key, files in environment_reads().items()
        if all(file.startswith(LOCAL_HOST_PACKAGE) for file in files) and key not in deployed_reads()
    }


def entries(raw: str) -> dict[str, str]:
    """A nested object literal's entries (shorthand for the tests below)."""
    return bicep_text.object_entries(raw)


# -- settings -----------------------------------------------------------------------------------


def test_the_scan_finds_the_settings_contract() -> None:
    """Guard against a scan that finds nothing and so checks nothing."""
    reads = deployed_reads()
    assert {"TOKENROUTE_ENV", "CLERK_ISSUER", "KEYVAULT_URL", "AzureWebJobsStorage__clientId"} <= reads
    assert "TOKENROUTE_HTTP_PORT" in local_host_reads()


def test_every_setting_the_code_reads_is_set_in_azure() -> None:
    missing = deployed_reads() - set(LOCAL_ONLY) - set(templates.app_settings())
    assert not missing, f"read by the code but not set by infra/app/api.bicep: {sorted(missing)}"


def test_local_only_settings_are_never_set_in_azure() -> None:
    text = templates.all_bicep()
    for key in sorted({*LOCAL_ONLY, *local_host_reads()}):
        assert key not in templates.app_settings(), f"{key} is local only: {LOCAL_ONLY.get(key, 'the local host')}"
        # Not through another route either (a module's settings, a slot): the name appears nowhere.
        assert not re.search(rf"\b{re.escape(key)}\b(?!__)", text), f"{key} appears in the templates"


def test_every_app_setting_is_read_by_the_code_or_the_platform() -> None:
    """A misspelt key (CLERK_ISSUR) would be set, never read, and the real one left unset."""
    unread = set(templates.app_settings()) - deployed_reads() - set(PLATFORM_SETTINGS)
    assert not unread, f"set by the infra but read by nothing: {sorted(unread)}"


def test_every_key_of_the_local_sample_is_accounted_for() -> None:
    sample = json.loads((templates.ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))
    for key in sample["Values"]:
        assert key in templates.app_settings() or key in LOCAL_ONLY or key in LOCAL_HOST_KEYS, key


def test_prod_values_of_the_settings_contract() -> None:
    settings = templates.app_settings()
    literal = {key: bicep_text.string_value(value) for key, value in settings.items()}
    assert literal["TOKENROUTE_ENV"] == "prod"
    assert literal["SECRETS_BACKEND"] == "keyvault"
    assert literal["TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS"] == "false"
    assert literal["AzureWebJobsStorage__credential"] == "managedidentity"
    # One identity for the host, the storage clients, Key Vault and telemetry.
    assert settings["AzureWebJobsStorage__clientId"] == settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "'ClientId=${identityClientId};Authorization=AAD'"
    for service in ("blob", "queue", "table"):
        assert settings[f"AzureWebJobsStorage__{service}ServiceUri"] == f"stg.properties.primaryEndpoints.{service}"
    # Clerk: the frontend origin is the authorized party; JWKS defaults to the issuer's well-known path.
    assert settings["CLERK_AUTHORIZED_PARTIES"] == "origin"
    api = templates.source(templates.API)
    assert bicep_text.variable_text(api, "origin") == (
        "endsWith(frontendOrigin, '/') ? take(frontendOrigin, length(frontendOrigin) - 1) : frontendOrigin"
    )
    assert bicep_text.variable_text(api, "jwksUrl") == (
        "!empty(clerkJwksUrl) ? clerkJwksUrl : '${issuer}/.well-known/jwks.json'"
    )
    # The vault's URI is the vault the template creates.
    assert templates.main_modules()["api"].params["keyVaultUri"] == "keyVault.outputs.uri"


def test_no_setting_flex_consumption_rejects() -> None:
    assert not NOT_ON_FLEX & set(templates.app_settings())


# -- storage ------------------------------------------------------------------------------------


def test_storage_names_are_exactly_the_catalog() -> None:
    names = templates.storage_names()
    assert set(names) == {"tables", "queues", "containers"}
    assert sorted(names["tables"]) == sorted(TABLES)
    assert sorted(names["queues"]) == all_queue_names()  # poison twins included
    assert sorted(names["containers"]) == sorted(CONTAINERS)
    for kind, values in names.items():
        assert len(values) == len(set(values)), f"a {kind[:-1]} is listed twice"


def test_the_storage_account_gets_those_names_and_the_deployment_container() -> None:
    main = templates.source(templates.MAIN)
    assert bicep_text.variable_text(main, "storageTables") == "[for table in tokenrouteStorage.tables: { name: table }]"
    assert bicep_text.variable_text(main, "storageQueues") == "[for queue in tokenrouteStorage.queues: { name: queue }]"
    containers = bicep_text.variable(main, "blobContainers")
    # The only container besides the catalog's: the one Flex Consumption deploys the package from.
    assert "concat(tokenrouteStorage.containers, [deploymentStorageContainerName])" in containers
    assert "publicAccess: 'None'" in containers
    storage = templates.main_modules()["storage"].params
    assert entries(storage["tableServices"])["tables"] == "storageTables"
    assert entries(storage["queueServices"])["queues"] == "storageQueues"
    assert entries(storage["blobServices"])["containers"] == "blobContainers"
    api = templates.main_modules()["api"].params
    assert api["deploymentStorageContainerName"] == "deploymentStorageContainerName"


def test_storage_is_reached_by_identity_only() -> None:
    storage = templates.main_modules()["storage"].params
    assert storage["allowSharedKeyAccess"] == "false"
    assert storage["allowBlobPublicAccess"] == "false"
    assert storage["defaultToOAuthAuthentication"] == "true"
    assert storage["minimumTlsVersion"] == "'TLS1_2'"


def test_no_account_key_or_connection_string_anywhere() -> None:
    text = templates.all_bicep()
    for word in KEY_MATERIAL:
        assert word.lower() not in text.lower(), f"{word} appears in the templates"
    # The bare AzureWebJobsStorage key is the connection-string form.
    assert "AzureWebJobsStorage" not in templates.app_settings()


# -- Key Vault, monitoring, roles ---------------------------------------------------------------


def test_key_vault_uses_rbac_soft_delete_and_purge_protection() -> None:
    vault = templates.main_modules()["keyVault"].params
    assert vault["enableRbacAuthorization"] == "true"
    assert vault["enableSoftDelete"] == "true"
    assert vault["enablePurgeProtection"] == "true"
    assert "accessPolicies" not in vault


def test_monitoring_has_local_auth_disabled() -> None:
    modules = templates.main_modules()
    assert modules["monitoring"].params["disableLocalAuth"] == "true"
    assert entries(modules["logAnalytics"].params["features"])["disableLocalAuth"] == "true"
    assert modules["monitoring"].params["workspaceResourceId"] == "logAnalytics.outputs.resourceId"


def test_the_five_roles_go_to_the_app_identity_only() -> None:
    rbac = templates.source(templates.RBAC)
    roles = entries(bicep_text.variable(rbac, "roles"))
    assert sorted(str(bicep_text.string_value(value)) for value in roles.values()) == sorted(ROLES.values())
    # Every assignment names the identity's principal, as a service principal, and nothing else does.
    assert rbac.count("principalId: principalId") == 3  # the storage loop, Key Vault, App Insights
    assert rbac.count("principalType: 'ServicePrincipal'") == 3
    assert len(re.findall(r"(?m)^resource\s+\w+\s+'Microsoft\.Authorization/roleAssignments@", rbac)) == 3
    assert bicep_text.array_items(bicep_text.variable(rbac, "storageRoles")) == [
        "roles.storageBlobDataOwner",
        "roles.storageQueueDataContributor",
        "roles.storageTableDataContributor",
    ]
    # Each role on the one resource it is for.
    for scope in ("storageAccount", "keyVault", "applicationInsights"):
        assert f"scope: {scope}\n" in rbac
    assert templates.main_modules()["rbac"].params["principalId"] == "apiIdentity.outputs.principalId"
    # No module assigns roles of its own (AVM modules take a roleAssignments parameter).
    for module in templates.main_modules().values():
        assert "roleAssignments" not in module.params, module.name
    assert "principalId" not in templates.main_params()


# -- the Function App ---------------------------------------------------------------------------


def _function_app() -> bicep_text.Module:
    return bicep_text.modules(templates.source(templates.API))["functionApp"]


def test_function_app_runs_python_311_on_flex_consumption() -> None:
    plan = templates.main_modules()["appServicePlan"].params
    assert plan["skuName"] == "'FC1'"
    assert plan["reserved"] == "true"
    app = _function_app().params
    assert app["kind"] == "'functionapp,linux'"
    config = entries(app["functionAppConfig"])
    runtime = entries(config["runtime"])
    api = templates.source(templates.API)
    assert bicep_text.variable_text(api, runtime["name"]) == "'python'"
    assert bicep_text.variable_text(api, runtime["version"]) == "'3.11'"
    scale = entries(config["scaleAndConcurrency"])
    assert scale == {"instanceMemoryMB": "instanceMemoryMB", "maximumInstanceCount": "maximumInstanceCount"}
    passed = templates.main_modules()["api"].params
    assert passed["instanceMemoryMB"] == "instanceMemoryMB"
    assert passed["maximumInstanceCount"] == "maximumInstanceCount"
    main_params = templates.main_params()
    assert main_params["instanceMemoryMB"].type == main_params["maximumInstanceCount"].type == "int"
    # The package is fetched with the identity too.
    storage = entries(entries(config["deployment"])["storage"])
    assert storage["type"] == "'blobContainer'"
    authentication = entries(storage["authentication"])
    assert authentication == {"type": "'UserAssignedIdentity'", "userAssignedIdentityResourceId": "identityId"}
    identities = entries(app["managedIdentities"])
    assert set(identities) == {"userAssignedResourceIds"}  # no system-assigned identity
    assert bicep_text.array_items(identities["userAssignedResourceIds"]) == ["identityId"]
    # azd finds the app to deploy by this tag.
    assert "'azd-service-name': serviceName" in app["tags"]


def test_app_settings_are_the_whole_truth() -> None:
    configs = bicep_text.array_items(_function_app().params["configs"])
    assert len(configs) == 1
    appsettings = entries(configs[0])
    assert appsettings == {"name": "'appsettings'", "retainCurrentAppSettings": "false", "properties": "appSettings"}


def test_cors_allows_only_the_frontend_origin() -> None:
    cors = entries(entries(_function_app().params["siteConfig"])["cors"])
    assert bicep_text.array_items(cors["allowedOrigins"]) == ["origin"]  # frontendOrigin, trailing slash cut
    assert cors["supportCredentials"] == "false"
    assert templates.main_modules()["api"].params["frontendOrigin"] == "frontendOrigin"
    assert templates.main_params()["frontendOrigin"].required


# -- composition --------------------------------------------------------------------------------


def test_every_resource_comes_from_a_pinned_avm_module() -> None:
    sources = {
        module.source
        for path in templates.bicep_files()
        for module in bicep_text.modules(templates.source(path)).values()
    }
    remote = sorted(source for source in sources if not source.startswith("./"))
    for source in remote:
        assert re.fullmatch(r"br/public:avm/res/[a-z-]+/[a-z-]+:\d+\.\d+\.\d+", source), source
    assert {source.split(":")[1].removeprefix("avm/res/") for source in remote} == {
        "managed-identity/user-assigned-identity",
        "web/serverfarm",
        "web/site",
        "storage/storage-account",
        "key-vault/vault",
        "operational-insights/workspace",
        "insights/component",
    }
    # Written by hand: the resource group and the role assignments; everything else is `existing`.
    for path in templates.bicep_files():
        for name, kind, existing in bicep_text.resources(templates.source(path)):
            assert existing or kind in {
                "Microsoft.Resources/resourceGroups",
                "Microsoft.Authorization/roleAssignments",
            }, f"{path.name}: {name} ({kind}) should come from an AVM module"


@pytest.mark.parametrize("module", ["api", "rbac"])
def test_local_modules_get_exactly_their_parameters(module: str) -> None:
    declared = templates.main_modules()[module]
    target = bicep_text.params(templates.source((templates.INFRA / declared.source).resolve()))
    passed = set(declared.params)
    assert passed <= set(target), f"unknown parameters: {sorted(passed - set(target))}"
    required = {name for name, param in target.items() if param.required}
    assert required <= passed, f"required but not passed: {sorted(required - passed)}"


def test_parameters_file_gives_every_required_parameter() -> None:
    params = templates.main_params()
    given = templates.parameters_file()
    required = {name for name, param in params.items() if param.required}
    assert required == {"environmentName", "location", "frontendOrigin", "clerkIssuer"}
    assert required <= set(given), f"missing from main.parameters.json: {sorted(required - set(given))}"
    assert set(given) <= set(params), f"not parameters of main.bicep: {sorted(set(given) - set(params))}"
    for name, entry in given.items():
        # azd substitutes its environment's values (and prompts for a required one left empty).
        assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(=[^}]*)?\}", entry["value"]), name
    assert given["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert given["location"]["value"] == "${AZURE_LOCATION}"


def test_abbreviations_cover_every_use() -> None:
    abbreviations = json.loads(templates.ABBREVIATIONS.read_text(encoding="utf-8"))
    used = set(re.findall(r"\babbrs\.(\w+)", templates.source(templates.MAIN)))
    assert used, "names come from the abbreviations file"
    assert used <= set(abbreviations), f"missing abbreviations: {sorted(used - set(abbreviations))}"
    assert "uniqueString(subscription().id, environmentName, location)" in bicep_text.variable_text(
        templates.source(templates.MAIN), "resourceToken"
    )


def test_azure_yaml_deploys_the_function_app_from_the_project_root() -> None:
    document = yaml.safe_load(templates.AZURE_YAML.read_text(encoding="utf-8"))
    assert document["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    api = document["services"]["api"]
    assert {key: api[key] for key in ("project", "language", "host")} == {
        "project": ".",
        "language": "python",
        "host": "function",
    }
    project = (templates.AZURE_YAML.parent / api["project"]).resolve()
    for needed in ("function_app.py", "host.json", "requirements.txt"):
        assert (project / needed).is_file(), needed
    # The service name is the tag azd looks for on the Function App.
    assert bicep_text.params(templates.source(templates.API))["serviceName"].default == "'api'"
    hook = api["hooks"]["prepackage"]
    for platform in ("posix", "windows"):
        command = hook[platform]["run"].split()
        assert command[1] == "scripts/stamp_build.py"
        assert (project / Path(command[1])).is_file()
