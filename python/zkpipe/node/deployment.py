"""The operator's keys and the rollup contract: L1 roles, the fee key, deploying or attaching."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zkpipe.execution import digest_bytes
from zkpipe.l1 import RollupContract, wait_for_receipt
from zkpipe.l1.chain import Address, L1Chain, to_address
from zkpipe.l1.syncer import CURSOR_KEY, ORIGIN_KEY
from zkpipe.l1.verifier import deployed_address, send_deploy_dev_verifier
from zkpipe.native import keygen, public_key
from zkpipe.node.config import ConfigError
from zkpipe.node.store import Store
from zkpipe.spec import ChainId, PublicKey, initial_state

OPERATOR_KEY = "operator.key"
"""The fee account's secret key, in the data directory (mode 0600)."""
ROLLUP_ADDRESS_KEY = "rollup_address"
FEE_KEY = "fee_public_key"


@dataclass(frozen=True, slots=True)
class L1Roles:
    """Which L1 account plays which role (each signs its own transactions)."""

    deployer: Address
    sequencer: Address
    aggregator: Address
    depositor: Address
    """Pays `zk_devDeposit` deposits (devnets only)."""

    @classmethod
    def from_accounts(cls, accounts: Sequence[Address]) -> L1Roles:
        """The first four accounts of a devnet, in role order."""
        return cls(accounts[0], accounts[1], accounts[2], accounts[3])


def operator_fee_key(store: Store, data_dir: Path) -> PublicKey:
    """The fee account's key: created on first start (secret in data_dir/operator.key, mode 0600)."""
    stored = store.meta(FEE_KEY)
    if stored is not None:
        return PublicKey(bytes.fromhex(stored))
    path = data_dir / OPERATOR_KEY
    if path.exists():
        secret = bytes.fromhex(path.read_text().strip())
    else:
        secret, _ = keygen()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret.hex())
            f.flush()
            os.fsync(f.fileno())
    pk = PublicKey(public_key(secret))
    store.set_meta(**{FEE_KEY: pk.hex()})
    return pk


def deploy_or_attach(
    chain: L1Chain,
    store: Store,
    roles: L1Roles,
    fee_public_key: PublicKey,
    *,
    tree_depth: int,
    block_time: float,
    chain_id: ChainId,
    address: Address | None = None,
) -> RollupContract:
    """The rollup contract: the one in the store, else `address` (attach), else a new deployment.

    A new deployment records its address and the block before it (where the syncer starts and where
    a re-sync goes back to at the earliest). It consolidates through the INSECURE dev verifier
    (zkpipe.l1.verifier: the aggregator's word) until the node wraps its aggregates (docs/wrap.md).
    """
    stored = store.meta(ROLLUP_ADDRESS_KEY)
    if stored is not None:
        return RollupContract(chain, to_address(stored))
    genesis = initial_state(fee_public_key, tree_depth, chain_id)
    if address is not None:
        rollup = RollupContract(chain, address)
        if (
            rollup.sequencer() != roles.sequencer
            or rollup.genesis_state_root() != digest_bytes(genesis.tree.root)
            or rollup.chain_id() != chain_id
        ):
            raise ConfigError(
                f"the rollup at {address} has another sequencer, genesis or chain id than this node"
            )
        store.set_meta(**{ROLLUP_ADDRESS_KEY: rollup.address, CURSOR_KEY: "-1", ORIGIN_KEY: "-1"})
        return rollup
    timeout = max(60.0, 5 * block_time)
    verifier_tx = send_deploy_dev_verifier(chain, deployer=roles.deployer, aggregator=roles.aggregator)
    verifier = deployed_address(wait_for_receipt(chain, verifier_tx, timeout=timeout))
    tx_hash = RollupContract.send_deploy(
        chain,
        deployer=roles.deployer,
        sequencer=roles.sequencer,
        verifier=verifier,
        genesis_state_root=digest_bytes(genesis.tree.root),
        chain_id=chain_id,
    )
    receipt = wait_for_receipt(chain, tx_hash, timeout=timeout)
    rollup = RollupContract.from_deployment(chain, receipt)
    before = str(receipt.block_number - 1)
    store.set_meta(**{ROLLUP_ADDRESS_KEY: rollup.address, CURSOR_KEY: before, ORIGIN_KEY: before})
    return rollup
