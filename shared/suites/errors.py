"""Errors of the suites package: every problem names where it is (a field path or an input line)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

# A broken 10,000-line import could produce 10,000 problems; the first ones are enough to act on,
# and the message must stay small enough for an HTTP problem document.
MAX_REPORTED_PROBLEMS: Final = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite: `path` says where (`cases[12].messages[0].content`, `line 7`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SuiteError(ValueError):
    """Suite content or an import is invalid. `problems` lists each issue with its path."""

    def __init__(self, problems: Iterable[Problem], *, omitted: int = 0) -> None:
        listed = list(problems)
        if not listed:
            raise ValueError("a SuiteError needs at least one problem")
        kept = listed[:MAX_REPORTED_PROBLEMS]
        self.problems: tuple[Problem, ...] = tuple(kept)
        # How many further problems were found but not kept.
        self.omitted: int = omitted + len(listed) - len(kept)
        text = "; ".join(str(problem) for problem in self.problems)
        if self.omitted:
            text += f"; and {self.omitted} more"
        super().__init__(text)

    @classmethod
    def at(cls, path: str, message: str) -> SuiteError:
        """An error with a single problem."""
        return cls([Problem(path, message)])

    def under(self, base: str) -> SuiteError:
        """The same error (same class) with every path placed under `base`."""
        moved = [Problem(join_path(base, problem.path), problem.message) for problem in self.problems]
        return type(self)(moved, omitted=self.omitted)


class TemplateError(SuiteError):
    """A template cannot be parsed or rendered (bad syntax, unknown variable)."""


class SuiteIntegrityError(Exception):
    """Stored suite bytes do not match the SHA-256 they are named by: refuse to use them."""


def join_path(base: str, rest: str) -> str:
    """`join_path("cases[3]", "template")` is `cases[3].template`; indexes attach without a dot."""
    if not base:
        return rest
    if not rest:
        return base
    return base + rest if rest.startswith("[") else f"{base}.{rest}"
