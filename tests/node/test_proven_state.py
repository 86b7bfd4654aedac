"""The proving pipeline's start-up state: from the stored state after the last consolidated window,
re-applying only the batches after it; a stored state that does not match its batch is ignored."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from tests.node.conftest import node_config
from tests.node.helpers import fund
from zkpipe.client import ZkClient
from zkpipe.node.node import DB_NAME
from zkpipe.node.proving import compute_proven_state
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store
from zkpipe.spec import Amount, ChainId, PublicKey, State, apply_batch, decode_batch, initial_state

K = 8
pytestmark = pytest.mark.timeout(120)


def _facts(state: State) -> tuple[object, ...]:
    """What the proving pipeline goes on from (the tree through its root)."""
    return (
        state.tree.root,
        state.accounts,
        state.next_deposit_index,
        state.commitments,
        state.batch_number,
        state.timestamp,
        state.accumulated_input_hash,
        state.chain_id,
    )


def test_restart_reapplies_only_the_batches_after_the_proven_state(tmp_path: Path) -> None:
    config = node_config(tmp_path, tree_depth=32)
    with BackgroundNode(config) as background, ZkClient(background.url) as client:
        funded = fund(background, client, 2)
        for n in range(4):
            closed = client.chain_info().trusted_batch
            tx = client.send_transaction(funded.transfer(1 + n % 2, 2 - n % 2, nonce=n // 2))
            deadline = time.monotonic() + 30
            while client.chain_info().trusted_batch == closed:  # a batch each (0.1 s batch timeout)
                assert time.monotonic() < deadline
                time.sleep(0.05)
        client.wait_for_status(tx.hash, "virtual", timeout=30)
    store = Store(tmp_path / DB_NAME)
    try:
        last = store.last_batch()
        assert last is not None and last.number >= 3
        genesis = initial_state(
            PublicKey(bytes.fromhex(store.meta("fee_public_key") or "")), 32, ChainId(config.chain_id)
        )

        full, reapplied = compute_proven_state(store, genesis, last.number, K)
        assert reapplied == last.number  # nothing stored yet: every consolidated batch

        at_two = genesis
        for number in (1, 2):
            stored = store.batch_by_number(number)
            assert stored is not None
            at_two = apply_batch(at_two, decode_batch(stored.data), K).state
        store.store_proven_state(2, at_two.accounts)
        resumed, reapplied = compute_proven_state(store, genesis, last.number, K)
        assert reapplied == last.number - 2
        assert _facts(resumed) == _facts(full)

        # A proven state beyond what L1 consolidated is not used (a restart after a failed verify).
        _, reapplied = compute_proven_state(store, genesis, 1, K)
        assert reapplied == 1

        # A stored state that is not batch 2's (one balance off) is detected and ignored.
        index, account = max(at_two.accounts.items())
        wrong = dict(at_two.accounts) | {
            index: dataclasses.replace(account, balance=Amount(account.balance + 1))
        }
        store.store_proven_state(2, wrong)
        again, reapplied = compute_proven_state(store, genesis, last.number, K)
        assert reapplied == last.number
        assert _facts(again) == _facts(full)
    finally:
        store.close()
