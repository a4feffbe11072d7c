"""The local Functions host: one object that serves an app's HTTP, queue and timer functions.

    host = Host(app, HostConfig.load(Path("host.json")), http_port=7071, connection_lookup=os.environ)
    await host.serve(stop)   # returns after `stop` is set and in-flight work has finished or been released

Shutdown order: stop taking work (HTTP stops accepting, queues stop polling, timers stop
scheduling), give running functions `grace_seconds`, then release what is still running (queue
messages become visible at once) and return.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import logging
import os
import re
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.devhost.connections import queue_client
from shared.devhost.functions import (
    HTTP_TRIGGER,
    QUEUE_TRIGGER,
    TIMER_TRIGGER,
    FunctionSpec,
    HostError,
    Invoker,
    discover,
    resolve_setting_references,
)
from shared.devhost.host_config import HostConfig, HostTuning
from shared.devhost.http_server import HttpDispatcher, HttpRoute, HttpServer
from shared.devhost.queue_listener import POISON_SUFFIX, QueueListener
from shared.devhost.timers import TimerRunner
from shared.schedules.ncrontab import parse_schedule

log = logging.getLogger("tokenroute.devhost")

# prctl(2): set the calling thread's name (at most 15 bytes).
PR_SET_NAME = 15
_QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

__all__ = ["Host", "HostError", "install_stop_signals", "load_app"]


def load_app(target: str) -> func.FunctionRegister:
    """Import `module:attribute` (default attribute `app`) and check it is a Function App."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, func.FunctionRegister):
        raise HostError(f"{target} is not an azure.functions FunctionApp (got {type(app).__name__})")
    return app


def install_stop_signals(stop: asyncio.Event, hurry: asyncio.Event | None = None) -> None:
    """SIGINT/SIGTERM set `stop`; a second signal sets `hurry` (skip the rest of the grace period)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            if hurry is not None:
                log.warning("second %s: not waiting for running functions any longer", signal.Signals(signum).name)
                hurry.set()
            return
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class Host:
    """Hosts one Function App locally; see the module docstring."""

    def __init__(
        self,
        app: func.FunctionRegister,
        config: HostConfig,
        http_port: int = 7071,
        connection_lookup: Mapping[str, str] | None = None,
        *,
        tuning: HostTuning | None = None,
    ) -> None:
        """Read the app's functions (calling `app.get_functions()` once) and check their bindings.

        Raises HostError when a binding cannot work: a bad route template or schedule, a missing
        app setting or storage connection.
        """
        self.app = app
        self.config = config
        self.tuning = tuning or HostTuning()
        self.lookup: Mapping[str, str] = os.environ if connection_lookup is None else connection_lookup
        self.functions: list[FunctionSpec] = discover(app, self.lookup)
        self._user_pool = ThreadPoolExecutor(_user_thread_count(self.lookup), thread_name_prefix="devhost-function")
        # Storage calls get their own threads so that busy sync functions cannot delay lease renewals.
        self._io_pool = ThreadPoolExecutor(
            32, thread_name_prefix="devhost-storage", initializer=name_os_thread, initargs=("devhost-storage",)
        )
        self.invoker = Invoker(self._user_pool)
        self.routes = [HttpRoute.from_spec(spec) for spec in self.functions if spec.trigger_type == HTTP_TRIGGER]
        self.listeners = [self._listener(spec) for spec in self.functions if spec.trigger_type == QUEUE_TRIGGER]
        self.timers = [self._timer(spec) for spec in self.functions if spec.trigger_type == TIMER_TRIGGER]
        self.http = HttpServer(
            HttpDispatcher(
                self.routes,
                config.route_prefix,
                self.invoker,
                max_body_bytes=self.tuning.max_request_body_bytes,
                default_authority=f"127.0.0.1:{http_port}",
            ),
            http_port,
            grace_seconds=self.tuning.grace_seconds,
        )
        self.abandoned_threads = False
        # Set once everything listens: the launcher waits on it before printing a first call to try.
        self.ready = asyncio.Event()

    def _listener(self, spec: FunctionSpec) -> QueueListener:
        queue = resolve_setting_references(str(spec.setting("queueName") or ""), self.lookup)
        if not _QUEUE_NAME.match(queue) or "--" in queue:
            raise HostError(
                f"function {spec.name}: {queue!r} is not a valid queue name "
                "(3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)"
            )
        connection = spec.setting("connection")
        try:
            client = queue_client(connection, queue, self.lookup)
            poison = queue_client(connection, queue + POISON_SUFFIX, self.lookup)
        except (HostError, ValueError) as error:
            raise HostError(f"function {spec.name}: {error}") from error
        return QueueListener(spec, client, poison, self.config.queues, self.tuning, self.invoker, self._io_pool)

    def _timer(self, spec: FunctionSpec) -> TimerRunner:
        expression = resolve_setting_references(str(spec.setting("schedule") or ""), self.lookup)
        try:
            schedule = parse_schedule(expression)
        except ValueError as error:
            raise HostError(f"function {spec.name}: {error}") from error
        return TimerRunner(spec, schedule, self.invoker, run_on_startup=_flag(spec.setting("runOnStartup")))

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP functions (after the server has started)."""
        prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
        return f"http://127.0.0.1:{self.http.port}{prefix}"

    def describe(self) -> list[str]:
        """One line per function: name, trigger and where it listens (after start)."""
        lines = []
        for route in self.routes:
            methods = ",".join(sorted(route.methods))
            lines.append(f"{route.spec.name}: http [{methods}] {self.http_url}/{route.template.template.strip('/')}")
        for listener in self.listeners:
            connection = listener.spec.setting("connection") or "AzureWebJobsStorage"
            lines.append(f"{listener.spec.name}: queue {listener.queue_name} (connection {connection})")
        for timer in self.timers:
            schedule, following = timer.spec.setting("schedule"), timer.next_occurrence().isoformat()
            lines.append(f"{timer.spec.name}: timer {schedule!r}, next {following}")
        return lines

    async def serve(self, stop: asyncio.Event, hurry: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set, then shut down in order (see the module docstring).

        `hurry`, when set during shutdown, ends the grace period early. Raises HostError when
        start-up fails (port taken, storage unreachable).
        """
        timer_stop = asyncio.Event()
        background: list[asyncio.Task[None]] = []
        try:
            await self._prepare_queues()
            await self.http.start()
            background += [asyncio.create_task(listener.run(), name="devhost-poll") for listener in self.listeners]
            background += [asyncio.create_task(timer.run(timer_stop), name="devhost-timer") for timer in self.timers]
            log.info("devhost listening on %s", self.http_url)
            for line in self.describe():
                log.info("function %s", line)
            log.info("devhost ready: %d function(s)", len(self.functions))
            self.ready.set()
            await _until_stop_or_crash(stop, background)
        finally:
            await self._shut_down(timer_stop, background, hurry)

    async def _prepare_queues(self) -> None:
        for listener in self.listeners:
            try:
                await listener.prepare()
            except AzureError as error:
                name, queue = listener.spec.name, listener.queue_name
                raise HostError(f"function {name}: cannot reach queue {queue}: {type(error).__name__}") from error

    async def _shut_down(
        self, timer_stop: asyncio.Event, background: Sequence[asyncio.Task[None]], hurry: asyncio.Event | None
    ) -> None:
        grace = self.tuning.grace_seconds
        log.info("devhost stopping: no new work; waiting up to %g s for running functions", grace)
        self.http.stop_accepting()
        for listener in self.listeners:
            listener.stop_polling()
        timer_stop.set()
        http_done = asyncio.create_task(self.http.wait_stopped())
        hurry_watch = asyncio.create_task(_forward_hurry(hurry, self.http))
        running = [*background, *(task for listener in self.listeners for task in listener.tasks())]
        late = await _wait_all(running, grace, hurry)
        if late:
            log.warning("devhost: %d function(s) still running after the grace period; releasing them", len(late))
        for listener in self.listeners:
            listener.abandon_running()
        for task in background:
            task.cancel()
        # Message tasks now finish quickly: they delete, or make their message visible again.
        remaining = [*background, *(task for listener in self.listeners for task in listener.tasks())]
        await asyncio.gather(*remaining, http_done, return_exceptions=True)
        hurry_watch.cancel()
        await self._shut_down_asgi()
        self.abandoned_threads = self.invoker.busy_threads > 0
        self._user_pool.shutdown(wait=False, cancel_futures=True)
        self._io_pool.shutdown(wait=True)
        log.info("devhost stopped")

    async def _shut_down_asgi(self) -> None:
        # An AsgiFunctionApp sends the ASGI lifespan shutdown from __del__ with asyncio.run, which
        # can hang at interpreter exit; send it here on the running loop instead.
        if isinstance(self.app, func.AsgiFunctionApp) and self.app.startup_task_done:
            try:
                await asyncio.wait_for(self.app.middleware.notify_shutdown(), timeout=10)  # type: ignore[no-untyped-call]
            except Exception:
                log.exception("the ASGI app's shutdown failed")
            self.app.startup_task_done = False


async def _until_stop_or_crash(stop: asyncio.Event, background: Sequence[asyncio.Task[None]]) -> None:
    """Wait for `stop`; a background task that ends on its own is a bug and stops the host."""
    stop_wait = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([stop_wait, *background], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_wait.cancel()
    for task in done:
        if task is not stop_wait:
            error = task.exception()
            raise HostError(f"{task.get_name()} ended unexpectedly: {error!r}") from error


async def _wait_all(tasks: Sequence[asyncio.Task[None]], seconds: float, hurry: asyncio.Event | None) -> list[Any]:
    """Wait until all `tasks` end, `seconds` pass or `hurry` is set; return those still running."""
    if tasks:
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(asyncio.wait(tasks))]
        if hurry is not None:
            waiters.append(asyncio.ensure_future(hurry.wait()))
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    return [task for task in tasks if not task.done()]


async def _forward_hurry(hurry: asyncio.Event | None, http: HttpServer) -> None:
    if hurry is not None:
        await hurry.wait()
        http.hurry()


def name_os_thread(name: str) -> None:
    """Give the calling thread an OS-level name (Linux), so /proc and profilers can tell the host's
    own storage threads from the worker's (`bench/run_pipeline.py` reports their CPU apart)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _user_thread_count(lookup: Mapping[str, str]) -> int:
    # The Python worker's own setting; its default is the thread pool's default.
    configured = lookup.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return min(32, (os.cpu_count() or 1) + 4)
