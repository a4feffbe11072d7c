"""Find the functions of an app and call them the way the Python worker does.

`discover` reads the app's function metadata once (the same function.json view the Functions host
receives); `Invoker` calls a user function with its trigger argument bound by name and `context`
when the function asks for one, awaiting async functions on the loop and running sync ones in a
thread pool, and logs each invocation's outcome.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import Enum
from typing import Any

import azure.functions as func

from shared.observability.context import log_context

log = logging.getLogger("tokenroute.devhost")

HTTP_TRIGGER = "httpTrigger"
QUEUE_TRIGGER = "queueTrigger"
TIMER_TRIGGER = "timerTrigger"
SUPPORTED_TRIGGERS = (HTTP_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER)

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


class HostError(RuntimeError):
    """The app cannot be hosted as it is (bad metadata, missing setting); the message says why."""


@dataclass(frozen=True)
class FunctionSpec:
    """One hostable function: its name, trigger binding (function.json form) and Python callable."""

    name: str
    trigger_type: str
    trigger: Mapping[str, Any]
    trigger_arg: str
    user_function: Callable[..., Any]
    wants_context: bool
    is_async: bool
    directory: str

    def setting(self, key: str, default: Any = None) -> Any:
        """A trigger property by its function.json name (e.g. `queueName`), enums as their values."""
        value = self.trigger.get(key, default)
        return value.value if isinstance(value, Enum) else value


def resolve_setting_references(text: str, environ: Mapping[str, str]) -> str:
    """Replace `%NAME%` with the app setting NAME, as the host does in binding properties."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise HostError(f"binding expression {text!r} refers to app setting {name!r}, which is not set")
        return environ[name]

    return _SETTING_REFERENCE.sub(replace, text)


def discover(app: func.FunctionRegister, environ: Mapping[str, str]) -> list[FunctionSpec]:
    """The app's functions that this host can run.

    Calls `app.get_functions()` once: it may be called only once per app object. A function with an
    unsupported trigger or binding is logged and left out; so is one disabled with the app setting
    `AzureWebJobs.<name>.Disabled`, which the Functions host honors too.
    """
    specs = []
    for function in app.get_functions():
        name = function.get_function_name() or function.get_user_function().__name__
        if environ.get(f"AzureWebJobs.{name}.Disabled", "").lower() in ("true", "1"):
            log.info("function %s is disabled by AzureWebJobs.%s.Disabled", name, name)
            continue
        spec = _spec(name, function)
        if spec is not None:
            specs.append(spec)
    return specs


def _spec(name: str, function: Any) -> FunctionSpec | None:
    trigger = function.get_trigger()
    if trigger is None:
        log.error("function %s has no trigger; skipped", name)
        return None
    trigger_dict = dict(trigger.get_dict_repr())
    trigger_type = str(trigger_dict.get("type"))
    if trigger_type not in SUPPORTED_TRIGGERS:
        log.warning("function %s: trigger %s is not supported by the local host; skipped", name, trigger_type)
        return None
    for binding in function.get_bindings():
        if binding is trigger:
            continue
        description = binding.get_dict_repr()
        # The HTTP output named $return is the function's return value, which the host handles.
        if description.get("type") == "http" and description.get("name") == "$return":
            continue
        log.error(
            "function %s: %s binding %r is not supported by the local host; skipped",
            name,
            description.get("type"),
            description.get("name"),
        )
        return None
    user_function = function.get_user_function()
    parameters = inspect.signature(user_function).parameters
    trigger_arg = str(trigger_dict.get("name"))
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if trigger_arg not in parameters and not takes_kwargs:
        log.error("function %s: trigger argument %r is not a parameter of %s; skipped", name, trigger_arg, name)
        return None
    unbound = [
        p.name
        for p in parameters.values()
        if p.name not in (trigger_arg, "context")
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    if unbound:
        log.error("function %s: parameters %s have no binding; skipped", name, unbound)
        return None
    script = getattr(function, "function_script_file", None) or ""
    return FunctionSpec(
        name=name,
        trigger_type=trigger_type,
        trigger=trigger_dict,
        trigger_arg=trigger_arg,
        user_function=user_function,
        wants_context="context" in parameters,
        is_async=inspect.iscoroutinefunction(user_function),
        directory=os.path.dirname(os.path.abspath(script)) if script else os.getcwd(),
    )


class _TraceContext(func._abc.TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._trace_parent = trace_parent
        self._trace_state = trace_state

    @property
    def trace_parent(self) -> str:
        return self._trace_parent

    @property
    def trace_state(self) -> str:
        return self._trace_state

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func._abc.RetryContext):
    def __init__(self, retry_count: int, max_retry_count: int) -> None:
        self._retry_count = retry_count
        self._max_retry_count = max_retry_count

    @property
    def retry_count(self) -> int:
        return self._retry_count

    @property
    def max_retry_count(self) -> int:
        return self._max_retry_count

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The `context` argument: a concrete `azure.functions.Context` for one invocation."""

    def __init__(
        self,
        function_name: str,
        function_directory: str,
        *,
        invocation_id: str | None = None,
        trace_parent: str = "",
        trace_state: str = "",
        retry_count: int = 0,
        max_retry_count: int = 0,
    ) -> None:
        self._invocation_id = invocation_id or str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace_context = _TraceContext(trace_parent, trace_state)
        self._retry_context = _RetryContext(retry_count, max_retry_count)
        # The worker sets invocation_id here so that logs from user threads can be attributed.
        self._thread_local_storage = threading.local()
        self._thread_local_storage.invocation_id = self._invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local_storage

    @property
    def trace_context(self) -> func._abc.TraceContext:
        return self._trace_context

    @property
    def retry_context(self) -> func._abc.RetryContext:
        return self._retry_context


class Invoker:
    """Calls user functions: async ones on the running loop, sync ones in `executor`."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._busy = 0
        self._busy_lock = threading.Lock()

    @property
    def busy_threads(self) -> int:
        """Sync functions still running in threads (a cancelled invocation's thread runs on)."""
        with self._busy_lock:
            return self._busy

    def _run_sync(self, function: Callable[..., Any], kwargs: dict[str, Any], context: InvocationContext) -> Any:
        with self._busy_lock:
            self._busy += 1
        # As the worker does: thread-local storage is per thread, so it is filled in the thread that runs.
        context.thread_local_storage.invocation_id = context.invocation_id
        try:
            return function(**kwargs)
        finally:
            with self._busy_lock:
                self._busy -= 1

    async def invoke(self, spec: FunctionSpec, trigger_value: Any, context: InvocationContext, reason: str) -> Any:
        """Run one invocation and return the function's result; its exception propagates after a log line."""
        kwargs: dict[str, Any] = {spec.trigger_arg: trigger_value}
        if spec.wants_context:
            kwargs["context"] = context
        started = time.monotonic()
        with log_context(function=spec.name):
            log.debug("Executing 'Functions.%s' (Reason='%s', Id=%s)", spec.name, reason, context.invocation_id)
            try:
                if spec.is_async:
                    result = await spec.user_function(**kwargs)
                else:
                    # copy_context carries the log context (function name) into the worker thread.
                    call = functools.partial(
                        contextvars.copy_context().run, self._run_sync, spec.user_function, kwargs, context
                    )
                    result = await asyncio.get_running_loop().run_in_executor(self.executor, call)
            except asyncio.CancelledError:
                log.warning("Executed 'Functions.%s' (Cancelled, Id=%s)", spec.name, context.invocation_id)
                raise
            except Exception:
                elapsed = _elapsed_ms(started)
                log.exception(
                    "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
                    spec.name,
                    context.invocation_id,
                    elapsed,
                    extra={"elapsed_ms": elapsed},
                )
                raise
            elapsed = _elapsed_ms(started)
            # The app's own middleware logs each HTTP request; a second INFO line per request is noise.
            log.log(
                logging.DEBUG if spec.trigger_type == HTTP_TRIGGER else logging.INFO,
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
                spec.name,
                context.invocation_id,
                elapsed,
                extra={"elapsed_ms": elapsed},
            )
        return result


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
