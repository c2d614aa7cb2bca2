"""Running the real ``git`` CLI, through GitPython's ``Git`` object, with credentials that live only in each
call's environment.

The token never reaches a command line, a remote URL, a config file or a message: it is sent as an
``Authorization`` header scoped to the repository's URL through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/
``GIT_CONFIG_VALUE_n``, prompts and credential helpers are switched off, and whatever git prints is scrubbed
of the token (and of its base64 form) before it is shown.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import PipeforgeError, RemoteError, UsageError
from generator.gitops.urls import UnsafeURLError, parse_repo_url

TOKEN_ENV = "PIPEFORGE_GIT_TOKEN"
USERNAME_ENV = "PIPEFORGE_GIT_USERNAME"
DEFAULT_USERNAME = "x-access-token"  # GitHub's name for a token login; GitLab and Gitea accept any name
#: variables of the caller's environment that would redirect, trace or re-authenticate pipeforge's git calls;
#: the rest (GIT_SSH_COMMAND, GIT_SSL_CAINFO, proxies...) passes through
_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CONFIG", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_TERMINAL_PROMPT",
            "GIT_TRACE", "GIT_CURL_VERBOSE", "GIT_REDACT", "GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_PROTOCOL",
            "GIT_QUARANTINE_PATH")
#: git's "The requested URL returned error: 403" (a status, not digits of a port such as 127.0.0.1:40389)
_REFUSED = re.compile(r"(returned error|http)[: ]+40[13]\b")
_AUTH_HEADER = re.compile(r"(authorization:\s*\w+\s+)\S+", re.IGNORECASE)


def check_branch(name: str, option: str = "--base") -> str:
    """``name`` if git accepts it as a branch name; else a UsageError (it ends up in refspecs)."""
    if name.startswith(("-", "@")):
        raise UsageError(f"{option} {name!r}: not a valid branch name")
    status, _, _ = Git(Path(tempfile.gettempdir()) / "pipeforge-no-repository").execute(
        ["check-ref-format", "--branch", name])
    if status != 0:
        raise UsageError(f"{option} {name!r}: not a valid branch name")
    return name


def check_url(url: str) -> str:
    """``url`` if it is a remote pipeforge can push to: strictly parsed (``generator.gitops.urls``: no
    credentials, no dot-segments, no encoded dots or slashes, no query); else a UsageError."""
    if not parse_repo_url(url).segments:
        raise UnsafeURLError(f"--repo {url!r}: it names no repository path; give a plain URL such as "
                             "https://git.example.com/team/app.git")
    return url


@dataclass(frozen=True)
class Credentials:
    """A token for one repository URL, sent as HTTP Basic in a header scoped to that URL."""

    url: str
    token: str
    username: str = DEFAULT_USERNAME

    @classmethod
    def from_env(cls, url: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "").strip()
        if not token:
            return None
        return cls(url, token, env.get(USERNAME_ENV, "").strip() or DEFAULT_USERNAME)

    @property
    def header_value(self) -> str:
        return base64.b64encode(f"{self.username}:{self.token}".encode()).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        return self.token, self.header_value

    def config(self) -> dict[str, str]:
        """The ``git -c`` settings, to go through the environment (GIT_CONFIG_*), never the argv."""
        return {f"http.{self.url}.extraHeader": f"Authorization: Basic {self.header_value}"}


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` without any of ``secrets`` and without any Authorization header value."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _AUTH_HEADER.sub(r"\1***", text)


#: values that neutralise a dropped variable the caller set, where an empty value would break git: GitPython
#: starts every call's environment from ``os.environ``, so a variable can be overridden but not removed
_NEUTRAL = {"GIT_WORK_TREE": "{git_dir}", "GIT_COMMON_DIR": "{git_dir}", "GIT_OBJECT_DIRECTORY": "{git_dir}/objects",
            "GIT_TERMINAL_PROMPT": "0"}


@dataclass
class Git:
    """git commands in one repository (``git_dir``) through GitPython's ``Git`` object, every call with the
    same clean environment."""

    git_dir: Path
    credentials: Credentials | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
        # http.followRedirects=false: an allowlisted server must not send the push (and the token) elsewhere.
        settings = {"credential.helper": "", "core.askPass": "", "protocol.version": "2",
                    "http.followRedirects": "false"}
        if self.credentials is not None:
            settings.update(self.credentials.config())
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_DIR": str(self.git_dir), "GCM_INTERACTIVE": "never",
                    "GIT_CONFIG_COUNT": str(len(settings)), "LC_ALL": "C"})
        for index, (key, value) in enumerate(settings.items()):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        env.update(self.extra_env)
        return env

    def call_environment(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What GitPython gets as a call's ``env``: :meth:`environment`, plus a harmless value for every
        dropped variable of the caller's (GitPython merges ``os.environ`` underneath)."""
        wanted = self.environment() | dict(env or {})
        for key in os.environ:
            if key.startswith(_DROPPED) and key not in wanted:
                wanted[key] = _NEUTRAL.get(key, "").format(git_dir=self.git_dir)
        return wanted

    def secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets() if self.credentials is not None else ()

    def execute(self, args: Sequence[str], *, input: str | bytes | None = None,
                env: Mapping[str, str] | None = None) -> tuple[int, bytes, str]:
        """``git ARGS`` through GitPython: (status, stdout as bytes, stderr scrubbed). GitPython's own errors
        (git missing, a failed start) become pipeforge errors with scrubbed messages."""
        _require_gitpython()
        from git.cmd import Git as GitCommand  # lazy: GitPython only for commands that run git
        from git.exc import GitCommandNotFound, GitError  # lazy: GitPython only for commands that run git

        data = input.encode() if isinstance(input, str) else input
        command = GitCommand(self.git_dir if self.git_dir.is_dir() else None)
        try:
            with tempfile.TemporaryFile() if data else nullcontext() as stdin:  # GitPython reads input from a file
                if stdin is not None and data:
                    stdin.write(data)
                    stdin.seek(0)
                status, out, err = command.execute(
                    ["git", *args], istream=stdin, with_extended_output=True,
                    with_exceptions=False, stdout_as_string=False, strip_newline_in_stdout=False,
                    env=self.call_environment(env))
        except GitCommandNotFound:
            raise PipeforgeError(_NO_GIT) from None
        except GitError as exc:
            raise self.failure(args[0], scrub(str(exc), self.secrets())) from None
        return int(status), bytes(out or b""), scrub(_text(err), self.secrets())

    def init_bare(self, settings: dict[tuple[str, str], str]) -> None:
        """Create ``git_dir`` as a bare repository (GitPython's ``Repo.init``) with ``settings`` in its config:
        (section, option) -> value."""
        _require_gitpython()
        from git import GitConfigParser, Repo  # lazy: GitPython only for commands that run git
        from git.exc import GitCommandError, GitError  # lazy: GitPython only for commands that run git

        # git refuses ``init --bare`` under a GIT_WORK_TREE it cannot be told to forget (GitPython merges the
        # caller's environment): then the repository is made plain and turned bare in its config.
        bare = "GIT_WORK_TREE" not in os.environ
        try:
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            if bare:
                Repo.init(self.git_dir, mkdir=True, bare=True, expand_vars=False, quiet=True,
                          env=self.call_environment()).close()
            else:
                self.run("init", "--quiet", str(self.git_dir))
            with GitConfigParser(self.git_dir / "config", read_only=False) as config:
                if not bare:
                    config.set_value("core", "bare", True)
                    config.remove_option("core", "worktree")
                for (section, option), value in settings.items():
                    config.set_value(section, option, value)
        except GitCommandError as exc:
            raise RemoteError(f"cannot create the mirror {self.git_dir}: git init failed: "
                              f"{explain(scrub(_stderr(exc), self.secrets()))}") from None
        except (GitError, OSError) as exc:
            raise RemoteError(f"cannot create the mirror {self.git_dir}: {scrub(str(exc), self.secrets())}") from None

    def run(self, *args: str, input: str | bytes | None = None, env: Mapping[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``git ARGS``; on failure raise RemoteError/UsageError with git's scrubbed message."""
        status, out, err = self.execute(args, input=input, env=env)
        result = subprocess.CompletedProcess(["git", *args], status, scrub(_text(out), self.secrets()), err)
        if check and status != 0:
            raise self.failure(args[0], err)
        return result

    def blob(self, sha: str) -> bytes:
        """The bytes of a blob, as stored (no decoding, no newline stripped)."""
        status, out, err = self.execute(["cat-file", "blob", sha])
        if status != 0:
            raise self.failure("cat-file", err)
        return out

    def out(self, *args: str, input: str | bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        return self.run(*args, input=input, env=env).stdout.strip()

    def failure(self, command: str, stderr: str) -> RemoteError:
        return RemoteError(f"git {command} failed: {explain(stderr)}")


_NO_GIT = "git is not installed (or not on PATH): pipeforge pr needs the git command; on Debian, apt-get install git"


def _require_gitpython() -> None:
    """Import GitPython, which refuses to load (ImportError) when it finds no git to run."""
    try:
        import git  # lazy: GitPython only for commands that run git  # noqa: F401
    except ImportError:
        raise PipeforgeError(_NO_GIT) from None


def _stderr(exc: Exception) -> str:
    """What git printed, from a GitPython error (which wraps it as "\\n  stderr: '...'")."""
    text = str(getattr(exc, "stderr", "") or "").strip()
    return text.removeprefix("stderr:").strip().strip("'")


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def explain(stderr: str) -> str:
    """git's own message, with what to do for the failures people meet most."""
    text = " ".join(line.strip() for line in stderr.strip().splitlines() if line.strip()) or "no message"
    lowered = text.lower()
    if "could not read username" in lowered or "authentication failed" in lowered or _REFUSED.search(lowered):
        return f"{text} (the server refused the credentials: check {TOKEN_ENV} and its rights on the repository)"
    if any(sign in lowered for sign in ("couldn't connect to server", "could not resolve host", "connection refused",
                                        "connection timed out", "operation timed out")):
        return f"{text} (the git server cannot be reached: check the repository URL and that the server is up; " \
               "running again retries)"
    if "couldn't find remote ref" in lowered:
        return f"{text} (no such branch on the remote: check --base)"
    return text
