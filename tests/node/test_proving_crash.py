"""kill -9 of a proving node while it aggregates, then restart: it finishes, nothing is lost, and L1's
consolidated root is the spec's. Then kill -9 again once the withdrawal is consolidated, restart, and
claim it with `zkpipe withdraw claim`: the recipient is paid once, a second claim is refused."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zkpipe.client import ZkClient
from zkpipe.errors import ZkpipeError
from zkpipe.execution import digest_bytes
from zkpipe.l1 import EmbeddedChain, RollupContract
from zkpipe.l1.chain import to_address
from zkpipe.native import keygen
from zkpipe.node.store import Store
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    apply_batch,
    decode_batch,
    initial_state,
    sign_transfer,
    sign_withdraw,
)

pytestmark = pytest.mark.slow

RECIPIENT = bytes.fromhex("c1" * 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], ZkClient]:
    env = dict(
        os.environ,
        ZKPIPE_PROVING__ENABLED="true",
        ZKPIPE_PROVING__WORKERS="2",
        ZKPIPE_PROVING__AGGREGATION_N="2",
        ZKPIPE_PROVING__AGGREGATION_TIMEOUT_S="2",
        ZKPIPE_STORE__SYNCHRONOUS="NORMAL",
    )
    log = open(data_dir.parent / "node.log", "ab")  # noqa: SIM115 (the child holds it)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from zkpipe.cli import main; main()", "up", "--data-dir", str(data_dir),
         "--port", str(port), "--block-time", "0.5", "--batch-timeout", "0.3", "--log-level", "INFO"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    log.close()
    client = ZkClient(f"http://127.0.0.1:{port}", timeout=10)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.chain_info()
            return proc, client
        except ZkpipeError:
            assert proc.poll() is None and time.monotonic() < deadline, "node did not start"
            time.sleep(0.2)


def aggregating(data_dir: Path) -> bool:
    """Whether an aggregation job is running (read from the node's job store)."""
    path = data_dir / "jobs.db"
    if not path.exists():
        return False
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'aggregate' AND state = 'running'"
            ).fetchone()
        except sqlite3.OperationalError:
            return False
    return bool(count)


def _zkpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from zkpipe.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_node_killed_while_aggregating_finishes_after_restart(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "node", _free_port()
    proc, client = start(data_dir, port)
    keys = [keygen(bytes([9, i]) * 16) for i in range(1, 5)]
    for i, (_, pk) in enumerate(keys, start=1):
        client.dev_deposit(i, pk, 1_000_000)
    for i in range(1, 5):
        client.wait_for_account(i, timeout=60)
    sent = []
    for n in range(16):
        sender = 1 + n % 4
        recipient = AccountIndex(1 + (n + 1) % 4)
        tx = sign_transfer(
            keys[sender - 1][0], AccountIndex(sender), recipient, Amount(3), Fee(1), Nonce(n // 4)
        )
        sent.append(client.send_transaction(tx).hash)
    withdraw = sign_withdraw(keys[0][0], AccountIndex(1), L1Address(RECIPIENT), Amount(7), Fee(1), Nonce(4))
    withdrawal = client.send_transaction(withdraw).hash
    sent.append(withdrawal)

    deadline = time.monotonic() + 240
    while not aggregating(data_dir):
        assert time.monotonic() < deadline and proc.poll() is None, "no aggregation started"
        time.sleep(0.05)
    client.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    proc, client = start(data_dir, port)
    try:
        deadline = time.monotonic() + 300
        while True:
            statuses = [r.status if (r := client.get_transaction_receipt(h)) else None for h in sent]
            if all(s == "consolidated" for s in statuses):
                break
            assert time.monotonic() < deadline, f"not consolidated after restart: {statuses}"
            time.sleep(0.5)
        proof = client.get_withdrawal_proof(withdrawal)
        assert proof is not None and proof.claimed is False and proof.amount_gwei == "7"
    finally:
        client.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)

    # The claim proof survives kill -9 (it is in the store, not only in memory): claim it after a restart.
    proc, client = start(data_dir, port)
    try:
        url = f"http://127.0.0.1:{port}"
        first = _zkpipe("withdraw", "claim", "--rpc", url, "--tx", withdrawal)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["l1_tx_hash"].startswith("0x")
        second = _zkpipe("withdraw", "claim", "--rpc", url, "--tx", withdrawal)
        assert second.returncode != 0 and "already claimed" in second.stderr
        proof = client.get_withdrawal_proof(withdrawal)
        assert proof is not None and proof.claimed is True
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

    # L1's consolidated root is the spec's, replayed from the stored batches.
    store = Store(data_dir / "node.db")
    chain = EmbeddedChain(data_dir / "l1", block_time=0.5)
    try:
        rollup = RollupContract(chain, to_address(store.meta("rollup_address") or ""))
        state = initial_state(PublicKey(bytes.fromhex(store.meta("fee_public_key") or "")))
        for number in range(1, rollup.last_verified_batch() + 1):
            stored = store.batch_by_number(number)
            assert stored is not None
            state = apply_batch(state, decode_batch(stored.data), 8).state
        assert digest_bytes(state.tree.root) == rollup.consolidated_state_root()
        # What a restart of the proving pipeline starts from: the state after the last consolidated batch.
        proven = store.proven_state()
        assert proven is not None and proven == (rollup.last_verified_batch(), state.accounts)
        assert chain.balance_by_address(to_address(RECIPIENT)) == 7 * 10**9  # paid once
    finally:
        chain.close()
        store.close()
