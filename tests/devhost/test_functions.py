"""Reading an app's functions: get_functions() once, supported triggers, bindings, settings, errors."""

from __future__ import annotations

import logging
import re
from typing import Any

import azure.functions as func
import pytest

from shared.devhost.functions import HostError, discover, resolve_setting_references
from shared.devhost.host import Host, load_app
from shared.devhost.host_config import HostConfig


class CountingApp(func.FunctionApp):
    """Counts get_functions() calls: the SDK allows one per app object."""

    calls = 0

    def get_functions(self) -> Any:
        self.calls += 1
        return super().get_functions()


def build_app() -> CountingApp:
    app = CountingApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="hello")
    def hello(req: func.HttpRequest) -> str:
        return "hi"

    @app.queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%", connection="AzureWebJobsStorage")
    async def job(msg: func.QueueMessage, context: func.Context) -> None:
        return None

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=True)
    def tick(timer: func.TimerRequest) -> None:
        return None

    @app.blob_trigger(arg_name="blob", path="uploads/{name}", connection="AzureWebJobsStorage")
    def on_blob(blob: func.InputStream) -> None:
        return None

    @app.queue_trigger(arg_name="msg", queue_name="in", connection="AzureWebJobsStorage")
    @app.queue_output(arg_name="out", queue_name="out", connection="AzureWebJobsStorage")
    def relay(msg: func.QueueMessage, out: func.Out[str]) -> None:
        return None

    return app


def test_discover_reads_supported_functions_once(caplog: pytest.LogCaptureFixture) -> None:
    app = build_app()
    with caplog.at_level(logging.INFO, logger="tokenroute.devhost"):
        specs = {spec.name: spec for spec in discover(app, {})}
    assert app.calls == 1
    assert set(specs) == {"hello", "job", "tick"}
    assert "trigger blobTrigger is not supported" in caplog.text
    assert "queue binding 'out' is not supported" in caplog.text

    assert (specs["hello"].trigger_type, specs["hello"].is_async, specs["hello"].wants_context) == (
        "httpTrigger",
        False,
        False,
    )
    assert (specs["job"].trigger_arg, specs["job"].is_async, specs["job"].wants_context) == ("msg", True, True)
    assert specs["job"].setting("queueName") == "%JOBS_QUEUE%"
    assert specs["tick"].setting("runOnStartup") is True


def test_disabled_functions_are_left_out() -> None:
    names = [spec.name for spec in discover(build_app(), {"AzureWebJobs.hello.Disabled": "true"})]
    assert names == ["job", "tick"]


def test_setting_references() -> None:
    assert resolve_setting_references("%A%-%B%", {"A": "x", "B": "y"}) == "x-y"
    assert resolve_setting_references("plain", {}) == "plain"
    with pytest.raises(HostError, match="app setting 'A', which is not set"):
        resolve_setting_references("%A%", {})


def test_host_reports_bad_bindings_before_serving() -> None:
    with pytest.raises(HostError, match="JOBS_QUEUE"):
        Host(build_app(), HostConfig(), http_port=0, connection_lookup={})

    bad_schedule = func.FunctionApp()

    @bad_schedule.timer_trigger(schedule="61 * * * * *", arg_name="timer")
    def tick(timer: func.TimerRequest) -> None:
        return None

    with pytest.raises(HostError, match=re.escape("function tick: NCRONTAB '61 * * * * *': second value 61")):
        Host(bad_schedule, HostConfig(), http_port=0, connection_lookup={})

    bad_route = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @bad_route.route(route="items/{id:number}")
    def item(req: func.HttpRequest) -> str:
        return ""

    with pytest.raises(
        HostError, match=re.escape("function item: route 'items/{id:number}': unknown route constraint")
    ):
        Host(bad_route, HostConfig(), http_port=0, connection_lookup={})


def test_missing_storage_connection_is_named() -> None:
    def app() -> func.FunctionApp:  # a fresh app each time: get_functions() runs once per app object
        other = func.FunctionApp()

        @other.queue_trigger(arg_name="msg", queue_name="jobs", connection="OtherStorage")
        def job(msg: func.QueueMessage) -> None:
            return None

        return other

    dev = "UseDevelopmentStorage=true"
    with pytest.raises(HostError, match="function job: storage connection 'OtherStorage' is not set"):
        Host(app(), HostConfig(), http_port=0, connection_lookup={"AzureWebJobsStorage": dev})
    with pytest.raises(HostError, match="function job: Connection string is either blank or malformed"):
        Host(app(), HostConfig(), http_port=0, connection_lookup={"OtherStorage": "nonsense"})
    # The host's fallback: NAME, then AzureWebJobsNAME.
    host = Host(app(), HostConfig(), http_port=0, connection_lookup={"AzureWebJobsOtherStorage": dev})
    assert [listener.queue_name for listener in host.listeners] == ["jobs"]


@pytest.mark.parametrize("queue", ["Jobs", "jo", "jobs--x", "-jobs", "jobs_x"])
def test_invalid_queue_names_are_refused(queue: str) -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name=queue, connection="AzureWebJobsStorage")
    def job(msg: func.QueueMessage) -> None:
        return None

    with pytest.raises(HostError, match="is not a valid queue name"):
        Host(app, HostConfig(), http_port=0, connection_lookup={"AzureWebJobsStorage": "UseDevelopmentStorage=true"})


def test_load_app() -> None:
    assert isinstance(load_app("tests.devhost.apps.timer_app:app"), func.FunctionApp)
    with pytest.raises(HostError, match=r"is not an azure\.functions FunctionApp"):
        load_app("tests.devhost.apps._record:record")
