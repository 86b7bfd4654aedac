"""kill -9 of a node subprocess at randomized points, then restart: nothing acknowledged is lost, the
order is kept, no batch is posted to L1 twice, and the node goes on."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.node.conftest import L1_KINDS
from zkpipe.client import RpcCallError, ZkClient
from zkpipe.errors import ZkpipeError
from zkpipe.execution import digest_bytes
from zkpipe.l1 import EmbeddedChain, RollupContract
from zkpipe.l1.anvil import Anvil
from zkpipe.l1.chain import to_address
from zkpipe.l1.jsonrpc import JsonRpcChain
from zkpipe.native import keygen
from zkpipe.node.store import Store
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, compute_tx_hash, decode_tx, sign_transfer

ACCOUNTS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """`zkpipe up` in a subprocess."""

    def __init__(self, data_dir: Path, port: int, l1_args: Sequence[str] = ()) -> None:
        env = dict(
            os.environ,
            ZKPIPE_TREE_DEPTH="16",
            ZKPIPE_L1__SEND_MARGIN_S="0.1",
            ZKPIPE_STORE__SYNCHRONOUS="NORMAL",
        )
        self.log = data_dir.parent / "node.log"
        self._log_file = open(self.log, "ab")  # noqa: SIM115 (closed when the process ends)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from zkpipe.cli import main; main()", "up", "--data-dir", str(data_dir),
             "--port", str(port), "--block-time", "0.3", "--batch-timeout", "0.05", "--log-level", "WARNING",
             *l1_args],
            env=env, stdout=subprocess.DEVNULL, stderr=self._log_file,
        )  # fmt: skip
        self.client = ZkClient(f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.chain_info()
                return
            except ZkpipeError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    self.proc.wait()
                    self._close_log()
                    raise RuntimeError(f"node did not start: {self.log.read_text()[-3000:]}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        self._log_file.close()

    def terminate(self) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._close_log()
        assert code == 0


def _load(
    port: int, keys: list[tuple[bytes, bytes]], acks: list[tuple[str, int]], stop: threading.Event
) -> None:
    """Sends transfers round-robin until the node dies or `stop`; records every acknowledgement."""
    client = ZkClient(f"http://127.0.0.1:{port}", timeout=5)
    try:
        nonces: dict[int, int] = {}
        for i in range(ACCOUNTS):
            account = client.get_account(i + 1)
            assert account is not None
            nonces[i] = account.nonce
        k = 0
        while not stop.is_set():
            i = k % ACCOUNTS
            k += 1
            tx = sign_transfer(
                keys[i][0],
                AccountIndex(i + 1),
                AccountIndex((i + 1) % ACCOUNTS + 1),
                Amount(1),
                Fee(1),
                Nonce(nonces[i]),
            )
            sent = client.send_transaction(tx)
            acks.append((sent.hash, sent.seq))
            nonces[i] += 1
    except (ZkpipeError, OSError):
        return  # the node was killed
    finally:
        client.close()


def _check_acks(store_path: Path, acks: list[tuple[str, int]]) -> None:
    store = Store(store_path)
    try:
        for tx_hash, seq in acks:
            row = store.tx_by_hash(bytes.fromhex(tx_hash[2:]))
            assert row is not None, f"acknowledged {tx_hash} lost"
            assert row.seq == seq, "acknowledged order changed"
        encodings = store.tx_encodings()
        hashes = [digest_bytes(compute_tx_hash(decode_tx(e))) for e in encodings]
        assert len(set(hashes)) == len(hashes)
    finally:
        store.close()


def _open_l1(data_dir: Path, anvil: Anvil | None) -> EmbeddedChain | JsonRpcChain:
    """The node's L1 for checking it: its embedded block log, or anvil (read-only, no keys)."""
    if anvil is None:
        return EmbeddedChain(data_dir / "l1")
    return JsonRpcChain(anvil.url, [], confirmations=0)


def _check_l1_exactly_once(data_dir: Path, anvil: Anvil | None = None) -> int:
    store = Store(data_dir / "node.db")
    try:
        address = store.meta("rollup_address")
        assert address is not None
        last = store.last_batch()
        assert last is not None
        chain = _open_l1(data_dir, anvil)
        try:
            rollup = RollupContract(chain, to_address(address))
            sequenced = rollup.last_batch_sequenced()
            assert sequenced <= last.number
            for n in range(1, sequenced + 1):
                stored = store.batch_by_number(n)
                assert stored is not None and rollup.acc_input_hash(n) == stored.l1_acc_input_hash, (
                    f"batch {n}"
                )
            for n in range(1, last.number + 1):
                assert store.count_sends_covering(n) <= 1, f"batch {n} posted twice"
        finally:
            chain.close()
        return sequenced
    finally:
        store.close()


@pytest.fixture
def nodes() -> Iterator[list[NodeProcess]]:
    """Every node process a test starts; any still alive is killed at the end."""
    started: list[NodeProcess] = []
    yield started
    for node in started:
        if node.proc.poll() is None:
            node.kill()


@pytest.fixture
def l1(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[list[str], Anvil | None]]:
    """The `zkpipe up` flags of the L1 under test, and the anvil behind them (None: embedded)."""
    if request.param == "embedded":
        yield [], None
        return
    with Anvil(tmp_path / "anvil", block_time=0.3) as anvil:
        yield ["--l1-rpc", anvil.url], anvil


@pytest.mark.slow
@pytest.mark.parametrize("l1", L1_KINDS, indirect=True)
def test_kill_9_at_random_points_loses_nothing(
    tmp_path: Path, nodes: list[NodeProcess], l1: tuple[list[str], Anvil | None]
) -> None:
    l1_args, anvil = l1
    rng = random.Random(int(os.environ.get("ZKPIPE_CRASH_SEED", "4")))
    data_dir = tmp_path / "node"
    port = _free_port()
    keys = [keygen(bytes([7, i + 1]) * 16) for i in range(ACCOUNTS)]
    node = NodeProcess(data_dir, port, l1_args)
    nodes.append(node)
    for i, (_, pk) in enumerate(keys):
        node.client.dev_deposit(i + 1, pk, 10**9)
    for i in range(ACCOUNTS):
        node.client.wait_for_account(i + 1, timeout=30)
    all_acks: list[tuple[str, int]] = []
    for round_ in range(4):
        acks: list[tuple[str, int]] = []
        stop = threading.Event()
        loader = threading.Thread(target=_load, args=(port, keys, acks, stop), daemon=True)
        loader.start()
        if round_ == 1:
            # Kill between sending a batch to L1 and its inclusion: wait for a batch in `sending`.
            deadline = time.monotonic() + 10
            client = ZkClient(f"http://127.0.0.1:{port}")
            while time.monotonic() < deadline:
                info = client.chain_info()
                batch = client.get_batch(info.trusted_batch) if info.trusted_batch else None
                if batch is not None and batch.l1_status == "sending":
                    break
            client.close()
        else:
            time.sleep(rng.uniform(0.1, 1.2))
        node.kill()
        stop.set()
        loader.join(30)
        all_acks.extend(acks)
        _check_acks(data_dir / "node.db", all_acks)
        _check_l1_exactly_once(data_dir, anvil)
        node = NodeProcess(data_dir, port, l1_args)
        nodes.append(node)
    # The node goes on: new transactions are accepted and everything reaches L1.
    account = node.client.get_account(1)
    assert account is not None
    sent = node.client.send_transaction(
        sign_transfer(keys[0][0], AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(account.nonce))
    )
    node.client.wait_for_status(sent.hash, "virtual", timeout=30)
    trusted = node.client.chain_info().trusted_batch
    deadline = time.monotonic() + 30
    while node.client.chain_info().virtual_batch < trusted:
        assert time.monotonic() < deadline, "closed batches did not all reach L1"
        time.sleep(0.1)
    node.terminate()
    assert len(all_acks) > 100, len(all_acks)
    _check_acks(data_dir / "node.db", all_acks)
    assert _check_l1_exactly_once(data_dir, anvil) >= trusted


def test_invalid_rpc_error_type_is_exported() -> None:
    assert issubclass(RpcCallError, ZkpipeError)


def test_sigint_stops_cleanly_and_restart_recovers(tmp_path: Path, nodes: list[NodeProcess]) -> None:
    data_dir = tmp_path / "node"
    port = _free_port()
    node = NodeProcess(data_dir, port)
    nodes.append(node)
    secret, pk = keygen(bytes([9]) * 32)
    node.client.dev_deposit(1, pk, 1000)
    node.client.dev_deposit(2, pk, 1000)
    node.client.wait_for_account(2, timeout=30)
    sent = node.client.send_transaction(
        sign_transfer(secret, AccountIndex(1), AccountIndex(2), Amount(5), Fee(1), Nonce(0))
    )
    node.client.close()
    node.proc.send_signal(signal.SIGINT)
    assert node.proc.wait(30) == 0
    node._close_log()
    node = NodeProcess(data_dir, port)
    nodes.append(node)
    receipt = node.client.get_transaction_receipt(sent.hash)
    assert receipt is not None and receipt.seq == sent.seq
    account = node.client.get_account(1)
    assert account is not None and account.nonce == 1 and account.balance == 1000 - 6
    node.terminate()
