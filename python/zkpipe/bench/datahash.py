"""`zkpipe bench datahash`: the cost of hashing public data in circuit (SHA-256, as L1 hashes it)."""

from __future__ import annotations

from zkpipe import native
from zkpipe.kpi.machine import describe_machine

COMPACT_TRANSFER_BYTES = 16
"""Public-data bytes of one compact transfer (the binding issue's goal)."""
ROWS_PER_TRANSFER_BUDGET = 600
"""Rows the binding issue allows for hashing one compact transfer."""


def run_datahash(quick: bool = False) -> dict[str, object]:
    """Rows per byte (plain gates, custom gate, whole data proof) and data-proof timings, one thread."""
    blocks = [2, 4] if quick else [2, 4, 16, 64]
    plain_sha, plain_keccak, gate_sha, circuits = native.bench_data_hash(blocks, threads=1)
    (first_blocks, first_rows, *_), (last_blocks, last_rows, *_) = circuits[0], circuits[-1]
    # Marginal rows per byte: the fixed part (constants, public inputs) is paid once per batch.
    rows_per_byte = (last_rows - first_rows) / (64 * (last_blocks - first_blocks))
    return {
        "benchmark": "datahash",
        "machine": describe_machine(),
        "threads": 1,
        "plain_gates": {
            "sha256_rows_per_block": plain_sha,
            "sha256_rows_per_byte": round(plain_sha / 64, 2),
            "keccak_f_rows": plain_keccak,
            "keccak_rows_per_byte": round(plain_keccak / 136, 2),
        },
        "custom_gate": {
            "sha256_rows_per_block": gate_sha,
            "sha256_rows_per_byte": round(gate_sha / 64, 2),
        },
        "data_hash": {
            "hash": "sha256",
            "data_chain": "poseidon per 16-byte chunk (ADR 27)",
            "rows_per_byte": round(rows_per_byte, 2),
            "rows_per_compact_transfer": round(rows_per_byte * COMPACT_TRANSFER_BYTES, 1),
            "compact_transfer_bytes": COMPACT_TRANSFER_BYTES,
            "budget_rows_per_compact_transfer": ROWS_PER_TRANSFER_BUDGET,
            "circuits": [
                {
                    "blocks": n,
                    "capacity_bytes": native.data_hash_capacity(n),
                    "rows": rows,
                    "degree_bits": bits,
                    "prove_s": round(prove_s, 3),
                    "verify_s": round(verify_s, 4),
                    "proof_bytes": size,
                }
                for n, rows, bits, prove_s, verify_s, size in circuits
            ],
        },
    }
