"""Measures the L1 gas of every rollup entry point on the embedded chain and prints it as JSON."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

from zkpipe.l1.chain import TxHash, wait_for_receipt
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.rollup import BatchData, DepositEvent, RollupContract
from zkpipe.l1.verifier import DEV_PROOF, deploy_dev_verifier
from zkpipe.l1.withdrawals import Withdrawal, WithdrawalTree
from zkpipe.native import ZERO_DIGEST
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    BatchHeader,
    BatchNumber,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Timestamp,
    Transfer,
    encode_batch,
    encode_tx,
)
from zkpipe.spec.public_data import encode_public_data

SEQUENCE_TXS = (1, 10, 100, 1_000)
"""Transfers in one batch sequenced alone (`sequence_gas_per_tx`)."""
MULTI_BATCH = ((16, 10), (16, 60), (4, 250))
"""(batches, transfers each) sequenced in one call."""
CLAIM_TREE_SIZES = (1, 8, 1024)


def transfers(count: int, rng: random.Random) -> list[Transfer]:
    """Realistic transfers: small indices and amounts, a random 80-byte signature each."""
    return [
        Transfer(
            AccountIndex(rng.randrange(1, 5_000)),
            AccountIndex(rng.randrange(1, 5_000)),
            Amount(rng.randrange(1, 10**9)),
            Fee(rng.randrange(0, 1_000)),
            Nonce(rng.randrange(0, 100)),
            Signature(rng.randbytes(80)),
        )
        for _ in range(count)
    ]


def calldata_gas(data: bytes) -> int:
    """What `data` costs as calldata: 16 gas per non-zero byte, 4 per zero byte (EIP-2028)."""
    return sum(16 if byte else 4 for byte in data)


def compact(batch: Batch, signatures: bool) -> bytes:
    """The batch's data with its operations in the compact public-data encoding."""
    full = encode_batch(batch)
    header = full[: len(full) - sum(len(encode_tx(tx)) for tx in batch.transactions)]
    return header + b"".join(encode_public_data(tx, signatures=signatures) for tx in batch.transactions)


def measure_gas() -> dict[str, Any]:
    """Gas used by deploy, sequence (several shapes), deposit, verify and claim; one fresh chain."""
    with EmbeddedChain(None) as chain:
        deployer, sequencer, aggregator, user = chain.accounts[:4]
        tx = RollupContract.send_deploy(
            chain,
            deployer=deployer,
            sequencer=sequencer,
            verifier=deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator, timeout=0),
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

        rng = random.Random(9)

        def sequence(count: int, txs: int, deposits: int = 0) -> int:
            """Sequence `count` batches of `txs` transfers (the first also consumes `deposits`)."""
            ts = chain.latest_block().timestamp
            number, start = rollup.last_batch_sequenced(), rollup.last_deposit_consumed()
            batches = []
            for i in range(count):
                queue = [queued[start + j] for j in range(deposits if i == 0 else 0)]
                end = start + len(queue)
                header = BatchHeader(
                    BatchNumber(number + i + 1),
                    Timestamp(ts),
                    DepositIndex(start),
                    DepositIndex(end),
                    ZERO_DIGEST,
                )
                batch = Batch(header, (*queue, *transfers(txs, rng)))
                batches.append(BatchData(encode_batch(batch), ts, end))
                sent[number + i + 1] = batches[-1]
                posted.append(batch)
                start = end
            return run(rollup.sequence_batches(batches, sender=sequencer))

        posted: list[Batch] = []
        sent: dict[int, BatchData] = {}
        queued = queued_deposits(rollup, chain.latest_block().number)
        report["sequence_first"] = sequence(1, 1, deposits=2)  # writes fresh slots; steady state below
        one = {str(n): sequence(1, n) for n in SEQUENCE_TXS}
        report["sequence_one_batch"] = one
        report["sequence_gas_per_tx"] = {n: round(gas / int(n), 1) for n, gas in one.items()}
        # Why a projection: the contract parses the full encodings only. The same batches' measured
        # gas with their calldata cost replaced by that of the compact encodings (spec.public_data).
        last = posted[-len(SEQUENCE_TXS) :]
        for key, signatures in (("compact_with_signatures", True), ("compact_without_signatures", False)):
            report[f"sequence_gas_per_tx_{key}_projected"] = {
                n: round(
                    (gas - calldata_gas(encode_batch(b)) + calldata_gas(compact(b, signatures))) / int(n), 1
                )
                for (n, gas), b in zip(one.items(), last, strict=True)
            }
        report["sequence_many_batches"] = {
            f"{count}x{txs}": sequence(count, txs) for count, txs in MULTI_BATCH
        }

        claims: dict[str, int] = {}
        verifies: list[int] = []
        for leaves in CLAIM_TREE_SIZES:
            sequence(1, 1)
            final = rollup.last_batch_sequenced()
            # Fresh recipients: paying an address that does not exist yet costs 25k gas more.
            recipient = bytes([len(claims) + 1]) * 20
            tree = WithdrawalTree([Withdrawal(final, i, recipient, 1) for i in range(leaves)])
            chains = [bytes([4 + i]) * 32 for i in range(3)]
            root = b"\x03" * 32
            tx = rollup.verify_batches(
                final, sent[final], root, chains, 0, tree.root, DEV_PROOF, sender=aggregator
            )
            verifies.append(run(tx))
            proof = tree.proof(leaves - 1, final_batch_number=final)
            claims[f"leaves={leaves},depth={tree.depth}"] = run(rollup.claim_withdrawal(proof, sender=user))
        # Through the dev verifier: the Groth16 one adds its pairing check (tests/wrap/test_rollup_verify.py).
        report["verify"] = verifies[-1]
        report["claim"] = claims
        report["note"] = (
            "gas used per L1 transaction, including the 21000 base and calldata; batches hold transfers "
            "in the spec's full encoding (112 bytes, the 80-byte signature included); *_projected: the "
            "same batches' gas with the calldata of the compact encodings (96 / 16 bytes per transfer) "
            "instead, which the contract does not parse yet; verify: verifyBatches through the dev "
            "verifier (no pairing check; the Groth16 verifier's is in docs/l1.md)"
        )
        return report


def queued_deposits(rollup: RollupContract, to_block: int) -> list[Deposit]:
    """The rollup's deposit queue so far, as the spec's deposits (from its events)."""
    return [
        Deposit(
            DepositIndex(e.deposit_index),
            AccountIndex(e.account_index),
            PublicKey(e.public_key),
            Amount(e.amount_gwei),
            L1Address(bytes.fromhex(e.sender.removeprefix("0x"))),
        )
        for e in rollup.events(0, to_block)
        if isinstance(e, DepositEvent)
    ]


def main() -> None:
    """Print the gas report as one JSON object."""
    json.dump(measure_gas(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
