"""The sandbox provider: deterministic simulated models with accuracy, latency and injected errors."""

from __future__ import annotations

import statistics

import pytest
from pydantic import ValidationError

from shared.providers.errors import ErrorKind, ProviderError
from shared.providers.models import ChatRequest, Completion, FinishReason, GenerationParams
from shared.providers.registry import PROVIDER_NAMES, SANDBOX, adapter_for, is_simulated
from shared.providers.retries import call_with_retries
from shared.providers.sandbox import (
    BUILTIN_MODELS,
    SandboxParams,
    complete_sandbox,
    sandbox_call,
    sandbox_params,
    wrong_answer,
)
from tests.providers.builders import chat


class Sleeps:
    """An injectable sleep that records and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def call(
    model: str = "sandbox/fast-accurate",
    *,
    expected: str | None = "B",
    seed: int = 7,
    case_id: str = "case-1",
    trial: int = 0,
    params: SandboxParams | None = None,
    request: ChatRequest | None = None,
    attempt: int = 0,
    latency_scale: float = 1.0,
    sleep: Sleeps | None = None,
) -> Completion:
    return await complete_sandbox(
        request or chat(model),
        expected=expected,
        seed=seed,
        case_id=case_id,
        trial=trial,
        params=params,
        attempt=attempt,
        latency_scale=latency_scale,
        sleep=sleep or Sleeps(),
    )


async def test_same_inputs_same_outputs() -> None:
    first = await call(case_id="q-17", trial=2)
    second = await call(case_id="q-17", trial=2)
    assert first == second
    other_trials = [await call(case_id="q-17", trial=trial) for trial in range(5)]
    assert len({completion.latency_ms for completion in other_trials}) == 5
    other_seed = await call(case_id="q-17", trial=2, seed=8)
    assert other_seed.latency_ms != first.latency_ms


async def test_results_are_labeled_simulated() -> None:
    completion = await call()
    assert completion.model_version == "sandbox-fast-accurate-sim-1"
    assert completion.usage.raw is not None
    assert completion.usage.raw["simulated"] is True
    assert completion.request_id is not None
    assert completion.request_id.startswith("sim-")
    assert is_simulated(SANDBOX)
    assert not is_simulated("openai")
    assert SANDBOX not in PROVIDER_NAMES
    with pytest.raises(KeyError, match="complete_sandbox"):
        adapter_for(SANDBOX)
    custom = await call("sandbox/mine", params=SandboxParams(accuracy=0.5))
    assert custom.model_version is not None
    assert custom.model_version.startswith("sandbox-mine-sim-1+p")


async def test_accuracy_converges() -> None:
    params = SandboxParams(accuracy=0.8)
    correct = 0
    for index in range(1000):
        completion = await call("sandbox/acc", params=params, expected="C", case_id=f"case-{index}")
        correct += completion.text == "C"
    assert 750 <= correct <= 850


async def test_accuracy_does_not_move_latency() -> None:
    sloppy = await call(params=SandboxParams(accuracy=0.1))
    careful = await call(params=SandboxParams(accuracy=0.99))
    assert sloppy.latency_ms == careful.latency_ms


@pytest.mark.parametrize(
    ("expected", "allowed"),
    [
        ("B", {"A", "C", "D"}),
        ("b", {"a", "c", "d"}),
        ("(C)", {"(A)", "(B)", "(D)"}),
        ("F", {"A", "B", "C", "D", "E"}),
    ],
)
def test_wrong_choice_is_another_letter(expected: str, allowed: set[str]) -> None:
    answers = {wrong_answer(expected, u / 100) for u in range(100)}
    assert answers == allowed


@pytest.mark.parametrize("expected", ["42", "-1", "3.50", "0.0000001", "1000000"])
def test_wrong_number_is_another_number_of_the_same_shape(expected: str) -> None:
    for u in (0.0, 0.3, 0.5, 0.7, 0.99):
        answer = wrong_answer(expected, u)
        assert float(answer) != float(expected)
        assert len(answer.partition(".")[2]) == len(expected.partition(".")[2])


@pytest.mark.parametrize("expected", ["Paris", "the Eiffel Tower", "x", "", "  spaced  "])
def test_wrong_text_differs(expected: str) -> None:
    for u in (0.0, 0.5, 0.99):
        assert wrong_answer(expected, u).strip().lower() != expected.strip().lower()


async def test_zero_accuracy_is_always_wrong() -> None:
    params = SandboxParams(accuracy=0)
    for index in range(50):
        completion = await call("sandbox/x", params=params, expected="17", case_id=str(index))
        assert completion.text != "17"


async def test_injected_error_rates_and_kinds() -> None:
    params = SandboxParams(error_rate_429=0.1, retry_after_s=3, error_rate_500=0.05, timeout_rate=0.05, timeout_s=900)
    sleeps = Sleeps()
    errors: list[tuple[ProviderError, float]] = []
    attempts = 4000
    for attempt in range(attempts):
        try:
            await call("sandbox/x", params=params, case_id=f"c{attempt % 100}", attempt=attempt, sleep=sleeps)
        except ProviderError as caught:
            errors.append((caught, sleeps.calls[-1]))
    kinds = [error.kind for error, _ in errors]
    assert 0.08 < kinds.count(ErrorKind.RATE_LIMIT) / attempts < 0.12
    assert 0.035 < kinds.count(ErrorKind.TRANSIENT) / attempts < 0.065
    assert 0.035 < kinds.count(ErrorKind.TIMEOUT) / attempts < 0.065
    for error, slept in errors:
        assert error.provider == "sandbox"
        assert error.reason is not None
        assert error.reason.startswith("simulated_")
        assert error.request_id is not None
        if error.kind is ErrorKind.RATE_LIMIT:
            assert (error.status, error.retry_after_s, error.retryable) == (429, 3, True)
        elif error.kind is ErrorKind.TRANSIENT:
            assert (error.status, error.retry_after_s, error.retryable) == (500, None, True)
        else:
            assert (error.kind, error.status) == (ErrorKind.TIMEOUT, None)
            assert slept == 900  # hung past any budget before giving up


async def test_retries_draw_a_fresh_outcome() -> None:
    sleeps = Sleeps()
    params = SandboxParams(error_rate_429=0.5, retry_after_s=0.25)
    retried = []
    for index in range(40):
        fn = sandbox_call(
            chat("sandbox/x"), expected="A", seed=1, case_id=str(index), trial=0, params=params, sleep=sleeps
        )
        completion = await call_with_retries(fn, budget_s=60, max_retries=20, sleep=sleeps, provider="sandbox")
        retried.append(completion.retries)
        # The answer does not depend on the attempt that succeeded.
        reliable = params.model_copy(update={"error_rate_429": 0})
        alone = await call("sandbox/x", params=reliable, case_id=str(index), seed=1, expected="A")
        assert completion.text == alone.text
    assert any(retries > 0 for retries in retried)
    assert 0.25 in sleeps.calls  # Retry-After honored


async def test_a_hang_hits_the_call_budget() -> None:
    fn = sandbox_call(
        chat("sandbox/x"), expected="A", seed=1, case_id="c", trial=0, params=SandboxParams(timeout_rate=1)
    )
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(fn, budget_s=0.05, max_retries=3, provider="sandbox")
    assert caught.value.kind is ErrorKind.TIMEOUT


async def test_latency_scaling_streaming_and_sleeps() -> None:
    sleeps = Sleeps()
    full = await call(sleep=sleeps)
    assert full.ttft_ms is not None
    assert 0 < full.ttft_ms < full.latency_ms
    assert sum(sleeps.calls) == pytest.approx(full.latency_ms / 1000)
    half = await call(latency_scale=0.5)
    assert half.latency_ms == pytest.approx(full.latency_ms / 2)
    assert half.ttft_ms == pytest.approx(full.ttft_ms / 2)
    unstreamed_sleeps = Sleeps()
    unstreamed = await call(request=chat("sandbox/fast-accurate", stream=False), sleep=unstreamed_sleeps)
    assert unstreamed.ttft_ms is None
    assert unstreamed.latency_ms == full.latency_ms
    assert unstreamed_sleeps.calls == [pytest.approx(full.latency_ms / 1000)]


async def test_latency_distribution_matches_median_and_p95() -> None:
    params = SandboxParams(latency_ms=200, latency_p95_ms=1000)
    latencies = sorted([(await call("sandbox/x", params=params, case_id=str(i))).latency_ms for i in range(2000)])
    assert statistics.median(latencies) == pytest.approx(200, rel=0.1)
    assert latencies[int(0.95 * len(latencies))] == pytest.approx(1000, rel=0.15)


async def test_token_counts() -> None:
    prompt = "x" * 400
    params = SandboxParams(output_tokens=100, reasoning_tokens=50)
    completion = await call("sandbox/x", params=params, request=chat("sandbox/x", prompt=prompt))
    usage = completion.usage
    assert usage.input_tokens == 100
    assert usage.reasoning_tokens is not None
    assert 25 <= usage.reasoning_tokens <= 75
    assert usage.output_tokens is not None
    assert 50 + usage.reasoning_tokens <= usage.output_tokens <= 150 + usage.reasoning_tokens
    assert (usage.cached_input_tokens, usage.cache_write_tokens) == (0, 0)


async def test_max_tokens_cuts_the_answer() -> None:
    request = chat("sandbox/x", params=GenerationParams(max_tokens=3))
    params = SandboxParams(accuracy=1, reasoning_tokens=0)
    completion = await call("sandbox/x", params=params, request=request, expected="a long expected answer text")
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.usage.output_tokens == 3
    assert completion.text == "a long expec"


def test_params_from_a_target() -> None:
    tuned = sandbox_params("sandbox/slow-careful", {"accuracy": 0.5, "error_rate_429": 0.1})
    assert tuned.accuracy == 0.5
    assert tuned.latency_ms == BUILTIN_MODELS["sandbox/slow-careful"].latency_ms
    assert sandbox_params("sandbox/flaky") is BUILTIN_MODELS["sandbox/flaky"]
    assert sandbox_params("sandbox/new", {"latency_ms": 200}) == SandboxParams(latency_ms=200)
    with pytest.raises(ValidationError, match="extra"):
        sandbox_params("sandbox/x", {"acuracy": 0.9})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        sandbox_params("sandbox/x", {"accuracy": 1.5})
    with pytest.raises(ValidationError, match="must not exceed 1"):
        sandbox_params("sandbox/x", {"error_rate_429": 0.6, "error_rate_500": 0.6})
    with pytest.raises(ValidationError, match="at least latency_ms"):
        sandbox_params("sandbox/x", {"latency_ms": 500, "latency_p95_ms": 100})


async def test_unknown_models_are_request_errors() -> None:
    with pytest.raises(ProviderError, match="unknown sandbox model") as caught:
        await call("sandbox/nope")
    assert caught.value.kind is ErrorKind.REQUEST
    with pytest.raises(ProviderError, match="sandbox/<name>"):
        await call("gpt-4o", params=SandboxParams())


async def test_builtin_profiles_differ() -> None:
    assert set(BUILTIN_MODELS) >= {
        "sandbox/fast-accurate",
        "sandbox/cheap-sloppy",
        "sandbox/slow-careful",
        "sandbox/flaky",
    }
    accuracies = {params.accuracy for params in BUILTIN_MODELS.values()}
    latencies = {params.latency_ms for params in BUILTIN_MODELS.values()}
    assert len(accuracies) == len(latencies) == len(BUILTIN_MODELS)
