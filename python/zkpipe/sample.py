"""The demo until the node exists: sample batches through the spec, proven, aggregated and verified."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zkpipe.bench.workload import Accounts, deposits, next_batch, user_mix
from zkpipe.proving import Proof, Prover
from zkpipe.spec import TxStatus, apply_batch, compute_tx_hash, get_tx_type, initial_state


def _hex(digest: tuple[int, ...]) -> str:
    return "0x" + "".join(f"{x:016x}" for x in digest)


def run_sample(
    *,
    accounts: int,
    transfers: int,
    segment_size: int,
    threads: int,
    out: Path | None,
    progress: Callable[[str, int, int], None] = lambda step, done, total: None,
) -> dict[str, Any]:
    """Two batches (deposits, then a user mix), every segment proven, all folded into one verified proof."""
    keys = Accounts.generate(accounts)
    state = initial_state(keys.public(0))
    batches = [next_batch(state, deposits(state, keys, 10**9), 1_700_000_000)]
    first = apply_batch(state, batches[0], segment_size)
    batches.append(
        next_batch(first.state, user_mix(first.state, keys, transfers, rng=random.Random(7)), 1_700_000_002)
    )
    second = apply_batch(first.state, batches[1], segment_size)
    results = [first, second]

    prover = Prover(segment_size, threads=threads)
    progress("circuits", 0, 1)
    setup = prover.setup
    segments = [s for r in results for s in r.segments]
    proofs: list[Proof] = []
    started = time.perf_counter()
    for i, segment in enumerate(segments):
        progress("segments", i, len(segments))
        proofs.append(prover.prove_segment(segment))
    progress("aggregating", 0, 1)
    aggregate = prover.aggregate_all(proofs)
    statement = prover.verify(aggregate)
    elapsed = time.perf_counter() - started
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        aggregate.save(out / "aggregate.proof")

    final = second.state
    agrees = statement.root_before == state.tree.root and statement.root_after == final.tree.root
    receipts = [
        {
            "batch": int(batch.header.number),
            "type": get_tx_type(tx).name.lower(),
            "tx_hash": _hex(compute_tx_hash(tx))[:18] + "…",
            "status": str(receipt.status),
            "code": None if receipt.code is None else str(receipt.code),
        }
        for batch, result in zip(batches, results, strict=True)
        for tx, receipt in zip(batch.transactions, result.receipts, strict=True)
    ]
    return {
        "txs": len(receipts),
        "batches": [
            {
                "number": int(b.header.number),
                "txs": len(b.transactions),
                "root_after": _hex(r.state.tree.root),
            }
            for b, r in zip(batches, results, strict=True)
        ],
        "genesis_root": _hex(state.tree.root),
        "final_root": _hex(final.tree.root),
        "refunded": sum(r["status"] == str(TxStatus.REFUNDED) for r in receipts),
        "fees_credited": statement.fee_total,
        "segment_size": segment_size,
        "segments_proven": len(proofs),
        "aggregate_proof_bytes": len(aggregate.data),
        "proof_verified": True,
        "proof_matches_spec": agrees,
        "circuits_from_cache": setup.from_cache,
        "circuit_setup_s": round(setup.setup_seconds, 2),
        "proving_s": round(elapsed, 2),
        "proof_file": None if out is None else str(out / "aggregate.proof"),
        "receipts": receipts,
    }
