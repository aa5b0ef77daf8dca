"""Errors the use cases raise, each with the code clients see in `extensions.code` (spec §5), and the
engine's `EngineLoadError` (the stored network is invalid), offered here so the entry points never
import the engine."""

from __future__ import annotations

from collections.abc import Sequence

from graph_service.domain.validation import Problem
from graph_service.engine.values import EngineLoadError as EngineLoadError


class ServiceError(Exception):
    """A request the service refuses; `code` is what clients see."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadUserInput(ServiceError):
    """The input breaks a rule; `problems` says where and why (nothing was written)."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem]) -> BadUserInput:
        return cls(
            "; ".join(problem.message if problem.row == 0 else str(problem) for problem in problems), problems
        )


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class Conflict(ServiceError):
    """A stale `expectedVersion`, a duplicate id, or another writer got there first."""

    code = "CONFLICT"


class Unavailable(ServiceError):
    """The store is unreachable or busy: nothing was written, and the request may be sent again
    (after about `retry_after` seconds)."""

    code = "UNAVAILABLE"
    retry_after = 2
