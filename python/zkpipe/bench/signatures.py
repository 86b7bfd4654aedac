"""`zkpipe bench signatures`: ECgFp5 Schnorr signatures verified natively (one by one vs in
batches, 1 and 2 threads) and in circuit (rows, proving, memory).

Each signature circuit is proven in a fresh subprocess so its peak RSS is its own. Run as
`python -m zkpipe.bench.signatures N THREADS` to measure one count (prints one JSON object).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from zkpipe.bench.isolated import measure_in_subprocess
from zkpipe.kpi.machine import describe_machine
from zkpipe.native import SIGNATURE_BATCH, batch_verify, bench_signatures, keygen, sign

ROWS_PER_SIGNATURE_BUDGET = 1500
"""Rows the signature issue allows for verifying one signature."""
QUICK_COUNTS = (1, 8)
FULL_COUNTS = (1, 8, 64)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
"""Batch sizes whose one-thread rate is compared with one by one (the crossover)."""


Item = tuple[bytes, tuple[int, int, int, int], bytes]


def _signed(count: int) -> list[Item]:
    keys = [keygen(bytes([i]) * 32) for i in range(8)]
    items = []
    for i in range(count):
        secret, public = keys[i % len(keys)]
        message = (i, i * 7 + 1, 3, 4)
        items.append((public, message, sign(secret, message)))
    return items


def _timed(items: list[Item], threads: int, chunk: int) -> tuple[float, float]:
    """Best wall and CPU seconds of three runs verifying `items` (every result must be valid)."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        assert all(batch_verify(items, threads=threads, chunk=chunk))
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def _rate(items: list[Item], threads: int, chunk: int) -> float:
    """Verifications per wall second, best of three runs."""
    return round(len(items) / _timed(items, threads, chunk)[0], 1)


def measure_verification(count: int = 512) -> dict[str, Any]:
    """Native verification rates: one by one vs batches sharing inversions, at 1 and 2 threads."""
    items = _signed(count)
    batch_verify(items[:4])  # builds the generator's table once
    rates = {
        f"{mode}_{threads}_threads": _rate(items, threads, chunk)
        for threads in (1, 2)
        for mode, chunk in (("one_by_one", 1), ("batch", SIGNATURE_BATCH))
    }
    one = rates["one_by_one_1_threads"]
    by_size = {n: _rate(items, 1, n) for n in BATCH_SIZES}
    cpu_us = {
        mode: round(_timed(items, 1, chunk)[1] / count * 1e6, 1)
        for mode, chunk in (("one_by_one", 1), ("batch", SIGNATURE_BATCH))
    }
    return {
        "signatures": count,
        "verifications_per_s": rates,
        # CPU time does not grow with the machine's load as wall time does: compare these under load.
        "cpu_us_per_verification_1_thread": cpu_us,
        "batch_chunk": SIGNATURE_BATCH,
        "speedup_batch_1_thread": round(rates["batch_1_threads"] / one, 3),
        "speedup_batch_2_threads": round(rates["batch_2_threads"] / rates["one_by_one_2_threads"], 3),
        "one_thread_rate_by_batch_size": by_size,
        "crossover_batch_size": next((n for n in BATCH_SIZES if n > 1 and by_size[n] > one), None),
    }


def measure_count(n: int, threads: int) -> dict[str, Any]:
    """Builds, proves and verifies a circuit of n signatures (point-step gate) in this process."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    _, circuits = bench_signatures([n], threads=threads)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    (count, rows, bits, build_s, prove_s, verify_s, size) = circuits[0]
    return {
        "signatures": count,
        "rows": rows,
        "degree_bits": bits,
        "build_s": round(build_s, 2),
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 4),
        "proof_bytes": size,
        "cpu_s_build_prove_verify": round(cpu_s, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_signatures(quick: bool = False, threads: int = 1) -> dict[str, object]:
    """Rows per signature by backend, and signature circuits of several sizes proven on `threads`."""
    rows, _ = bench_signatures([], threads=threads)
    by_backend = dict(rows)
    circuits = [
        measure_in_subprocess("zkpipe.bench.signatures", n, threads)
        for n in (QUICK_COUNTS if quick else FULL_COUNTS)
    ]
    return {
        "benchmark": "signatures",
        "machine": describe_machine(),
        "threads": threads,
        "native_verification": measure_verification(128 if quick else 512),
        "rows_per_signature": by_backend["ec_gate"],
        "rows_per_signature_by_backend": by_backend,
        "budget_rows_per_signature": ROWS_PER_SIGNATURE_BUDGET,
        "circuits": circuits,
        "prove_s_per_signature": round(circuits[-1]["prove_s"] / circuits[-1]["signatures"], 3),
    }


if __name__ == "__main__":
    print(json.dumps(measure_count(int(sys.argv[1]), int(sys.argv[2]))))
