"""`zkpipe bench wrap`: an aggregate of two batches wrapped for the EVM and verified on the embedded L1.

Stages: two one-segment batches proven and aggregated (not timed here: `bench proving` measures
them), the outer BN254 layer, then the Go program (compile and Groth16 setup on the first run
for a circuit, cached under $ZKPIPE_CACHE_DIR/wrap/, then the Groth16 proof), and the
verifier contract's `verifyProof` on the embedded L1.
"""

from __future__ import annotations

import time
from typing import Any

from zkpipe.bench.proving import _batch_proofs
from zkpipe.kpi.machine import describe_machine
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.groth16 import Groth16Verifier
from zkpipe.proving import Prover
from zkpipe.proving.wrap import Groth16Proof, print_progress, wrap_aggregate

TARGETS = {"gnark_prove_s": 120.0, "gnark_peak_rss_mib": 12 * 1024.0, "verify_gas": 300_000}
"""The issue's targets on a 2-core machine."""


def verify_on_l1(wrapped: Groth16Proof) -> int:
    """Deploys the wrap's verifier on a fresh embedded L1 and returns the gas of one verifyProof."""
    with EmbeddedChain(None) as chain:
        tx = Groth16Verifier.send_deploy(chain, wrapped.verifier_key(), deployer=chain.accounts[0])
        chain.mine()
        receipt = chain.receipt_by_hash(tx)
        assert receipt is not None
        verifier = Groth16Verifier.from_receipt(chain, receipt)
        if not verifier.verify(wrapped.words, wrapped.public_input):
            raise AssertionError("the verifier contract rejected the wrap's proof")
        return verifier.verify_gas(wrapped.words, wrapped.public_input, sender=chain.accounts[1])


def run_wrap(k: int = 8) -> dict[str, Any]:
    """Wraps one aggregate for segment size `k`; the figures the issue lists, and the targets."""
    prover = Prover(k)
    started = time.monotonic()
    first, second = _batch_proofs(prover, 2)
    aggregate = prover.aggregate(first, second).data
    aggregate_s = time.monotonic() - started
    wrapped = wrap_aggregate(k, aggregate, on_progress=print_progress)
    gas = verify_on_l1(wrapped)
    times = wrapped.gnark_times_s
    result: dict[str, Any] = {
        "benchmark": "wrap",
        "machine": describe_machine(),
        "k": k,
        "aggregate_s": round(aggregate_s, 1),
        "outer_build_s": round(wrapped.outer_build_s, 1),
        "outer_prove_s": round(wrapped.outer_prove_s, 1),
        "keys_cached": "load_s" in times,
        "gnark_load_s": round(times.get("load_s", 0.0), 1),
        "gnark_compile_s": round(times.get("compile_s", 0.0), 1),
        "gnark_setup_s": round(times.get("setup_s", 0.0), 1),
        "gnark_prove_s": round(times["prove_s"], 1),
        "gnark_peak_rss_mib": round(wrapped.gnark_peak_rss_mib),
        "constraints": wrapped.constraints,
        "proof_bytes": wrapped.proof_bytes,
        "verify_gas": gas,
        "circuit_key": wrapped.circuit_key,
        "targets": TARGETS,
    }
    return result
