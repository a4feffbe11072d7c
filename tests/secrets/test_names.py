"""Secret names: always within Key Vault's rules, one name per reference, invalid ids refused."""

from __future__ import annotations

import random
import re
import string

import pytest

from shared.secrets import SecretKind, SecretRef
from shared.secrets.names import MAX_ID_LENGTH, is_key_vault_name

KEY_VAULT_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
ALNUM = string.ascii_lowercase + string.digits


def random_id(rng: random.Random) -> str:
    """A valid id: lowercase alnum runs joined by single underscores, 1-36 characters."""
    while True:
        runs = ["".join(rng.choice(ALNUM) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(1, 4))]
        candidate = "_".join(runs)
        if len(candidate) <= MAX_ID_LENGTH:
            return candidate


def random_ref(rng: random.Random) -> SecretRef:
    shape = rng.random()
    if shape < 0.1:
        return SecretRef.pepper(random_id(rng))
    project = random_id(rng) if shape < 0.7 else None
    return SecretRef.credential(random_id(rng), project, random_id(rng))


EDGE_REFS = [
    SecretRef.pepper(),
    SecretRef.credential("a", None, "b"),
    SecretRef.credential("a_b", None, "c"),
    SecretRef.credential("a", "b", "c"),
    SecretRef.credential("a", "b_c", "d"),
    SecretRef.credential("a_b", "c", "d"),
    SecretRef.credential("pepper", None, "x"),
    SecretRef.credential("cred", "cred", "cred"),
    SecretRef.credential("z" * MAX_ID_LENGTH, "9" * MAX_ID_LENGTH, "q_" * 17 + "q"),
    SecretRef.credential("ten_abcdefghijklmnopqrst", "prj_abcdefghijklmnopqrst", "cre_abcdefghijklmnopqrst"),
]


def test_random_refs_give_valid_distinct_names_that_parse_back() -> None:
    rng = random.Random(20240611)
    refs = {random_ref(rng) for _ in range(3000)} | set(EDGE_REFS)
    names: dict[str, SecretRef] = {}
    for ref in refs:
        name = ref.name
        assert KEY_VAULT_NAME.fullmatch(name), name
        assert is_key_vault_name(name)
        assert name == ref.name  # deterministic
        assert SecretRef.parse(name) == ref
        # Key Vault names are case-insensitive: distinct refs must differ even ignoring case.
        assert name.lower() not in names, (ref, names.get(name.lower()))
        names[name.lower()] = ref
    assert len(names) == len(refs)


def test_the_longest_ids_still_fit() -> None:
    longest = SecretRef.credential("a" * MAX_ID_LENGTH, "b" * MAX_ID_LENGTH, "c" * MAX_ID_LENGTH)
    assert len(longest.name) <= 127


def test_name_shapes() -> None:
    assert SecretRef.pepper().name == "tr--pepper--default"
    assert SecretRef.credential("ten_1", None, "cre_2").name == "tr--ten-1--cred--cre-2"
    assert SecretRef.credential("ten_1", "prj_2", "cre_3").name == "tr--ten-1--prj-2--cred--cre-3"


def test_underscores_cannot_fake_a_project() -> None:
    # "a_b" as a tenant and "a" + project "b" must not meet.
    assert SecretRef.credential("a_b", None, "c").name != SecretRef.credential("a", "b", "c").name


INVALID_IDS: list[object] = [
    "",
    "A",
    "Ten_1",
    "a-b",
    "a__b",
    "_a",
    "a_",
    "a b",
    "a/b",
    "../x",
    "a.b",
    "é",
    "１",  # a full-width digit
    "a\n",
    "a" * (MAX_ID_LENGTH + 1),
    "tr--x",
    12,
    None,
    b"abc",
]


@pytest.mark.parametrize("bad", INVALID_IDS)
def test_invalid_ids_are_refused_in_every_position(bad: object) -> None:
    with pytest.raises(ValueError, match=r"lowercase letters and digits|needs a tenant_id"):
        SecretRef.credential(bad, None, "c")  # type: ignore[arg-type]
    if bad is not None:
        with pytest.raises(ValueError, match="lowercase letters and digits"):
            SecretRef.credential("t", bad, "c")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lowercase letters and digits"):
        SecretRef.credential("t", "p", bad)  # type: ignore[arg-type]


def test_error_does_not_echo_the_input() -> None:
    bad = "EVIL<script>alert(1)</script>"
    with pytest.raises(ValueError, match="tenant_id") as caught:
        SecretRef.credential(bad, None, "c")
    assert bad not in str(caught.value)


def test_kind_rules() -> None:
    with pytest.raises(ValueError, match="needs a tenant_id"):
        SecretRef(None, None, SecretKind.CREDENTIAL, "c")
    with pytest.raises(ValueError, match="needs a tenant_id"):
        SecretRef(None, "p", SecretKind.CREDENTIAL, "c")
    with pytest.raises(ValueError, match="no tenant"):
        SecretRef("t", None, SecretKind.PEPPER, "default")
    with pytest.raises(ValueError, match="SecretKind"):
        SecretRef("t", None, "credential", "c")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "my-secret",
        "tr",
        "tr--x",
        "TR--t--cred--x",
        "tr--T--cred--x",
        "tr--t--cred--x-",
        "tr--t---cred--x",
        "tr--t--p--q--cred--x",
        "tr--t--pepper--x",
        "tr--t--key--x",
        "tr--pepper--",
        "xx--t--cred--x",
    ],
)
def test_foreign_names_do_not_parse(name: str) -> None:
    assert SecretRef.parse(name) is None


def test_tags_say_who_owns_the_secret() -> None:
    assert SecretRef.credential("ten_1", "prj_2", "cre_3").tags == {
        "app": "tokenroute",
        "kind": "credential",
        "tenant": "ten_1",
        "project": "prj_2",
    }
    assert SecretRef.pepper().tags == {"app": "tokenroute", "kind": "pepper"}


def test_scope_membership() -> None:
    ref = SecretRef.credential("t1", "p1", "c")
    assert ref.in_scope("t1")
    assert ref.in_scope("t1", "p1")
    assert not ref.in_scope("t1", "p2")
    assert not ref.in_scope("t2")
    assert not SecretRef.pepper().in_scope("t1")
    assert SecretRef.credential("t1", None, "c").in_scope("t1")
    assert not SecretRef.credential("t1", None, "c").in_scope("t1", "p1")
