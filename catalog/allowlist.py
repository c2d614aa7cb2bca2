"""Which repositories a registry may push to: its operators' allowlist (``PIPEFORGE_PR_ALLOWED_REPOS``).

Checked when a pull request or roll-out is asked for (before any network call) and again when its job
runs, since the allowlist may have shrunk in between (a restart with other settings). The comparison
itself, strict and segment by segment, is ``generator.gitops.urls.allowed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.gitops.urls import allowed


def refusal(allowlist: Sequence[str], repo: str) -> str | None:
    """Why a registry with this allowlist must not push to ``repo``, or None."""
    if allowed(repo, allowlist):
        return None
    return (f"this registry does not push to {repo}; its operators allow: "
            + (", ".join(allowlist) or "no repository")
            + " (PIPEFORGE_PR_ALLOWED_REPOS)")
