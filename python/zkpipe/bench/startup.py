"""`zkpipe bench startup`: how long a node takes to start again, by L1 chain length, on each L1.

For each L1 (the embedded devnet, anvil over JSON-RPC) a node is started once, funded and given
L2 history (deposits and transfers in a few batches), and stopped; the L1 is then lengthened
(see `_lengthen`); the node is restarted and timed from `start()` until its RPC answers. The embedded
devnet loads its state snapshot and replays only the blocks after it (`l1_replayed_blocks`); anvil
keeps its own state; the node's L2 side loads its account snapshot and replays only the open batch.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zkpipe.client import ZkClient
from zkpipe.kpi.machine import describe_machine
from zkpipe.l1.anvil import Anvil
from zkpipe.l1.chain import to_address
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.rollup import RollupContract
from zkpipe.native import keygen
from zkpipe.node.config import NodeConfig, load_config
from zkpipe.node.l1chain import L1_DIR
from zkpipe.node.node import DB_NAME
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, sign_transfer

BLOCK_TIME = 0.5
TRANSFERS = 40


def _config(data_dir: Path, anvil: Anvil | None) -> NodeConfig:
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "rpc.port": 0,
        "l1.block_time": BLOCK_TIME,
        "batch.timeout_s": 0.1,
        "tree_depth": 32,
    }
    if anvil is not None:
        overrides |= {"l1.kind": "rpc", "l1.rpc_url": anvil.url, "l1.confirmations": 1}
    return load_config(None, env={}, overrides=overrides)


def _history(url: str) -> int:
    """Deposits into two accounts and TRANSFERS transfers between them; returns the batches closed."""
    secret, pk = keygen(bytes([5]) * 32)
    client = ZkClient(url)
    try:
        for index in (1, 2):
            client.dev_deposit(index, pk, 10**9)
        client.wait_for_account(2, timeout=60)
        last = None
        for n in range(TRANSFERS):
            tx = sign_transfer(
                secret, AccountIndex(1 + n % 2), AccountIndex(2 - n % 2), Amount(1), Fee(1), Nonce(n // 2)
            )
            last = client.send_transaction(tx)
            if n % 10 == 9:
                time.sleep(0.15)  # a few batches, not one
        assert last is not None
        client.wait_for_status(last.hash, "virtual", timeout=60)
        return client.chain_info().trusted_batch
    finally:
        client.close()


def _lengthen(data_dir: Path, anvil: Anvil | None, blocks: int) -> None:
    """Adds `blocks` blocks to the stopped node's L1: on the embedded chain each holds one deposit
    (contract work its replay must redo); anvil mines them empty (it replays nothing either way)."""
    if blocks <= 0:
        return
    if anvil is not None:
        anvil.mine(blocks)
        return
    store = Store(data_dir / DB_NAME)
    try:
        address = to_address(store.meta("rollup_address") or "")
    finally:
        store.close()
    _, pk = keygen(bytes([6]) * 32)
    with EmbeddedChain(data_dir / L1_DIR, block_time=BLOCK_TIME) as chain:
        rollup = RollupContract(chain, address)
        for i in range(blocks):
            rollup.deposit(100 + i % 1000, pk, 1, sender=chain.accounts[4])
            chain.mine()


def measure(l1: str, blocks: int) -> dict[str, Any]:
    """One start-up time on `l1` ("embedded" or "anvil") after `blocks` more L1 blocks."""
    with tempfile.TemporaryDirectory(prefix="zkpipe-startup-") as tmp, contextlib.ExitStack() as stack:
        anvil = (
            stack.enter_context(Anvil(Path(tmp) / "anvil", block_time=BLOCK_TIME)) if l1 == "anvil" else None
        )
        config = _config(Path(tmp) / "node", anvil)
        with BackgroundNode(config) as background:
            batches = _history(background.url)
        _lengthen(config.data_dir, anvil, blocks)
        started = time.perf_counter()
        with BackgroundNode(config) as background:
            elapsed = time.perf_counter() - started
            assert background.node is not None
            chain = background.node.chain
            chain_length = chain.latest_block().number
            replayed = chain.replayed_blocks if isinstance(chain, EmbeddedChain) else None
        return {
            "l1": l1,
            "l1_blocks": chain_length,
            "l1_replayed_blocks": replayed,
            "l2_batches": batches,
            "startup_s": round(elapsed, 3),
        }


def run_startup(blocks: Sequence[int] = (0, 1000, 5000)) -> dict[str, Any]:
    """Start-up time by L1 and chain length, with the machine it ran on."""
    rows = [measure(l1, n) for l1 in ("embedded", "anvil") for n in blocks]
    return {"benchmark": "startup", "machine": describe_machine(), "runs": rows}
