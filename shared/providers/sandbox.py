"""The `sandbox` provider: simulated models for demos, tests and benchmarks without keys. No HTTP.

Everything a sandbox call returns is drawn from a hash of (simulation version, model, seed, case id,
trial), so the same inputs give the same answer, latency and token counts on every run and every
machine (SHA-256, not `random`, whose algorithms may change between Python versions). Each aspect has
its own draw, so changing the accuracy does not move the latencies. Injected errors also depend on the
attempt number, so a retried call can succeed, as with a real provider.

Simulated results are labeled wherever they appear: the model id starts with `sandbox/`,
`model_version` ends in `-sim-<version>` (e.g. `sandbox-fast-accurate-sim-1`), request ids start with
`sim-`, and `usage.raw` carries `"simulated": true` with the draw's inputs. Errors are the same
ProviderErrors the HTTP adapters raise, with `reason` starting with `simulated_`.

Timings are simulated, not measured: the call sleeps (through the injectable `sleep`) for the drawn
latency and reports the drawn numbers, so results are reproducible even when tests skip the sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import ChatRequest, Completion, FinishReason, MonotonicClock, Usage

PROVIDER = "sandbox"
MODEL_PREFIX = "sandbox/"
# Bump when a change moves any draw: model_version carries it, so old and new results never mix unseen.
SIM_VERSION = 1

Sleep = Callable[[float], Awaitable[None]]

_Z95 = NormalDist().inv_cdf(0.95)
_CHARS_PER_TOKEN = 4
_CHOICE = re.compile(r"(\(?)([A-Za-z])(\)?\.?)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class SandboxParams(BaseModel):
    """How one simulated model behaves. Latencies are per call, before the run's `latency_scale`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accuracy: float = Field(default=0.8, ge=0, le=1, description="chance of answering the expected text")
    latency_ms: float = Field(default=500, gt=0, description="median total latency (lognormal)")
    latency_p95_ms: float | None = Field(default=None, gt=0, description="95th percentile; None: 2 x median")
    ttft_fraction: float = Field(default=0.3, gt=0, lt=1, description="time to first token / total latency")
    output_tokens: int = Field(default=64, ge=1, description="typical visible output tokens (+/- 50%)")
    reasoning_tokens: int = Field(default=0, ge=0, description="typical hidden reasoning tokens (+/- 50%)")
    error_rate_429: float = Field(default=0, ge=0, le=1)
    retry_after_s: float = Field(default=1.0, ge=0, description="Retry-After sent with a simulated 429")
    error_rate_500: float = Field(default=0, ge=0, le=1)
    timeout_rate: float = Field(default=0, ge=0, le=1, description="chance the call hangs for `timeout_s`")
    timeout_s: float = Field(default=600, gt=0, description="how long a hang lasts: past any call budget")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.latency_p95_ms is not None and self.latency_p95_ms < self.latency_ms:
            raise ValueError("latency_p95_ms must be at least latency_ms (the median)")
        if self.error_rate_429 + self.error_rate_500 + self.timeout_rate > 1:
            raise ValueError("error_rate_429 + error_rate_500 + timeout_rate must not exceed 1")
        return self


# Distinct quality / latency / reliability profiles, so a demo leaderboard has trade-offs to show
# (their made-up prices are in shared/pricing/prices.json, marked simulated).
BUILTIN_MODELS: Mapping[str, SandboxParams] = MappingProxyType(
    {
        "sandbox/fast-accurate": SandboxParams(
            accuracy=0.9, latency_ms=350, latency_p95_ms=800, ttft_fraction=0.2, output_tokens=48, error_rate_429=0.01
        ),
        "sandbox/cheap-sloppy": SandboxParams(
            accuracy=0.6, latency_ms=250, latency_p95_ms=600, ttft_fraction=0.25, output_tokens=96, error_rate_500=0.01
        ),
        "sandbox/slow-careful": SandboxParams(
            accuracy=0.97,
            latency_ms=3000,
            latency_p95_ms=7000,
            ttft_fraction=0.7,
            output_tokens=64,
            reasoning_tokens=800,
        ),
        "sandbox/flaky": SandboxParams(
            accuracy=0.8,
            latency_ms=700,
            latency_p95_ms=4000,
            output_tokens=64,
            error_rate_429=0.12,
            retry_after_s=2,
            error_rate_500=0.05,
            timeout_rate=0.02,
        ),
    }
)


def is_sandbox_model(model: str) -> bool:
    """Whether `model` names a simulated model (`sandbox/...`)."""
    return model.startswith(MODEL_PREFIX) and len(model) > len(MODEL_PREFIX)


def sandbox_params(model: str, overrides: Mapping[str, Any] | None = None) -> SandboxParams:
    """The parameters of `model`: its built-in profile (or the defaults) with a target's `overrides` on top.

    `overrides` is the target's params as stored, e.g. `{"accuracy": 0.9, "error_rate_429": 0.1}`;
    unknown keys and out-of-range values raise pydantic's ValidationError (a ValueError).
    """
    base = BUILTIN_MODELS.get(model)
    if not overrides:
        return base if base is not None else SandboxParams()
    merged = {**(base.model_dump() if base is not None else {}), **overrides}
    return SandboxParams.model_validate(merged)


def _digest(*parts: object) -> bytes:
    # JSON keeps the parts apart unambiguously ("a", "bc" differs from "ab", "c").
    return hashlib.sha256(json.dumps([SIM_VERSION, *parts], default=str).encode()).digest()


def _uniform(*parts: object) -> float:
    """A number in (0, 1), fixed by `parts`."""
    return (int.from_bytes(_digest(*parts)[:8], "big") + 0.5) / 2.0**64


def _around(typical: int, u: float) -> int:
    """`typical` +/- 50%, at least 1 when typical is."""
    return 0 if typical == 0 else max(1, round(typical * (0.5 + u)))


def _model_version(model: str, params: SandboxParams) -> str:
    version = f"{model.replace('/', '-')}-sim-{SIM_VERSION}"
    if BUILTIN_MODELS.get(model) != params:
        # Custom parameters change every draw but the answers: say so, reproducibly.
        version += "+p" + hashlib.sha256(params.model_dump_json().encode()).hexdigest()[:8]
    return version


def wrong_answer(expected: str, u: float) -> str:
    """A plausible wrong answer: another choice letter, a nearby number, or a perturbed string."""
    text = expected.strip()
    if not text:
        return "I don't know."
    if choice := _CHOICE.fullmatch(text):
        opening, letter, closing = choice.groups()
        pool = [chr(code) for code in range(ord("A"), max(ord("D"), ord(letter.upper())) + 1)]
        others = [candidate for candidate in pool if candidate != letter.upper()]
        picked = others[int(u * len(others))]
        return opening + (picked if letter.isupper() else picked.lower()) + closing
    if _NUMBER.fullmatch(text):
        # Off by a little or by an order of the last digit, with the expected number of decimals.
        decimals = len(text.partition(".")[2])
        delta = (-2, -1, 1, 2, 10)[int(u * 5)]
        return format(Decimal(text) + Decimal(delta).scaleb(-decimals), "f")
    words = text.split()
    if len(words) > 1:
        del words[int(u * len(words))]
        return " ".join(words)
    if len(text) > 1:
        index = int(u * len(text))
        return text[:index] + text[index + 1 :]
    return text * 2


def _answer(model: str, seed: int, case_id: str, trial: int, expected: str | None, accuracy: float) -> str:
    if expected is None:
        return f"Simulated answer from {model} to case {case_id}."
    if _uniform(model, seed, case_id, trial, "correct") < accuracy:
        return expected
    return wrong_answer(expected, _uniform(model, seed, case_id, trial, "wrong"))


def _latency_ms(params: SandboxParams, u: float) -> float:
    p95 = params.latency_p95_ms if params.latency_p95_ms is not None else 2 * params.latency_ms
    sigma = math.log(p95 / params.latency_ms) / _Z95
    return params.latency_ms * math.exp(sigma * NormalDist().inv_cdf(u))


def _error(
    kind: ErrorKind,
    message: str,
    *,
    status: int | None,
    reason: str,
    request_id: str,
    retry_after_s: float | None = None,
) -> ProviderError:
    return ProviderError(
        kind,
        message,
        provider=PROVIDER,
        status=status,
        reason=reason,
        request_id=request_id,
        retry_after_s=retry_after_s,
    )


async def complete_sandbox(
    request: ChatRequest,
    *,
    expected: str | None,
    seed: int,
    case_id: str,
    trial: int,
    params: SandboxParams | None = None,
    attempt: int = 0,
    latency_scale: float = 1.0,
    sleep: Sleep = asyncio.sleep,
    clock: MonotonicClock | None = None,
) -> Completion:
    """One simulated call of `request.model` (`sandbox/...`), answering `expected` with its accuracy.

    `params` None means the built-in profile of the model (a REQUEST error for an unknown name).
    `attempt` is the retry number: injected errors are drawn per attempt, everything else per
    (model, seed, case, trial). `latency_scale` multiplies the simulated latency (tests use a small
    one). Raises ProviderError `rate_limit` (429 with `retry_after_s`), `transient` (500) or `timeout`
    (after sleeping `timeout_s`, past any call budget). `clock` is accepted for call-shape parity
    with the HTTP adapters and not used: the reported timings are the simulated ones.
    """
    del clock
    model = request.model
    if not is_sandbox_model(model):
        raise ProviderError(
            ErrorKind.REQUEST, f"sandbox models are named {MODEL_PREFIX}<name>, not {model!r}", provider=PROVIDER
        )
    if params is None:
        if model not in BUILTIN_MODELS:
            known = ", ".join(sorted(BUILTIN_MODELS))
            raise ProviderError(
                ErrorKind.REQUEST,
                f"unknown sandbox model {model!r}: give params, or use one of {known}",
                provider=PROVIDER,
            )
        params = BUILTIN_MODELS[model]
    if not latency_scale > 0:
        raise ValueError("latency_scale must be positive")
    draw = (model, seed, case_id, trial)
    request_id = "sim-" + _digest(*draw, attempt, "request").hex()[:24]
    latency_ms = _latency_ms(params, _uniform(*draw, "latency")) * latency_scale
    ttft_ms = latency_ms * params.ttft_fraction

    failure = _uniform(*draw, attempt, "error")
    if failure < params.error_rate_429:
        await sleep(ttft_ms / 1000)
        raise _error(
            ErrorKind.RATE_LIMIT,
            "simulated rate limit (sandbox error injection)",
            status=429,
            reason="simulated_rate_limit",
            request_id=request_id,
            retry_after_s=params.retry_after_s,
        )
    failure -= params.error_rate_429
    if failure < params.error_rate_500:
        await sleep(ttft_ms / 1000)
        raise _error(
            ErrorKind.TRANSIENT,
            "simulated server error (sandbox error injection)",
            status=500,
            reason="simulated_server_error",
            request_id=request_id,
        )
    failure -= params.error_rate_500
    if failure < params.timeout_rate:
        # A real hang: the caller's budget (asyncio.timeout in call_with_retries) cuts this sleep short.
        await sleep(params.timeout_s)
        raise _error(
            ErrorKind.TIMEOUT,
            f"simulated timeout: no answer within {params.timeout_s:g}s (sandbox error injection)",
            status=None,
            reason="simulated_timeout",
            request_id=request_id,
        )

    text = _answer(model, seed, case_id, trial, expected, params.accuracy)
    prompt_chars = sum(len(message.content) for message in request.messages)
    input_tokens = max(1, math.ceil(prompt_chars / _CHARS_PER_TOKEN))
    reasoning = _around(params.reasoning_tokens, _uniform(*draw, "reasoning"))
    visible = max(math.ceil(len(text) / _CHARS_PER_TOKEN), _around(params.output_tokens, _uniform(*draw, "output")))
    finish, finish_raw = FinishReason.STOP, "stop"
    limit = request.params.max_tokens
    if limit is not None and reasoning + visible > limit:
        # Like a real model: reasoning spends the budget first, the answer is cut where it runs out.
        reasoning = min(reasoning, limit)
        visible = limit - reasoning
        text = text[: visible * _CHARS_PER_TOKEN]
        finish, finish_raw = FinishReason.LENGTH, "length"

    if request.stream:
        await sleep(ttft_ms / 1000)
        await sleep((latency_ms - ttft_ms) / 1000)
    else:
        await sleep(latency_ms / 1000)
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=visible + reasoning,
        cached_input_tokens=0,
        reasoning_tokens=reasoning,
        cache_write_tokens=0,
        raw={
            "simulated": True,
            "sim_version": SIM_VERSION,
            "model": model,
            "seed": seed,
            "case_id": case_id,
            "trial": trial,
            "attempt": attempt,
            "latency_scale": latency_scale,
        },
    )
    return Completion(
        text=text,
        finish_reason=finish,
        finish_reason_raw=finish_raw,
        usage=usage,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms if request.stream else None,
        request_id=request_id,
        response_id="sim-" + _digest(*draw, "response").hex()[:24],
        model_version=_model_version(model, params),
    )


def sandbox_call(
    request: ChatRequest,
    *,
    expected: str | None,
    seed: int,
    case_id: str,
    trial: int,
    params: SandboxParams | None = None,
    latency_scale: float = 1.0,
    sleep: Sleep = asyncio.sleep,
) -> Callable[[], Awaitable[Completion]]:
    """A zero-argument call for `retries.call_with_retries`: each attempt gets the next attempt number."""
    attempts = 0

    async def call() -> Completion:
        nonlocal attempts
        attempt = attempts
        attempts += 1
        return await complete_sandbox(
            request,
            expected=expected,
            seed=seed,
            case_id=case_id,
            trial=trial,
            params=params,
            attempt=attempt,
            latency_scale=latency_scale,
            sleep=sleep,
        )

    return call
