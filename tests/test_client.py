"""The SDK never sends a non-idempotent call twice: a call whose answer was lost is reported as
unknown, while idempotent ones (reads, transaction sends) are sent once more."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from zkpipe.client import NodeUnreachable, ZkClient


class SilentServer:
    """A TCP server that reads each request and never answers (the node timed out)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.requests = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            if conn.recv(65536):
                self.requests += 1

    def close(self) -> None:
        self.sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_non_idempotent_call_is_sent_once(silent: SilentServer) -> None:
    with (
        ZkClient(f"http://127.0.0.1:{silent.port}", timeout=0.3) as client,
        pytest.raises(NodeUnreachable, match="may or may not"),
    ):
        client.dev_deposit(1, bytes(40), 1)
    assert silent.requests == 1


def test_an_idempotent_call_is_sent_again(silent: SilentServer) -> None:
    with ZkClient(f"http://127.0.0.1:{silent.port}", timeout=0.3) as client, pytest.raises(NodeUnreachable):
        client.chain_info()
    assert silent.requests == 2
