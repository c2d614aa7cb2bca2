"""The peer of bench_registry.py: a bare FastAPI endpoint returning a precomputed payload, read once
from the file named by BENCH_PAYLOAD (the registry's own listing response, so the sizes are equal)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response

PAYLOAD = Path(os.environ["BENCH_PAYLOAD"]).read_bytes()
app = FastAPI()


@app.get("/api/v1/templates")
async def templates() -> Response:
    return Response(PAYLOAD, media_type="application/json")
