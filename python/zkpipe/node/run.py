"""Running a node with its RPC server in one asyncio loop: until SIGINT/SIGTERM, or in a background thread."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

from zkpipe.node.config import NodeConfig
from zkpipe.node.dashboard import dashboard_routes
from zkpipe.node.node import Node, new_node
from zkpipe.sequencer.rpc import RpcServer, bound_port, serve

logger = logging.getLogger("zkpipe.node")


async def run_node(
    config: NodeConfig,
    *,
    node: Node | None = None,
    on_ready: Callable[[Node, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Starts the node (`node`, or the one `config` describes) and its RPC server, runs until `stop`
    is set (default: SIGINT/SIGTERM), then stops the server and the node cleanly."""
    node = node if node is not None else new_node(config)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await asyncio.to_thread(node.start)
    try:
        server = RpcServer(
            node,
            max_body_bytes=config.rpc.max_body_bytes,
            max_batch_calls=config.rpc.max_batch_calls,
            dev_methods=config.rpc.dev_methods,
            routes=dashboard_routes(node) if config.rpc.dashboard else (),
            chain_id=config.chain_id,
        )
        runner = await serve(server, config.rpc.host, config.rpc.port)
        port = bound_port(runner)
        logger.info("event=rpc_listening host=%s port=%d", config.rpc.host, port)
        if on_ready is not None:
            on_ready(node, port)
        try:
            await stop.wait()
        finally:
            logger.info("event=shutdown")
            await runner.cleanup()
    finally:
        await asyncio.to_thread(node.stop)


class BackgroundNode:
    """A node and its RPC server on a background thread (tests, benchmarks, embedding)."""

    def __init__(self, config: NodeConfig, node: Node | None = None) -> None:
        self.config = config
        self._node = node
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.node: Node | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._main, name="node-loop", daemon=True)

    @property
    def url(self) -> str:
        """The RPC URL."""
        return f"http://{self.config.rpc.host}:{self.port}"

    def _main(self) -> None:
        def ready(node: Node, port: int) -> None:
            self.node, self.port = node, port
            self._ready.set()

        try:
            self._loop.run_until_complete(
                run_node(self.config, node=self._node, on_ready=ready, stop=self._stop)
            )
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            self._loop.close()

    def start(self, timeout: float = 120.0) -> BackgroundNode:
        """Starts and waits until the RPC listens."""
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise self._error
        if self.node is None:
            raise TimeoutError("the node did not start in time")
        return self

    def stop(self) -> None:
        """Stops the node cleanly and waits for it."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(60)
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
