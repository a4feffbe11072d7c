"""Calling one target for one item: a provider adapter with the tenant's key, or a sandbox model.

Every attempt holds a slot of the run (its total concurrency) and of the adaptive limiter of the
credential and model (which halves on 429); retries wait outside both, so a rate-limited item
does not block the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from shared.providers.concurrency import AdaptiveLimiter
from shared.providers.models import ChatMessage, ChatRequest, Completion, GenerationParams, ProviderCredential, Role
from shared.providers.registry import adapter_for, is_simulated
from shared.providers.retries import AttemptObserver, call_with_retries
from shared.providers.sandbox import complete_sandbox, sandbox_params
from shared.runs.models import TargetSpec


@dataclass(frozen=True)
class CallPolicy:
    """How long one item may take and how often it is retried."""

    budget_s: float = 120.0
    max_retries: int = 4  # transient errors (5xx, timeouts)
    max_rate_limit_retries: int = 10  # 429s: a storm needs several, and the time budget bounds them anyway
    sandbox_latency_scale: float = 1.0
    # Calls in flight per credential and model: start generous (the run's own concurrency caps the
    # total), halve on 429, grow back by one after `limiter_grow_after` successes.
    limiter_initial: int = 16
    limiter_maximum: int = 64
    limiter_grow_after: int = 10


def chat_request(spec: TargetSpec, messages: Sequence[tuple[Role, str]]) -> ChatRequest:
    """The provider-neutral request for one item."""
    params = spec.params
    response_format: Any = params.response_format
    return ChatRequest(
        model=spec.model,
        messages=tuple(ChatMessage(role=role, content=content) for role, content in messages),
        params=GenerationParams(
            temperature=params.temperature,
            max_tokens=params.max_tokens,
            top_p=params.top_p,
            seed=params.seed,
            stop=tuple(params.stop) if params.stop else None,
            response_format=response_format,
        ),
        stream=spec.stream,
    )


class TargetCaller:
    """Calls one target; shared by every item of a shard."""

    def __init__(
        self,
        spec: TargetSpec,
        *,
        credential: ProviderCredential | None,
        http: httpx.AsyncClient,
        run_slots: asyncio.Semaphore,
        limiter: AdaptiveLimiter,
        policy: CallPolicy,
        seed: int,
        calls: AttemptObserver | None = None,
    ) -> None:
        self.spec = spec
        self.credential = credential
        self.http = http
        self.run_slots = run_slots
        self.limiter = limiter
        self.policy = policy
        self.seed = seed
        self.calls = calls  # counts every attempt for provider status (`shared.providers.status`)
        self.simulated = is_simulated(spec.provider)
        self._sandbox = sandbox_params(spec.model, spec.sandbox) if self.simulated else None

    async def call(self, request: ChatRequest, *, expected: str | None, case_id: str, trial: int) -> Completion:
        """One item, with retries; raises `ProviderError` when it fails for good."""
        attempt = 0

        async def once() -> Completion:
            nonlocal attempt
            attempt += 1
            async with self.run_slots, self.limiter:
                return await self._attempt(
                    request, expected=expected, case_id=case_id, trial=trial, attempt=attempt - 1
                )

        return await call_with_retries(
            once,
            budget_s=self.policy.budget_s,
            max_retries=self.policy.max_retries,
            max_rate_limit_retries=self.policy.max_rate_limit_retries,
            provider=self.spec.provider,
            observe=self.calls,
        )

    def _attempt(
        self, request: ChatRequest, *, expected: str | None, case_id: str, trial: int, attempt: int
    ) -> Awaitable[Completion]:
        if self._sandbox is not None:
            return complete_sandbox(
                request,
                expected=expected,
                seed=self.seed,
                case_id=case_id,
                trial=trial,
                params=self._sandbox,
                attempt=attempt,
                latency_scale=self.policy.sandbox_latency_scale,
            )
        if self.credential is None:
            raise ValueError("a provider target needs a credential")
        return adapter_for(self.spec.provider)(self.http, self.credential, request)
