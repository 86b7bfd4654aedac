"""`zkpipe bench primitives`: native throughput of hashing, the state tree and signatures."""

from __future__ import annotations

import time
from collections.abc import Callable

from zkpipe import native
from zkpipe.kpi.machine import describe_machine


def _rate(name: str, seconds: float) -> float:
    """Operations per second of a native loop, sized to run for about `seconds`."""
    iterations = 16
    while True:
        elapsed = native.bench_primitive(name, iterations)
        if elapsed >= seconds / 4 or iterations >= 1 << 26:
            break
        iterations *= 4
    elapsed = native.bench_primitive(name, iterations)
    return iterations / elapsed


def _timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of `repeat` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _python_smt_rate(seconds: float) -> float:
    """Single-leaf updates per second through the Python facade (includes call overhead)."""
    tree = native.SparseMerkleTree(32)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds / 2:
        tree.update([((count * 2_654_435_761) % 2**32, (count + 1, 0, 0, 0))])
        count += 1
    return count / (time.perf_counter() - start)


def run_primitives(seconds: float = 1.0) -> dict[str, object]:
    """Measures every primitive on one thread and returns the figures as a dict."""
    tree = native.SparseMerkleTree(32)
    leaf = native.poseidon_hash([1, 2, 3, 4, 5])
    tree.update([(12345, leaf)])
    membership = native.prove_membership(tree.root, 12345, leaf, tree.proof(12345), threads=1)  # warm up
    prove_s = _timed(lambda: native.prove_membership(tree.root, 12345, leaf, tree.proof(12345), threads=1))
    wrap_s = _timed(lambda: native.wrap_membership_proof(membership, depth=32, threads=1))
    verify_s = _timed(lambda: native.verify_membership(membership, depth=32), repeat=10)
    return {
        "hash_perm_per_s": round(_rate("poseidon_permute", seconds)),
        "hash_two_to_one_per_s": round(_rate("poseidon_two_to_one", seconds)),
        "smt_updates_per_s": round(_rate("smt_update", seconds)),
        "smt_updates_per_s_from_python": round(_python_smt_rate(seconds)),
        "sig_verify_per_s": round(_rate("sig_verify", seconds), 1),
        "sig_sign_per_s": round(_rate("sig_sign", seconds), 1),
        "membership_prove_depth32_s": round(prove_s, 4),
        "membership_recursive_wrap_s": round(wrap_s, 4),
        "membership_verify_ms": round(verify_s * 1000, 3),
        "membership_proof_bytes": len(membership),
        "threads": 1,
        "machine": describe_machine(),
        "versions": native.library_versions(),
    }
