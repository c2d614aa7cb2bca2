"""The HTTPS clients' TLS context is read once per process, and still follows SSL_CERT_FILE."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import certifi
import pytest

from generator.gitops.forges import GitHub
from generator.tls import client_context


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
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        client_context()
