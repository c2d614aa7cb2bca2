"""httpx from a test, on the process's one TLS context (``generator.tls``): httpx otherwise reads the whole
CA bundle for every call and every client, which the polling loops of the server tests did hundreds of
times. Same arguments and answers as ``httpx.get``, ``httpx.post`` and ``httpx.Client``."""

from __future__ import annotations

from typing import Any

import httpx

from generator.tls import client_context


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, verify=client_context(), **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, verify=client_context(), **kwargs)


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(verify=client_context(), **kwargs)
