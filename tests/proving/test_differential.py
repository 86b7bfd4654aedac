"""Differential: on random batches (deposits credited and refunded, transfers, withdrawals) sequenced
on a real L1, every segment proof's statement is the spec's, and the joined statement is L1's."""

from __future__ import annotations

import random

import pytest

from tests.l1.conftest import Devnet, queued_deposits
from tests.proving.test_deposit_rules import statement_of
from tests.spec.helpers import FEE_PK, make_transfer, make_withdraw, pk
from zkpipe.execution import digest_bytes
from zkpipe.l1.chain import wait_for_receipt
from zkpipe.l1.compiler import compile_contract
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.hashes import ZERO_HASH
from zkpipe.l1.rollup import BatchData, RollupContract
from zkpipe.l1.verifier import deploy_dev_verifier
from zkpipe.proving import Prover, Statement
from zkpipe.proving.witness import compute_segment_witness
from zkpipe.spec import (
    AccountIndex,
    ChainId,
    PublicKey,
    State,
    Transaction,
    apply_batch,
    apply_tx,
    compute_batch_input_hash,
    encode_batch,
    initial_state,
)
from zkpipe.workload import next_batch

CHAIN = ChainId(0xD1FF)
USERS = 4


def _queue(rng: random.Random, chain: EmbeddedChain, rollup: RollupContract, count: int) -> None:
    """Queues `count` deposits on L1: most to their owner's key, some to a slot holding another."""
    for _ in range(count):
        account = rng.randint(1, USERS)
        owner = account if rng.random() < 0.75 else account % USERS + 1  # a mismatch once created
        rollup.deposit(account, pk(owner), rng.randint(1_000, 10**6), sender=chain.accounts[3])
    chain.mine()


def _user_txs(rng: random.Random, state: State, count: int) -> list[Transaction]:
    """`count` transfers and withdrawals that are valid in order after `state` (signed for its chain)."""
    scratch, txs = state.copy(), []
    # Senders hold their own key (a slot a mismatched deposit created belongs to another key).
    funded = [
        i
        for i in range(1, USERS + 1)
        if (a := scratch.accounts.get(AccountIndex(i))) and a.public_key == pk(i)
    ]
    for _ in range(count if len(funded) >= 2 else 0):
        sender, recipient = rng.sample(funded, 2)
        tx: Transaction
        if rng.random() < 0.3:
            tx = make_withdraw(scratch, sender, rng.randint(1, 50), fee=rng.randint(0, 5))
        else:
            tx = make_transfer(scratch, sender, recipient, rng.randint(1, 50), fee=rng.randint(0, 5))
        apply_tx(scratch, tx)
        txs.append(tx)
    return txs


@pytest.mark.parametrize("seed", [7])
def test_proof_statements_equal_the_spec_and_l1_on_random_batches(prover: Prover, seed: int) -> None:
    rng = random.Random(seed)
    state = initial_state(PublicKey(FEE_PK), chain_id=CHAIN)
    with EmbeddedChain(None) as chain:
        deployer, sequencer, aggregator, user, other = chain.accounts[:5]
        tx_hash = RollupContract.send_deploy(
            chain, deployer=deployer, sequencer=sequencer, chain_id=CHAIN,
            verifier=deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator, timeout=0),
            genesis_state_root=digest_bytes(state.tree.root), compiled=compile_contract("rollup"),
        )  # fmt: skip
        chain.mine()
        rollup = RollupContract.from_deployment(chain, wait_for_receipt(chain, tx_hash, timeout=0))
        devnet = Devnet(chain, rollup, deployer, sequencer, aggregator, user, other)
        statements: list[Statement] = []
        acc = ZERO_HASH
        for deposits, users in ((6, 5), (2, 9)):
            _queue(rng, chain, rollup, deposits)
            queued = queued_deposits(devnet)[state.next_deposit_index :]
            scratch = state.copy()
            for deposit in queued:
                apply_tx(scratch, deposit)
            txs: list[Transaction] = [*queued, *_user_txs(rng, scratch, users)]
            batch = next_batch(state, txs, chain.latest_block().timestamp)
            result = apply_batch(state, batch, 8)
            data = encode_batch(batch)
            posted = BatchData(data, batch.header.timestamp, batch.header.deposit_end)
            devnet.mine_receipt(rollup.sequence_batches([posted], sender=sequencer))
            acc = compute_batch_input_hash(acc, data, CHAIN)
            assert rollup.acc_input_hash(batch.header.number) == acc
            for segment in result.segments:
                proven = statement_of(prover, compute_segment_witness(segment))
                assert proven == Statement.of_segment(segment)
                statements.append(proven)
            state = result.state
        joined = statements[0]
        for right in statements[1:]:
            joined = joined.joined(right)
        # What L1 compares from its own storage once it verifies proofs.
        assert digest_bytes(joined.root_before) == rollup.consolidated_state_root()
        assert (joined.queue_in, joined.queue_out) == (0, rollup.last_deposit_consumed())
        assert joined.chain_id == rollup.chain_id() == CHAIN
        assert joined.root_after == state.tree.root and joined.commitments_out == state.commitments
        refunded = [r for r in statements if r.withdrawals_in != r.withdrawals_out]
        assert refunded, "the random batches hold no withdrawal or refund"
