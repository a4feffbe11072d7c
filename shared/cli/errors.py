"""CLI failures and the exit codes they map to."""

from __future__ import annotations

# Exit codes: scripts branch on these.
EXIT_OK = 0
EXIT_LOCAL = 1  # a problem on this machine: no key, unreadable file, a run that did not complete
EXIT_CLIENT = 2  # the API refused the request (4xx); argparse usage errors use 2 as well
EXIT_SERVER = 3  # the API failed (5xx) or could not be reached


class CliError(Exception):
    """A failure to report on stderr; `lines` follow the first line, indented."""

    def __init__(self, message: str, *, lines: list[str] | None = None, exit_code: int = EXIT_LOCAL) -> None:
        super().__init__(message)
        self.message = message
        self.lines = lines or []
        self.exit_code = exit_code

    def render(self) -> str:
        """The text printed on stderr."""
        return "\n".join([f"error: {self.message}", *(f"  {line}" for line in self.lines)])
