"""Fixtures for node tests: a private compile cache and one running node per module."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.helpers import FundedNode, fund
from tests.sequencer.helpers import FEE_PK, KEYS, deposits
from zkpipe.client import ZkClient
from zkpipe.execution import SequentialExecutor, digest_bytes
from zkpipe.kpi import NodeMetrics
from zkpipe.l1 import EmbeddedChain, RollupContract
from zkpipe.l1.anvil import Anvil, dev_key
from zkpipe.l1.rollup import BatchData
from zkpipe.l1.sender import SequenceSender
from zkpipe.l1.syncer import L1Syncer
from zkpipe.l1.verifier import deploy_dev_verifier
from zkpipe.node.config import load_config
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store
from zkpipe.spec import (
    CHAIN_ID,
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    Timestamp,
    compute_batch_input_hash,
    initial_state,
    sign_transfer,
)


@pytest.fixture(scope="session", autouse=True)
def private_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep compiled contracts of the tests out of the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("zkpipe-cache")))
        yield


def node_config(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """A test configuration: free port, fast blocks, short batch timeout."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "rpc.port": 0,
        "l1.block_time": 0.3,
        "l1.send_margin_s": 0.1,
        "batch.timeout_s": 0.1,
        "store.synchronous": "NORMAL",
        "tree_depth": 16,
    }
    values.update(overrides)
    return load_config(None, env={}, overrides=values)


def proving_node_config(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """A test configuration with the provers on: depth-32 tree, two workers, windows of 2 batches."""
    values: dict[str, object] = {
        "tree_depth": 32,
        "proving.enabled": True,
        "proving.workers": 2,
        "proving.aggregation_n": 2,
        "proving.aggregation_timeout_s": 2.0,
        "l1.block_time": 0.5,
        "batch.timeout_s": 0.3,
    }
    values.update(overrides)
    return node_config(data_dir, **values)


@pytest.fixture(scope="module")
def funded(tmp_path_factory: pytest.TempPathFactory, private_compile_cache: None) -> Iterator[FundedNode]:
    """A running node with four funded accounts (1..4)."""
    background = BackgroundNode(node_config(tmp_path_factory.mktemp("node"), **{"rpc.max_body_bytes": 65536}))
    background.start()
    client = ZkClient(background.url)
    try:
        yield fund(background, client, 4)
    finally:
        client.close()
        background.stop()


L1_KINDS = ("embedded", "anvil")
"""The L1s the end-to-end and kill -9 tests run on."""


def anvil_overrides(anvil: Anvil, keys: int = 6) -> dict[str, object]:
    """Node settings for a JSON-RPC L1 on `anvil`: its first `keys` dev keys (roles use the first four)."""
    return {
        "l1.kind": "rpc",
        "l1.rpc_url": anvil.url,
        "l1.keys": ",".join("0x" + dev_key(i).hex() for i in range(keys)),
        "l1.confirmations": 1,
    }


L1_SETUP_DEPTH = 8


@pytest.fixture
def l1_setup(
    tmp_path: Path, private_compile_cache: None
) -> Iterator[tuple[EmbeddedChain, RollupContract, Store, SequenceSender, L1Syncer]]:
    """An embedded chain with the rollup deployed and a store holding two closed batches."""
    yield from make_l1_setup(tmp_path, L1_SETUP_DEPTH)


def make_l1_setup(
    tmp_path: Path, depth: int
) -> Iterator[tuple[EmbeddedChain, RollupContract, Store, SequenceSender, L1Syncer]]:
    """`l1_setup` with a tree of `depth` (32 for what the circuits take)."""
    chain = EmbeddedChain(None, block_time=1.0)
    deployer, sequencer, aggregator = chain.accounts[:3]
    genesis = initial_state(FEE_PK, depth)
    tx = RollupContract.send_deploy(
        chain, deployer=deployer, sequencer=sequencer,
        verifier=deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator, timeout=0),
        genesis_state_root=digest_bytes(genesis.tree.root), chain_id=CHAIN_ID,
    )  # fmt: skip
    chain.mine()
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None
    rollup = RollupContract.from_deployment(chain, receipt)
    for i, (_, pk) in enumerate(KEYS):  # the L1 queue entries the first batch consumes
        rollup.deposit(i + 1, pk, 1000, sender=chain.accounts[3])
    chain.mine()
    store = Store(tmp_path / "node.db", synchronous="NORMAL")
    # Two closed batches, stored as the sequencer would.
    executor = SequentialExecutor(genesis)
    l1_acc = bytes(32)
    seq = 0
    ts = chain.latest_block().timestamp
    for number in (1, 2):
        rows = []
        if number == 1:
            depositor = L1Address(bytes.fromhex(chain.accounts[3].removeprefix("0x")))
            for deposit, _ in deposits():
                seq += 1  # exactly the entry L1 queued (L1 checks every posted deposit against its queue)
                rows.append((seq, executor.execute(dataclasses.replace(deposit, l1_sender=depositor)), 0.0))
        secret = KEYS[0][0]
        transfer = sign_transfer(
            secret, AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(number - 1)
        )
        seq += 1
        rows.append((seq, executor.execute(transfer), 0.0))
        closed = executor.close_batch(Timestamp(ts))
        l1_acc = compute_batch_input_hash(l1_acc, closed.encoding, CHAIN_ID)
        store.commit_group(rows, [(closed, l1_acc, 0.0)], 0.0)
    metrics = NodeMetrics()
    sender = SequenceSender(
        chain, rollup, store, metrics, sender=sequencer, block_time=1.0, send_margin_s=0.1
    )
    yield chain, rollup, store, sender, L1Syncer(chain, rollup, store, metrics)
    store.close()
    chain.close()


def _data(store: Store, number: int) -> BatchData:
    b = store.batch_by_number(number)
    assert b is not None
    return BatchData(b.data, b.timestamp, b.deposit_end)


def batch_data(store: Store, number: int) -> BatchData:
    """A stored batch as the sender posts it."""
    b = store.batch_by_number(number)
    assert b is not None
    return BatchData(b.data, b.timestamp, b.deposit_end)
