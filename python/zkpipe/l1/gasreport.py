"""Measures the L1 gas of every rollup entry point on the embedded chain and prints it as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from zkpipe.l1.chain import TxHash, wait_for_receipt
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.rollup import BatchData, RollupContract
from zkpipe.l1.withdrawals import Withdrawal, WithdrawalTree

SEQUENCE_SIZES = (1_000, 10_000, 100_000, 120_000)
"""Bytes of one batch sequenced alone."""
MULTI_BATCH = ((16, 1_000), (16, 7_000), (4, 30_000))
"""(batches, bytes each) sequenced in one call."""
CLAIM_TREE_SIZES = (1, 8, 1024)


def measure_gas() -> dict[str, Any]:
    """Gas used by deploy, sequence (several shapes), deposit, verify and claim; one fresh chain."""
    with EmbeddedChain(None) as chain:
        deployer, sequencer, aggregator, user = chain.accounts[:4]
        tx = RollupContract.send_deploy(
            chain,
            deployer=deployer,
            sequencer=sequencer,
            aggregator=aggregator,
            genesis_state_root=bytes(32),
            chain_id=1,
        )
        chain.mine()
        receipt = wait_for_receipt(chain, tx, timeout=0)
        rollup = RollupContract.from_deployment(chain, receipt)

        def run(tx_hash: TxHash) -> int:
            chain.mine()
            return rollup.wait(tx_hash, timeout=0).gas_used

        report: dict[str, Any] = {"deploy": receipt.gas_used}
        # Deposits first: the first one writes fresh storage slots, later ones mostly update them.
        report["deposit_first"] = run(rollup.deposit(1, b"\x01" * 40, 10**9, sender=user))
        report["deposit"] = run(rollup.deposit(2, b"\x02" * 40, 10**9, sender=user))

        def sequence(count: int, size: int) -> int:
            ts = chain.latest_block().timestamp
            # Non-zero bytes: calldata costs 16 gas per non-zero byte, 4 per zero byte.
            batches = [BatchData(b"\x5a" * size, ts, 2) for _ in range(count)]
            return run(rollup.sequence_batches(batches, sender=sequencer))

        sequence(1, 1)  # the first call writes fresh slots; measure steady state below
        report["sequence_one_batch"] = {str(size): sequence(1, size) for size in SEQUENCE_SIZES}
        report["sequence_many_batches"] = {
            f"{count}x{size}": sequence(count, size) for count, size in MULTI_BATCH
        }

        claims: dict[str, int] = {}
        verifies: list[int] = []
        for leaves in CLAIM_TREE_SIZES:
            sequence(1, 100)
            final = rollup.last_batch_sequenced()
            # Fresh recipients: paying an address that does not exist yet costs 25k gas more.
            recipient = bytes([len(claims) + 1]) * 20
            tree = WithdrawalTree([Withdrawal(final, i, recipient, 1) for i in range(leaves)])
            verifies.append(run(rollup.verify_batches(final, b"\x03" * 32, tree.root, sender=aggregator)))
            proof = tree.proof(leaves - 1, final_batch_number=final)
            claims[f"leaves={leaves},depth={tree.depth}"] = run(rollup.claim_withdrawal(proof, sender=user))
        report["verify"] = verifies[-1]
        report["claim"] = claims
        report["note"] = "gas used per L1 transaction, including the 21000 base and calldata"
        return report


def main() -> None:
    """Print the gas report as one JSON object."""
    json.dump(measure_gas(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
