"""The wrap: a final aggregate re-proven in the BN254 outer layer, then as Groth16 by the Go program.

The engine writes the outer proof as the JSON gnark-plonky2-verifier reads; `wrap/`'s
program (`zkpipe-wrap`) compiles its verifier circuit once per outer circuit, sets up
Groth16 once (keys cached under $ZKPIPE_CACHE_DIR/wrap/), and proves. The single-party
setup is for development only: production replaces the keys by a ceremony's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe import native
from zkpipe.errors import ProvingFailed

REPO_ROOT = Path(__file__).resolve().parents[3]
STATEMENT_MASK = (1 << 253) - 1
"""The public input keeps the low 253 bits of the SHA-256, so it is below the BN254 scalar field."""


def statement_hash(statement: Sequence[int], verifier_digest: int | None = None) -> int:
    """The Groth16 public input: SHA-256 of the statement (8 big-endian bytes each), top 3 bits cleared.

    With `verifier_digest` (the circuit per shape, ADR 33), the outer circuit's digest as 32
    big-endian bytes comes first.
    """
    prefix = b"" if verifier_digest is None else verifier_digest.to_bytes(32, "big")
    digest = hashlib.sha256(prefix + b"".join(x.to_bytes(8, "big") for x in statement)).digest()
    return int.from_bytes(digest, "big") & STATEMENT_MASK


def wrapper_binary() -> Path:
    """The Go program: $ZKPIPE_WRAP_BIN, or the one `make wrap` builds in the repository."""
    configured = os.environ.get("ZKPIPE_WRAP_BIN")
    path = Path(configured) if configured else REPO_ROOT / "wrap" / "zkpipe-wrap"
    if not path.is_file():
        raise ProvingFailed(f"the wrap program is missing at {path}: run `make wrap`")
    return path


@dataclass(frozen=True, slots=True)
class Groth16Proof:
    """A wrapped proof as the verifier contract takes it, and what making it cost."""

    words: tuple[int, ...]
    """A (2), B (4, imaginary parts first), C (2), commitment D (2), its proof of knowledge (2)."""
    public_input: int
    statement: tuple[int, ...]
    circuit_key: str
    cache_dir: Path
    outer_prove_s: float
    outer_build_s: float
    gnark_times_s: dict[str, float]
    gnark_peak_rss_mib: float
    constraints: int

    @property
    def proof_bytes(self) -> int:
        """Bytes of the proof as sent to L1 (twelve 32-byte words)."""
        return 32 * len(self.words)

    def verifier_key(self) -> dict[str, Any]:
        """The verifying key (verifier.json beside the cached keys)."""
        loaded: dict[str, Any] = json.loads((self.cache_dir / "verifier.json").read_text())
        return loaded


def _run(args: list[str], on_progress: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """Runs the Go program, relaying its JSON progress lines; returns its JSON result."""
    with tempfile.TemporaryDirectory(prefix="zkpipe-wrap-") as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.Popen(
            [str(wrapper_binary()), *args, "-out", str(out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        tail: list[str] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            tail = [*tail[-20:], line]
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if on_progress is not None and isinstance(event, dict):
                on_progress(event)
        if proc.wait() != 0:
            raise ProvingFailed(f"zkpipe-wrap {args[0]} failed: {''.join(tail).strip()}")
        loaded: dict[str, Any] = json.loads(out.read_text())
        return loaded


def print_progress(event: dict[str, Any]) -> None:
    """Shows the one-time compile and setup on stderr."""
    stage = event.get("stage", "")
    detail = {k: v for k, v in event.items() if k not in ("stage", "t")}
    print(f"wrap: {stage} {json.dumps(detail) if detail else ''}".rstrip(), file=sys.stderr, flush=True)


def wrap_aggregate(
    k: int,
    aggregate_proof: bytes,
    *,
    threads: int = 0,
    cache_dir: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = print_progress,
) -> Groth16Proof:
    """Wraps a final aggregate for `k` into a Groth16 proof the verifier contract accepts."""
    workdir = Path(tempfile.mkdtemp(prefix="zkpipe-outer-"))
    try:
        started = time.monotonic()
        outer = native.wrap_outer(k, aggregate_proof, workdir, threads=threads, cache_dir=cache_dir)
        outer_total = time.monotonic() - started
        result = _run(["prove", "-in", str(workdir)], on_progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    expected = statement_hash(outer.statement)
    if int(result["statement_hash"]) != expected:
        raise ProvingFailed("the wrap program hashed another statement than the outer proof's")
    return Groth16Proof(
        words=tuple(int(w) for w in result["proof"]),
        public_input=expected,
        statement=tuple(outer.statement),
        circuit_key=str(result["circuit_key"]),
        cache_dir=Path(result["cache_dir"]),
        outer_prove_s=outer.prove_seconds,
        outer_build_s=max(outer.build_seconds, outer_total - outer.prove_seconds),
        gnark_times_s={str(k2): float(v) for k2, v in result["times_s"].items()},
        gnark_peak_rss_mib=float(result["peak_rss_mib"]),
        constraints=int(result["constraints"]),
    )
