"""The catalog's errors, in the same tree as the core library's (``CatalogError`` is a ``PipeforgeError``),
so the CLI maps them to exit codes and ``registry_api.problems`` to HTTP status without knowing more."""

from __future__ import annotations

from generator.errors import ConflictError, PipeforgeError


class CatalogError(PipeforgeError):
    """Base of the catalog's own errors (exit code 2 unless said otherwise)."""


class CatalogUnavailableError(CatalogError):
    """The database cannot be reached or is not a catalog; the message names it without credentials."""


class NotInCatalogError(CatalogError):
    """No such template, or no version of it matches the spec."""


class UnknownTemplateError(NotInCatalogError):
    """The catalog has no template of that name; ``published`` lists the names it has."""

    def __init__(self, name: str, published: list[str]) -> None:
        shown = ", ".join(published[:20]) + (", ..." if len(published) > 20 else "") if published else "none yet"
        super().__init__(f"no template named '{name}' in the catalog; published: {shown}")
        self.published_text = shown


class HostileBundleError(CatalogError):
    """A bundle breaks the rules for untrusted input. Every problem is listed, not just the first."""

    def __init__(self, source: str, problems: list[str]) -> None:
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{source} refused: {len(problems)} {noun} (templates are data; the catalog never runs template "
            f"code and accepts only plain files and folders):\n{lines}"
        )
        self.problems = problems


class LintFailedError(CatalogError):
    """The template renders with its defaults into a pipeline with lint errors (exit code 1)."""

    exit_code = 1


class VersionConflictError(CatalogError, ConflictError):
    """The version exists with other content: versions are write-once (exit code 3)."""

    exit_code = 3


class IdempotencyConflict(CatalogError, ConflictError):
    """The Idempotency-Key already names a pull-request job made for another request (HTTP 409)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"this Idempotency-Key already names job {job_id}, for another request; "
                         "use a new key for a new request")
        self.job_id = job_id


class RolloutKeyConflict(CatalogError, ConflictError):
    """The Idempotency-Key already names a roll-out made for another request (HTTP 409)."""

    def __init__(self, rollout_id: int) -> None:
        super().__init__(f"this Idempotency-Key already names roll-out {rollout_id}, for another request; "
                         "use a new key for a new roll-out")
        self.rollout_id = rollout_id
