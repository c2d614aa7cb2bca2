"""Running the real ``git`` CLI with credentials that live only in each call's environment.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import PipeforgeError, UsageError

TOKEN_ENV = "PIPEFORGE_GIT_TOKEN"
USERNAME_ENV = "PIPEFORGE_GIT_USERNAME"
DEFAULT_USERNAME = "x-access-token"  # GitHub's name for a token login; GitLab and Gitea accept any name
#: variables of the caller's environment that would redirect, trace or re-authenticate pipeforge's git calls;
#: the rest (GIT_SSH_COMMAND, GIT_SSL_CAINFO, proxies...) passes through
_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CONFIG", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_TERMINAL_PROMPT",
            "GIT_TRACE", "GIT_CURL_VERBOSE", "GIT_REDACT", "GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_PROTOCOL",
            "GIT_QUARANTINE_PATH")
_AUTH_HEADER = re.compile(r"(authorization:\s*\w+\s+)\S+", re.IGNORECASE)


class RemoteError(PipeforgeError):
    """The git server or forge refused or could not be reached: authentication, a rejected push, the network."""

    exit_code = 4


def check_branch(name: str, option: str = "--base") -> str:
    """``name`` if git accepts it as a branch name; else a UsageError (it ends up in refspecs)."""
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True, check=False)
    if done.returncode != 0 or name.startswith("-") or name.startswith("@"):
        raise UsageError(f"{option} {name!r}: not a valid branch name")
    return name


def check_url(url: str) -> str:
    """``url`` if it is a remote pipeforge can push to: strictly parsed (``generator.gitops.urls``: no
    credentials, no dot-segments, no encoded dots or slashes, no query); else a UsageError."""
    from generator.gitops.urls import UnsafeURLError, parse_repo_url

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


@dataclass
class Git:
    """git commands in one repository (``git_dir``), every call with the same clean environment."""

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

    def secrets(self) -> tuple[str, ...]:
        return self.credentials.secrets() if self.credentials is not None else ()

    def run(self, *args: str, input: str | bytes | None = None, env: Mapping[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``git ARGS``; on failure raise RemoteError/UsageError with git's scrubbed message."""
        data = input.encode() if isinstance(input, str) else input
        full_env = self.environment() | dict(env or {})
        done = subprocess.run(["git", *args], input=data, env=full_env, capture_output=True, check=False)
        result = subprocess.CompletedProcess(
            done.args, done.returncode, scrub(done.stdout.decode(errors="replace"), self.secrets()),
            scrub(done.stderr.decode(errors="replace"), self.secrets()),
        )
        if check and result.returncode != 0:
            raise self.failure(args[0], result.stderr)
        return result

    def blob(self, sha: str) -> bytes:
        """The bytes of a blob, as stored (no decoding, no newline stripped)."""
        done = subprocess.run(["git", "cat-file", "blob", sha], env=self.environment(), capture_output=True,
                              check=False)
        if done.returncode != 0:
            raise self.failure("cat-file", scrub(done.stderr.decode(errors="replace"), self.secrets()))
        return done.stdout

    def out(self, *args: str, input: str | bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        return self.run(*args, input=input, env=env).stdout.strip()

    def failure(self, command: str, stderr: str) -> RemoteError:
        return RemoteError(f"git {command} failed: {explain(stderr)}")


def explain(stderr: str) -> str:
    """git's own message, with what to do for the failures people meet most."""
    text = " ".join(line.strip() for line in stderr.strip().splitlines() if line.strip()) or "no message"
    lowered = text.lower()
    if "could not read username" in lowered or "authentication failed" in lowered or " 401" in lowered \
            or "403" in lowered:
        return f"{text} (the server refused the credentials: check {TOKEN_ENV} and its rights on the repository)"
    if any(sign in lowered for sign in ("couldn't connect to server", "could not resolve host", "connection refused",
                                        "connection timed out", "operation timed out")):
        return f"{text} (the git server cannot be reached: check the repository URL and that the server is up; " \
               "running again retries)"
    if "couldn't find remote ref" in lowered:
        return f"{text} (no such branch on the remote: check --base)"
    return text
