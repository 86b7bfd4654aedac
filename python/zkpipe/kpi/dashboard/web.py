"""The live dashboard over HTTP: the page at GET /, its static assets, and the status it polls."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import deque
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from zkpipe.kpi.dashboard.status import PipelineSnapshot, compute_status

logger = logging.getLogger("zkpipe.dashboard")

REFRESH_S = 2.0
"""Least interval between two snapshots of the node, whatever the number of open pages."""
MAX_REJECTED_SAMPLES = 512
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css", "favicon.svg": "image/svg+xml"}
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


class DashboardSource(Protocol):
    """What the dashboard reads from a node."""

    def snapshot(self) -> PipelineSnapshot:
        """The pipeline now (bounded: see PipelineSnapshot)."""
        ...

    def last_aggregate_proof(self) -> dict[str, Any] | None:
        """The file form of the last aggregate proof verified on L1 (`zkpipe verify` reads it)."""
        ...

    def l1_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """An L1 transaction and its receipt, or None if L1 does not know it."""
        ...


def _asset(name: str) -> bytes:
    return resources.files("zkpipe.kpi.dashboard").joinpath("static", name).read_bytes()


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


class Dashboard:
    """Serves the page and a status document refreshed at most every `refresh_s` seconds."""

    def __init__(self, source: DashboardSource, *, refresh_s: float = REFRESH_S) -> None:
        self.source = source
        self.refresh_s = refresh_s
        self._assets = {name: _asset(name) for name in ASSETS}
        self._index = _asset("index.html")
        self._status: dict[str, Any] | None = None
        self._refreshed = -math.inf
        self._lock = asyncio.Lock()
        # Rejections are not stored: the dashboard samples their count (bounded) to draw them over time.
        self._rejected: deque[tuple[float, int]] = deque(maxlen=MAX_REJECTED_SAMPLES)

    def routes(self) -> list[web.RouteDef]:
        """The dashboard's routes, to add to the RPC server's application."""
        return [
            web.get("/", self.index),
            web.get("/dashboard/static/{name}", self.asset),
            web.get("/dashboard/api/status", self.status),
            web.get("/dashboard/api/aggregate.proof", self.aggregate_proof),
            web.get("/dashboard/api/l1/tx/{tx_hash}", self.l1_transaction),
        ]

    async def index(self, request: web.Request) -> web.Response:
        """The page."""
        return web.Response(body=self._index, content_type="text/html", charset="utf-8")

    async def asset(self, request: web.Request) -> web.Response:
        """A static asset shipped with the package (no CDN)."""
        name = request.match_info["name"]
        if name not in self._assets:
            raise web.HTTPNotFound()
        return web.Response(body=self._assets[name], content_type=ASSETS[name])

    async def status(self, request: web.Request) -> web.Response:
        """The status document; 503 with a reason if the node cannot give one (e.g. it is stopping)."""
        try:
            return _json(await self.current_status())
        except Exception as err:  # why broad: the page must get a reason it can show, never a 500 page
            logger.warning("event=dashboard_status_failed error=%r", err)
            return _json({"error": getattr(err, "message", None) or type(err).__name__}, 503)

    async def current_status(self) -> dict[str, Any]:
        """The latest status document, refreshed if older than `refresh_s` (one refresh at a time)."""
        async with self._lock:
            if self._status is None or time.monotonic() - self._refreshed >= self.refresh_s:
                # Why a thread: a snapshot reads the store (linear in stored transactions, like zk_kpi).
                self._status = await asyncio.to_thread(self._compute)
                self._refreshed = time.monotonic()
            return self._status

    def _compute(self) -> dict[str, Any]:
        snapshot = self.source.snapshot()
        if not self._rejected or self._rejected[-1][1] != snapshot.rejected:
            self._rejected.append((snapshot.taken_at, snapshot.rejected))
        return compute_status(snapshot, list(self._rejected))

    async def aggregate_proof(self, request: web.Request) -> web.Response:
        """The last aggregate proof verified on L1, as a proof file; 404 before the first one."""
        proof = await asyncio.to_thread(self.source.last_aggregate_proof)
        if proof is None:
            return _json({"error": "no aggregate proof has been verified on L1 yet"}, 404)
        response = _json(proof)
        response.headers["Content-Disposition"] = 'attachment; filename="aggregate.proof"'
        return response

    async def l1_transaction(self, request: web.Request) -> web.Response:
        """An L1 transaction with its receipt (the embedded L1 has no block explorer)."""
        tx_hash = request.match_info["tx_hash"]
        if not _TX_HASH.fullmatch(tx_hash):
            return _json({"error": "a transaction hash is 0x and 64 hex digits"}, 400)
        found = await asyncio.to_thread(self.source.l1_transaction, tx_hash.lower())
        if found is None:
            return _json({"error": f"L1 does not know transaction {tx_hash}"}, 404)
        return _json(found)
