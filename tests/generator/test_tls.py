"""The HTTPS clients' TLS context is read once per process, and still follows SSL_CERT_FILE."""

from __future__ import annotations

import re
import shutil
import ssl
from pathlib import Path

import certifi
import pytest

from generator.errors import UsageError
from generator.gitops.forges import GitHub
from generator.tls import client_context
from tests.clikit import run


def test_every_client_shares_one_context() -> None:
    first = client_context()
    assert isinstance(first, ssl.SSLContext) and first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert client_context() is first
    forge = GitHub(repo="https://github.com/acme/gitops.git", token="t")
    try:
        assert forge.client._transport._pool._ssl_context is first  # type: ignore[attr-defined]
    finally:
        forge.client.close()


def test_a_changed_ssl_cert_file_takes_effect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = client_context()
    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    own = client_context()
    assert own is not default and own is client_context()
    missing = tmp_path / "missing.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))
    with pytest.raises(UsageError, match=re.escape(f"SSL_CERT_FILE={missing}: cannot be read as CA certificates")):
        client_context()
    (tmp_path / "empty.pem").write_text("not a certificate\n", encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    with pytest.raises(UsageError, match=re.escape("empty.pem: cannot be read as CA certificates")):
        client_context()


def test_a_bad_ssl_cert_file_is_a_message_and_exit_2_not_a_traceback(tmp_path: Path) -> None:
    result = run("rollout", "saga-compensation", "--to", "9.9.9", "--registry", "https://127.0.0.1:1",
                 env={"PIPEFORGE_TOKEN": "pft_x", "SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "SSL_CERT_FILE=" in result.stderr
