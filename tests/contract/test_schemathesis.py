"""Contract fuzzing: schemathesis against the real Function App in a local host, from its own OpenAPI document.

Every operation of `/api/openapi.json` gets a few generated requests, valid and invalid ones
(bounded and derandomized, so the run is short and repeatable), sent with the seeded project's API key.
Each answer must not be a 5xx, every 4xx/5xx must be `application/problem+json`, and every answer must
match its documented status, content type and schema. Nothing is excluded: API keys cannot delete a
project (403), and generated key or credential ids never match the seeded ones, so no operation can
break the session the test runs with.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.api.problems import PROBLEM_MEDIA_TYPE
from tests.support.stack import Stack

pytestmark = pytest.mark.slow

# Per operation and generation mode; 35 operations x 2 modes x 5 stays well under a minute.
MAX_EXAMPLES = 5


def errors_are_problems(ctx: CheckContext, response: Response, case: schemathesis.Case[Any]) -> bool | None:
    """Every 4xx/5xx answer is an RFC 9457 problem with the status it was sent with."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if content_type.split(";")[0].strip() != PROBLEM_MEDIA_TYPE:
        raise Failure(
            operation=case.operation.label,
            title="Error is not a problem",
            message=f"{response.status_code} answered as {content_type!r}",
        )
    body: Any = response.json()
    if not isinstance(body, dict) or body.get("status") != response.status_code or "type" not in body:
        raise Failure(
            operation=case.operation.label,
            title="Malformed problem",
            message=f"{response.status_code}: {response.text[:300]}",
        )
    return True


CHECKS = [
    not_a_server_error,
    errors_are_problems,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_every_operation_keeps_its_contract(stack: Stack) -> None:
    base_url = f"http://127.0.0.1:{stack.host.port}"
    document = stack.client.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {stack.seeded.api_key}"}
    failures: list[str] = []
    exercised = 0
    sent: list[int] = []
    for result in schema.get_all_operations():
        # An operation schemathesis cannot read is a failure of the document, not something to skip.
        assert isinstance(result, Ok), result
        operation = result.ok()
        # The key's own project, so requests get past the 404 that any other project id answers.
        path_parameters = {"project": stack.project} if "{project}" in operation.path else None
        strategies = [
            operation.as_strategy(mode, path_parameters=path_parameters)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]

        @settings(
            max_examples=MAX_EXAMPLES * len(strategies),
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(*strategies))
        def fuzz(case: schemathesis.Case[Any]) -> None:
            response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)
            sent.append(response.status_code)

        exercised += 1
        try:
            fuzz()
        except Exception as exc:  # every operation's failure, reported together
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    assert exercised == len(
        [m for item in document["paths"].values() for m in item if m in {"get", "put", "post", "delete", "patch"}]
    )
    assert not failures, "\n\n".join(failures)
    # The checks ran on real answers, successes among them (not only 401s or 404s).
    assert len(sent) >= exercised
    assert any(200 <= status < 300 for status in sent)
