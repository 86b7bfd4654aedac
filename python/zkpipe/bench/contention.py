"""Contention on a shared host: how much slower a prover job runs beside other provers and a sequencer.

`measure_contention(k)` starts P warm prover processes (circuits loaded, then released at once)
for P = 1 … max_provers and times each one's segment proofs; the slowdown for P is the median
time over the lone prover's median (a ratio below 1 is noise: the table reads it as 1). Then one
prover proves beside a process executing transactions flat out (the spec's batch application
with signature checks), whose CPU seconds per transaction are reported too. The lone prover also
times the node's own CPU work per job — re-applying a batch and building and encoding a segment
job's witness, verifying a segment proof — which the planner shares the cores with.
Run as `python -m zkpipe.bench.contention prove K REPEATS` or `… sequence SECONDS` for one
worker process (they speak one line of JSON on stdout).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from zkpipe.errors import ProvingFailed
from zkpipe.planner.measurements import Contention

REPEATS = 3
"""Segment proofs each prover process times (after a warm-up proof); the figures are medians."""
NODE_REPEATS = 5
"""Times the lone prover repeats the node's per-job work (the median is reported)."""


def _batch(k: int) -> tuple[Any, Any]:
    """A genesis state and a batch of k signed transfers on it."""
    from zkpipe.workload import Accounts, genesis, next_batch, user_mix

    accounts = Accounts.generate(32)
    state = genesis(accounts, 10**12)
    txs = user_mix(state, accounts, k, rng=random.Random(k), withdraw_share=0.0)
    return state, next_batch(state, txs, 1_700_000_000)


def _segment(k: int) -> Any:
    from zkpipe.spec import apply_batch

    state, batch = _batch(k)
    return apply_batch(state, batch, k).segments[0]


def node_work(k: int, prover: Any, proof: Any) -> dict[str, float]:
    """CPU seconds of the node's own work per segment job and per proof check (medians).

    Per segment job: re-apply a batch of k transfers with the spec (the node's witness step),
    build the job's witness and encode it as the job store does, verify the returned proof (the
    scheduler checks every proof). Per join job: the verification alone (an aggregate's check is
    the same size of FRI verification)."""
    from zkpipe.proving.jobs import SegmentJob
    from zkpipe.proving.jobs.codec import job_to_json
    from zkpipe.spec import apply_batch

    state, batch = _batch(k)
    segment_s, verify_s = [], []
    for _ in range(NODE_REPEATS):
        start = time.process_time()
        segments = apply_batch(state, batch, k).segments
        for i, s in enumerate(segments):
            json.dumps(job_to_json(SegmentJob.from_segment(1, i, k, s)))
        segment_s.append((time.process_time() - start) / len(segments))
        start = time.process_time()
        prover.verify(proof)
        verify_s.append(time.process_time() - start)
    verify = statistics.median(verify_s)
    return {"segment_s": statistics.median(segment_s) + verify, "verify_s": verify}


def prove_worker(k: int, repeats: int) -> None:
    """One prover process: warm up, say ready, wait for the go line, prove ``repeats`` times."""
    from zkpipe.proving import Prover

    prover = Prover(k, threads=1)
    segment = _segment(k)
    proof = prover.prove_segment(segment)  # warm: circuits built or loaded, caches touched
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        prover.prove_segment(segment)
        times.append(time.perf_counter() - start)
    print(json.dumps({"prove_s": times, "node": node_work(k, prover, proof)}), flush=True)


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


def _median(values: list[float]) -> float:
    return statistics.median(values)


def measure_contention(
    k: int, max_provers: int | None = None, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Slowdown of a prover job with 1 … max_provers provers at once, and beside a busy sequencer;
    the node's CPU seconds per segment job and per proof check."""
    cores = os.cpu_count() or 1
    top = max_provers or max(2, cores)
    medians: list[float] = []
    spreads: list[list[float]] = []
    node: dict[str, float] = {}
    for provers in range(1, top + 1):
        progress(f"contention: {provers} prover(s) at once, k={k}")
        reports = _together([_start("prove", str(k), str(REPEATS)) for _ in range(provers)])
        times = [t for r in reports for t in r["prove_s"]]
        medians.append(_median(times))
        spreads.append([round(min(times), 4), round(max(times), 4)])
        if provers == 1:
            node = reports[0]["node"]
    alone = medians[0]
    slowdowns = [round(m / alone, 3) for m in medians]
    per_provers = [
        {"provers": i, "prove_s": round(m, 4), "min_max_s": spread}
        for i, (m, spread) in enumerate(zip(medians, spreads, strict=True), 1)
    ]
    progress("contention: one prover beside a busy sequencer")
    prover, sequencer = _start("prove", str(k), str(REPEATS)), _start("sequence", str(REPEATS * alone * 1.5))
    beside, seq = _together([prover, sequencer])
    with_sequencer = _median(beside["prove_s"])
    return {
        "k": k,
        "cores": cores,
        "repeats": REPEATS,
        "by_provers": per_provers,
        "prover_slowdown": [1.0, *slowdowns[1:]],
        "prove_s_beside_sequencer": round(with_sequencer, 4),
        "sequencer_slowdown": round(max(1.0, with_sequencer / alone), 3),
        "sequencer_seconds_per_tx": round(float(seq["seconds_per_tx"]), 6),
        "node_seconds_per_segment": round(float(node["segment_s"]), 6),
        "node_seconds_per_aggregate": round(float(node["verify_s"]), 6),
    }


def to_contention(measured: dict[str, Any]) -> Contention:
    """The cost table's contention entry from this measurement (slowdowns below 1 are noise: 1)."""
    return Contention(
        cores=int(measured["cores"]),
        prover_slowdown=tuple(max(1.0, float(s)) for s in measured["prover_slowdown"]),
        sequencer_slowdown=max(1.0, float(measured["sequencer_slowdown"])),
        sequencer_seconds_per_tx=float(measured["sequencer_seconds_per_tx"]),
        node_seconds_per_segment=float(measured.get("node_seconds_per_segment", 0.0)),
        node_seconds_per_aggregate=float(measured.get("node_seconds_per_aggregate", 0.0)),
    )


if __name__ == "__main__":
    if sys.argv[1] == "prove":
        prove_worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sequence_worker(float(sys.argv[2]))
