"""Secret references and the Key Vault names derived from them.

A name is built only from validated ids, never spliced from raw input. Ids are lowercase
letters and digits with single underscores between them (`prj_k3v...`, see `shared.ids`).
Key Vault names allow `^[0-9a-zA-Z-]{1,127}$`, so each id is written with `_` as `-` and the
parts are joined with `--`:

    tr--pepper--<item>                          the API-key hashing pepper (no tenant)
    tr--<tenant>--<kind>--<item>                a tenant-wide secret
    tr--<tenant>--<project>--<kind>--<item>     a project's secret

Why this is unambiguous: an id never holds `__` nor starts or ends with `_`, so an encoded
part never holds `--` nor starts or ends with `-`; splitting a name on `--` gives back exactly
its parts, and their count says which of the three forms it is. Only lowercase is accepted,
so distinct ids stay distinct under Key Vault's case-insensitive names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "tr"
SEPARATOR = "--"
MAX_ID_LENGTH = 36
MAX_NAME_LENGTH = 127  # Key Vault's limit
DEFAULT_PEPPER_ID = "default"

_ID = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_KEY_VAULT_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")
_APP_TAG = "tokenroute"


class SecretKind(StrEnum):
    """What a secret holds; each kind has a short, fixed part in the secret name."""

    CREDENTIAL = "credential"
    PEPPER = "pepper"

    @property
    def segment(self) -> str:
        """The part of the secret name that says the kind."""
        return _SEGMENTS[self]


_SEGMENTS = {SecretKind.CREDENTIAL: "cred", SecretKind.PEPPER: "pepper"}
_KIND_OF_SEGMENT = {segment: kind for kind, segment in _SEGMENTS.items()}


def validate_id(value: object, field: str) -> str:
    """Return `value` if it is a well-formed id; raise ValueError otherwise.

    The message names the field and the rule but never echoes the value: it is caller input.
    """
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not _ID.fullmatch(value):
        raise ValueError(
            f"{field} must be 1-{MAX_ID_LENGTH} lowercase letters and digits, with single underscores between them"
        )
    return value


def _encode(identifier: str) -> str:
    return identifier.replace("_", "-")


def _decode(part: str) -> str:
    return part.replace("-", "_")


def is_key_vault_name(name: str) -> bool:
    """True when `name` satisfies Key Vault's secret-name rules."""
    return _KEY_VAULT_NAME.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Which secret: tenant, optional project, kind and item id (e.g. the credential id).

    Credentials belong to a tenant (and usually a project); the pepper belongs to no tenant.
    Anything else raises ValueError when the reference is built.
    """

    tenant_id: str | None
    project_id: str | None
    kind: SecretKind
    item_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SecretKind):
            raise ValueError("kind must be a SecretKind")
        validate_id(self.item_id, "item_id")
        if self.kind is SecretKind.PEPPER:
            if self.tenant_id is not None or self.project_id is not None:
                raise ValueError("the pepper belongs to no tenant or project")
            return
        if self.tenant_id is None:
            raise ValueError(f"a {self.kind.value} secret needs a tenant_id")
        validate_id(self.tenant_id, "tenant_id")
        if self.project_id is not None:
            validate_id(self.project_id, "project_id")

    @classmethod
    def credential(cls, tenant_id: str, project_id: str | None, credential_id: str) -> SecretRef:
        """The reference of a provider key (BYOK credential)."""
        return cls(tenant_id, project_id, SecretKind.CREDENTIAL, credential_id)

    @classmethod
    def pepper(cls, item_id: str = DEFAULT_PEPPER_ID) -> SecretRef:
        """The reference of the API-key hashing pepper (tenant-independent)."""
        return cls(None, None, SecretKind.PEPPER, item_id)

    @property
    def name(self) -> str:
        """The Key Vault secret name; deterministic, within Key Vault's rules."""
        parts = [PREFIX]
        if self.tenant_id is not None:
            parts.append(_encode(self.tenant_id))
        if self.project_id is not None:
            parts.append(_encode(self.project_id))
        parts += [self.kind.segment, _encode(self.item_id)]
        name = SEPARATOR.join(parts)
        # Cannot fail with the id limits above (at most 122 characters); kept as a guard if they change.
        if not is_key_vault_name(name):
            raise ValueError("the derived secret name breaks Key Vault's naming rules")
        return name

    @property
    def tags(self) -> dict[str, str]:
        """Key Vault tags: who the secret belongs to, readable by operators and scope deletes."""
        tags = {"app": _APP_TAG, "kind": self.kind.value}
        if self.tenant_id is not None:
            tags["tenant"] = self.tenant_id
        if self.project_id is not None:
            tags["project"] = self.project_id
        return tags

    def in_scope(self, tenant_id: str, project_id: str | None = None) -> bool:
        """True when this secret belongs to the tenant (and, if given, to the project)."""
        if self.tenant_id != tenant_id:
            return False
        return project_id is None or self.project_id == project_id

    @classmethod
    def parse(cls, name: str) -> SecretRef | None:
        """The reference a secret name was derived from, or None for a name TokenRoute did not make."""
        parts = name.split(SEPARATOR)
        if len(parts) < 3 or parts[0] != PREFIX:
            return None
        kind = _KIND_OF_SEGMENT.get(parts[-2])
        if kind is None:
            return None
        item_id = _decode(parts[-1])
        owners = [_decode(part) for part in parts[1:-2]]
        try:
            if kind is SecretKind.PEPPER and not owners:
                ref = cls(None, None, kind, item_id)
            elif kind is not SecretKind.PEPPER and len(owners) in (1, 2):
                ref = cls(owners[0], owners[1] if len(owners) == 2 else None, kind, item_id)
            else:
                return None
        except ValueError:
            return None
        # Only names exactly as we write them count as ours (no other case, no stray dashes).
        return ref if ref.name == name else None


def scope_of(tenant_id: str, project_id: str | None = None) -> tuple[str, str | None]:
    """Validate the ids of a scope (a tenant, or one project of it) before it selects anything."""
    validate_id(tenant_id, "tenant_id")
    if project_id is not None:
        validate_id(project_id, "project_id")
    return tenant_id, project_id
