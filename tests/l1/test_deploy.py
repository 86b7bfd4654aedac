"""Deploying the rollup: constructor arguments become views; zero roles are rejected."""

from __future__ import annotations

import pytest

from tests.l1.conftest import GENESIS_ROOT, ROLLUP_CHAIN_ID, Devnet
from zkpipe.errors import L1Reverted
from zkpipe.l1.chain import Address
from zkpipe.l1.compiler import CompiledContract
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.hashes import ZERO_HASH
from zkpipe.l1.rollup import RollupContract

ZERO_ADDRESS = Address("0x" + "00" * 20)


def test_deploy_records_roles_genesis_and_chain_id(devnet: Devnet) -> None:
    rollup = devnet.rollup
    assert rollup.sequencer() == devnet.sequencer
    assert rollup.verifier() != ZERO_ADDRESS
    assert rollup.genesis_state_root() == GENESIS_ROOT == rollup.consolidated_state_root()
    assert rollup.chain_id() == ROLLUP_CHAIN_ID
    assert rollup.last_batch_sequenced() == rollup.last_verified_batch() == rollup.deposit_count() == 0
    assert rollup.deposit_queue_hash() == ZERO_HASH
    assert rollup.last_batch_timestamp() == devnet.chain.latest_block().timestamp
    assert rollup.gas_records[0].method == "deploy" and rollup.gas_records[0].gas_used > 500_000


@pytest.mark.parametrize(
    ("role", "reason"), [("sequencer", "zero sequencer"), ("verifier", "verifier is not a contract")]
)
def test_invalid_deploy_with_zero_role(
    chain: EmbeddedChain, compiled: CompiledContract, role: str, reason: str
) -> None:
    roles = {"sequencer": chain.accounts[1], "verifier": chain.accounts[2], role: ZERO_ADDRESS}
    tx = RollupContract.send_deploy(
        chain,
        deployer=chain.accounts[0],
        genesis_state_root=GENESIS_ROOT,
        chain_id=ROLLUP_CHAIN_ID,
        compiled=compiled,
        **roles,
    )
    chain.mine()
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None and not receipt.success and receipt.contract_address is None
    with pytest.raises(L1Reverted, match=reason):
        RollupContract.from_deployment(chain, receipt, compiled)
