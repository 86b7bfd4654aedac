"""Contention on a shared host: how much slower a prover job runs beside other provers and a sequencer.

`measure_contention(k)` starts P warm prover processes (circuits loaded, then released at once)
for P = 1 … max_provers and times each one's segment proofs; the slowdown for P is their mean
time over the lone prover's. Then one prover proves beside a process executing transactions
flat out (the spec's batch application with signature checks), whose CPU seconds per
transaction are reported too. Run as `python -m zkpipe.bench.contention prove K REPEATS` or
`… sequence SECONDS` for one worker process (they speak one line of JSON on stdout).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from zkpipe.errors import ProvingFailed
from zkpipe.planner.measurements import Contention

REPEATS = 2
"""Segment proofs each prover process times (after a warm-up proof)."""


def _segment(k: int) -> Any:
    from zkpipe.spec import apply_batch
    from zkpipe.workload import Accounts, genesis, next_batch, user_mix

    accounts = Accounts.generate(32)
    state = genesis(accounts, 10**12)
    txs = user_mix(state, accounts, k, rng=random.Random(k), withdraw_share=0.0)
    return apply_batch(state, next_batch(state, txs, 1_700_000_000), k).segments[0]


def prove_worker(k: int, repeats: int) -> None:
    """One prover process: warm up, say ready, wait for the go line, prove ``repeats`` times."""
    from zkpipe.proving import Prover

    prover = Prover(k, threads=1)
    segment = _segment(k)
    prover.prove_segment(segment)  # warm: circuits built or loaded, caches touched
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        prover.prove_segment(segment)
        times.append(time.perf_counter() - start)
    print(json.dumps({"prove_s": times}), flush=True)


def sequence_worker(seconds: float) -> None:
    """Executes batches of signed transfers for ``seconds`` after the go line; reports CPU s per tx."""
    from zkpipe.spec import apply_batch
    from zkpipe.workload import Accounts, genesis, next_batch, user_mix

    accounts = Accounts.generate(64)
    state = genesis(accounts, 10**12)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    txs_done, cpu0, end, n = 0, time.process_time(), time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        txs = user_mix(state, accounts, 64, rng=random.Random(n), withdraw_share=0.0)
        state = apply_batch(state, next_batch(state, txs, 1_700_000_000 + n), 64).state
        txs_done, n = txs_done + len(txs), n + 1
    print(json.dumps({"seconds_per_tx": (time.process_time() - cpu0) / max(1, txs_done)}), flush=True)


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zkpipe.bench.contention", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out: IO[str] | None = proc.stdout
    line = out.readline() if out is not None else ""
    if not line:
        err = proc.stderr.read() if proc.stderr is not None else ""
        raise ProvingFailed(f"contention worker failed: {err.strip()[-500:]}")
    result: dict[str, Any] = json.loads(line)
    return result


def _together(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Waits until every worker is warm, starts them at once, and collects their reports."""
    try:
        for p in procs:
            _line(p)
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        return [_line(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for pipe in (p.stdin, p.stdout, p.stderr):
                if pipe is not None:
                    pipe.close()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def measure_contention(
    k: int, max_provers: int | None = None, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Slowdown of a prover job with 1 … max_provers provers at once, and beside a busy sequencer."""
    cores = os.cpu_count() or 1
    top = max_provers or max(2, cores)
    means: list[float] = []
    for provers in range(1, top + 1):
        progress(f"contention: {provers} prover(s) at once, k={k}")
        reports = _together([_start("prove", str(k), str(REPEATS)) for _ in range(provers)])
        means.append(_mean([t for r in reports for t in r["prove_s"]]))
    alone = means[0]
    slowdowns = [round(m / alone, 3) for m in means]
    per_provers = [{"provers": i, "prove_s": round(m, 4)} for i, m in enumerate(means, 1)]
    progress("contention: one prover beside a busy sequencer")
    prover, sequencer = _start("prove", str(k), str(REPEATS)), _start("sequence", str(REPEATS * alone * 1.5))
    beside, seq = _together([prover, sequencer])
    with_sequencer = _mean(beside["prove_s"])
    return {
        "k": k,
        "cores": cores,
        "by_provers": per_provers,
        "prover_slowdown": [1.0, *slowdowns[1:]],
        "prove_s_beside_sequencer": round(with_sequencer, 4),
        "sequencer_slowdown": round(max(1.0, with_sequencer / alone), 3),
        "sequencer_seconds_per_tx": round(float(seq["seconds_per_tx"]), 6),
    }


def to_contention(measured: dict[str, Any]) -> Contention:
    """The cost table's contention entry from this measurement."""
    return Contention(
        cores=int(measured["cores"]),
        prover_slowdown=tuple(float(s) for s in measured["prover_slowdown"]),
        sequencer_slowdown=float(measured["sequencer_slowdown"]),
        sequencer_seconds_per_tx=float(measured["sequencer_seconds_per_tx"]),
    )


if __name__ == "__main__":
    if sys.argv[1] == "prove":
        prove_worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sequence_worker(float(sys.argv[2]))
