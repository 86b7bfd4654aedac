"""`zkpipe bench signatures`: ECgFp5 Schnorr signatures verified in circuit (rows, proving, memory).

Each signature circuit is proven in a fresh subprocess so its peak RSS is its own. Run as
`python -m zkpipe.bench.signatures N THREADS` to measure one count (prints one JSON object).
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

from zkpipe.bench.isolated import measure_in_subprocess
from zkpipe.kpi.machine import describe_machine
from zkpipe.native import bench_signatures

ROWS_PER_SIGNATURE_BUDGET = 1500
"""Rows the signature issue allows for verifying one signature."""
QUICK_COUNTS = (1, 8)
FULL_COUNTS = (1, 8, 64)


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
        "rows_per_signature": by_backend["ec_gate"],
        "rows_per_signature_by_backend": by_backend,
        "budget_rows_per_signature": ROWS_PER_SIGNATURE_BUDGET,
        "circuits": circuits,
        "prove_s_per_signature": round(circuits[-1]["prove_s"] / circuits[-1]["signatures"], 3),
    }


if __name__ == "__main__":
    print(json.dumps(measure_count(int(sys.argv[1]), int(sys.argv[2]))))
