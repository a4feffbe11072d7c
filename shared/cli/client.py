"""The HTTP side of the CLI: one authenticated `httpx.Client`, problem+json turned into `CliError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from shared.cli.config import Credentials, api_root
from shared.cli.errors import EXIT_CLIENT, EXIT_SERVER, CliError

USER_AGENT = "tokenroute-cli/0.1"


def problem_error(response: httpx.Response) -> CliError:
    """A `CliError` with everything the problem says: title, detail, each field error, request id."""
    status = response.status_code
    exit_code = EXIT_CLIENT if status < 500 else EXIT_SERVER
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "title" not in body:
        # Not a problem from the API (a proxy's HTML page, a gateway timeout): show its start.
        text = response.text.strip()[:200] or response.reason_phrase
        return CliError(
            f"{response.request.method} {response.request.url} answered {status}: {text}", exit_code=exit_code
        )
    lines: list[str] = []
    if body.get("detail"):
        lines.append(str(body["detail"]))
    for error in body.get("errors") or []:
        lines.append(f"{error.get('path', '?')}: {error.get('message', '')}")
    if body.get("request_id"):
        lines.append(f"request id: {body['request_id']}")
    return CliError(f"{body['title']} ({status})", lines=lines, exit_code=exit_code)


class Api:
    """A synchronous client of `<base>/api/v1`, authenticated with the project API key."""

    def __init__(self, credentials: Credentials, timeout_s: float = 30.0) -> None:
        self.base_url = credentials.base_url
        self.http = httpx.Client(
            base_url=api_root(credentials.base_url),
            headers={"Authorization": f"Bearer {credentials.api_key}", "User-Agent": USER_AGENT},
            timeout=timeout_s,
        )
        self._project: str | None = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; the decoded JSON answer, or `CliError` for a problem or an unreachable API."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise CliError(
                f"could not reach {self.base_url}: {_reason(exc)}",
                lines=["check --base-url (or TOKENROUTE_BASE_URL) and that the API is running"],
                exit_code=EXIT_SERVER,
            ) from None
        except httpx.TimeoutException:
            raise CliError(f"{self.base_url} did not answer in time ({method} {path})", exit_code=EXIT_SERVER) from None
        except httpx.HTTPError as exc:
            raise CliError(f"request to {self.base_url} failed: {_reason(exc)}", exit_code=EXIT_SERVER) from None
        if response.status_code >= 400:
            raise problem_error(response)
        return response.json() if response.content else None

    def download(self, path: str, target: Path) -> int:
        """Stream a binary answer into `target` (written whole or not at all); returns the bytes written."""
        partial = target.with_name(target.name + ".part")
        try:
            with self.http.stream("GET", path, headers={"Accept": "application/zip"}) as response:
                if response.status_code >= 400:
                    response.read()
                    raise problem_error(response)
                written = 0
                with partial.open("wb") as sink:
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                        written += len(chunk)
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise CliError(f"download from {self.base_url} failed: {_reason(exc)}", exit_code=EXIT_SERVER) from None
        partial.replace(target)
        return written

    def me(self) -> dict[str, Any]:
        """`GET /me`: who the key is."""
        me: dict[str, Any] = self.call("GET", "/me")
        return me

    def project(self) -> str:
        """`/projects/<the key's project>`; fetched once per command."""
        if self._project is None:
            project_id = self.me().get("project_id")
            if not project_id:
                raise CliError("this credential has no project: use a project API key (trk_...)")
            self._project = f"/projects/{project_id}"
        return self._project


def _reason(exc: httpx.HTTPError) -> str:
    # httpx wraps the socket error; its text ("[Errno 111] Connection refused") is the useful part.
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text
