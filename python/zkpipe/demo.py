"""`zkpipe demo`: a node with its L1 (embedded or anvil) and local provers, a workload, and the KPI report.

L1 deposits create the accounts; then waves of signed transfers (a share to one hot receiver)
and withdrawals go through the RPC. Every transaction is followed through trusted, virtual and
consolidated; the run ends with the measured KPIs, a PNG timeline of the batches, and the last
aggregate proof written for `zkpipe verify`. The JSON form is also a `zkpipe.run/1` record, so
`zkpipe plan --calibrate` can re-predict the run.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.client import ZkClient
from zkpipe.extras import has_module
from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.machine import describe_machine
from zkpipe.kpi.report import compute_stage_samples, plot_timeline
from zkpipe.kpi.runrecord import RUN_SCHEMA, DemoRun, RunCounts
from zkpipe.l1.anvil import Anvil
from zkpipe.node.config import NodeConfig, load_config
from zkpipe.node.run import BackgroundNode
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, Transaction, sign_transfer, sign_withdraw
from zkpipe.workload import Accounts, l1_address

STATES = ("trusted", "virtual", "consolidated")


@dataclass(frozen=True)
class DemoSettings:
    """What the demo runs."""

    accounts: int = 16
    txs: int = 96
    waves: int = 6
    workers: int = 0
    threads_per_prover: int = 1
    segment_size: int = 8
    aggregation_n: int = 2
    block_time: float = 1.0
    batch_timeout_s: float = 1.0
    hot_receiver_share: float = 0.3
    withdraw_share: float = 0.1
    timeout_s: float = 600.0
    seed: int = 7
    l1: str = "embedded"
    """"embedded" (the in-process devnet) or "anvil" (a local anvil, reached over JSON-RPC)."""


Progress = Callable[[dict[str, int], int], None]


def node_config(settings: DemoSettings, data_dir: Path, anvil: Anvil | None = None) -> NodeConfig:
    """The demo node: embedded L1 (or `anvil` over JSON-RPC), local provers, free RPC port."""
    l1: dict[str, Any] = {} if anvil is None else {"l1.kind": "rpc", "l1.rpc_url": anvil.url}
    return load_config(
        None,
        env={},
        overrides=l1
        | {
            "data_dir": data_dir,
            "rpc.port": 0,
            "tree_depth": 32,
            "l1.block_time": settings.block_time,
            "batch.timeout_s": settings.batch_timeout_s,
            "proving.enabled": True,
            "proving.workers": settings.workers,
            "proving.threads_per_prover": settings.threads_per_prover,
            "proving.segment_size": settings.segment_size,
            "proving.aggregation_n": settings.aggregation_n,
            "proving.aggregation_timeout_s": 4 * settings.block_time,
        },
    )


def _user_txs(settings: DemoSettings, keys: Accounts, rng: random.Random) -> list[Transaction]:
    """The signed workload, nonces in order per sender; account 1 is the hot receiver."""
    nonces = dict.fromkeys(range(1, keys.users + 1), 0)
    txs: list[Transaction] = []
    for _ in range(settings.txs):
        sender = rng.randint(2, keys.users)
        nonce, fee = Nonce(nonces[sender]), Fee(rng.randint(1, 5))
        if rng.random() < settings.withdraw_share:
            amount = Amount(rng.randint(1, 1000))
            txs.append(
                sign_withdraw(
                    keys.secret(sender), AccountIndex(sender), l1_address(sender), amount, fee, nonce
                )
            )
        else:
            recipient = 1 if rng.random() < settings.hot_receiver_share else rng.randint(1, keys.users)
            recipient = recipient if recipient != sender else 1
            amount = Amount(rng.randint(1, 10_000))
            txs.append(
                sign_transfer(
                    keys.secret(sender), AccountIndex(sender), AccountIndex(recipient), amount, fee, nonce
                )
            )
        nonces[sender] += 1
    return txs


def _statuses(client: ZkClient, hashes: list[str]) -> dict[str, str | None]:
    answers = client.call_batch([("zk_getTransactionReceipt", [h]) for h in hashes])
    return {h: (a or {}).get("status") for h, a in zip(hashes, answers, strict=True)}


def _counts(statuses: dict[str, str | None]) -> dict[str, int]:
    order = {"trusted": 1, "virtual": 2, "consolidated": 3}
    reached = [order.get(s or "", 0) for s in statuses.values()]
    return {state: sum(r >= order[state] for r in reached) for state in STATES}


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _block_phase(seen: list[float | None], t0: float, block_time: float) -> float:
    """Where L1 blocks fall relative to ``t0``, in [0, block_time), from times blocks were seen.

    The syncer sees a block some milliseconds after it is mined, so the earliest sighting (around
    the circular mean, which handles the wrap-around) is the closest to the block itself.
    """
    offsets = [(t - t0) % block_time for t in seen if t is not None]
    if not offsets:
        return 0.0
    angles = [2 * math.pi * x / block_time for x in offsets]
    mean = math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles))) / (2 * math.pi) * block_time
    earliest = min((x - mean + block_time / 2) % block_time - block_time / 2 for x in offsets)
    return round((mean + earliest) % block_time, 4)


def run_demo(
    settings: DemoSettings,
    *,
    out: Path,
    data_dir: Path | None = None,
    progress: Progress | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Runs the demo and returns its report (see the module docstring); `on_ready` gets the node's URL
    (its live dashboard is at `/`) once it listens."""
    out.mkdir(parents=True, exist_ok=True)
    workdir = data_dir or Path(tempfile.mkdtemp(prefix="zkpipe-demo-"))
    anvil = (
        Anvil(workdir / "anvil", block_time=settings.block_time).start() if settings.l1 == "anvil" else None
    )
    background = BackgroundNode(node_config(settings, workdir, anvil))
    try:
        background.start()
    except BaseException:
        if anvil is not None:
            anvil.stop()
        raise
    if on_ready is not None:
        on_ready(background.url)
    client = ZkClient(background.url)
    try:
        node = background.node
        assert node is not None and node.proving is not None
        keys = Accounts.generate(settings.accounts, seed=settings.seed)
        for i in range(1, keys.users + 1):
            client.dev_deposit(i, keys.public(i), 10**12)
        for i in range(1, keys.users + 1):
            client.wait_for_account(i, timeout=120)

        started = time.time()
        txs = _user_txs(settings, keys, random.Random(settings.seed))
        hashes: list[str] = []
        wave = max(1, len(txs) // settings.waves)
        deadline = started + settings.timeout_s
        for i in range(0, len(txs), wave):
            hashes += [client.send_transaction(tx).hash for tx in txs[i : i + wave]]
            time.sleep(settings.block_time / 2)
        sending = time.time() - started  # the arrival window, for the run record
        statuses = _statuses(client, hashes)
        while time.time() < deadline and "proving" not in node.failures():
            statuses = _statuses(client, hashes)
            counts = _counts(statuses)
            if progress is not None:
                progress(counts, len(hashes))
            if counts["consolidated"] == len(hashes):
                break
            time.sleep(0.5)
        report: KpiReport = node.kpi_report()
        batches = node.proving.batch_times()
        # The timeline is a picture for people: without the planner extra (matplotlib), the run goes on.
        timeline = plot_timeline(batches, out / "timeline.png") if has_module("matplotlib") else None
        windows = [c.window for c in node.proving.record.consolidations]
        proof_file = None
        if windows and windows[-1].proof is not None:
            proof_file = out / "aggregate.proof"
            windows[-1].proof.save(proof_file)
        lost = sum(1 for s in statuses.values() if s in (None, "rejected"))
        samples = compute_stage_samples(batches)
        work = node.proving.job_work_seconds()
        submitted = sorted(row[0] for row in node.reader.tx_times())
        t0 = submitted[0] if submitted else started
        config = node.config
        stored = [node.store.batch_by_number(b.number) for b in batches]
        b_time, margin = settings.block_time, config.l1.send_margin_s
        phase = _block_phase([t for b in batches for t in (b.virtual, b.consolidated)], t0, b_time)
        # The sender's own lag: a post goes out at the later of the close and its block interval's
        # due moment (margin before the next block), plus this; the least over batches.
        lags = [
            s.sent_at
            - max(
                s.closed_at,
                t0 + phase + (math.floor((s.closed_at - t0 - phase) / b_time) + 1) * b_time - margin,
            )
            for s in stored
            if s is not None and s.sent_at is not None
        ]
        stored_times = node.reader.tx_times()
        run_counts = RunCounts(
            txs=len(stored_times),
            user_txs=len(hashes),
            deposits=len(stored_times) - len(hashes),
            consolidated=sum(1 for t in stored_times if t[3] is not None),
            user_consolidated=_counts(statuses)["consolidated"],
            lost=lost,
        )
        record = {
            "schema": RUN_SCHEMA,
            "source": "measured: zkpipe demo",
            **run_counts.model_dump(),
            "proving_failed": node.failures().get("proving"),
            "delay_s": {
                state: {
                    q: _finite(getattr(getattr(report, f"delay_{state}"), q)) for q in ("p50", "p95", "p99")
                }
                for state in STATES
            },
            "throughput_tps": _finite(report.throughput),
            "throughput_batches_per_s": _finite(report.throughput_batches),
            "stage_times_s": {
                name: _finite(getattr(report, name))
                for name in ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time")
            },
            "l1_gas": {
                "sequence_per_tx": _finite(report.l1_gas_per_tx),
                "verify_per_aggregate": _finite(report.l1_gas_per_aggregated_proof),
            },
            "prover_cpu_seconds_per_tx": _finite(report.prover_cpu_seconds_per_tx),
            "batches": len(batches),
            "aggregates_verified": len(windows),
            "timeline_png": None if timeline is None else str(timeline),
            "proof_file": None if proof_file is None else str(proof_file),
            "kpis": {k: v for k, v in report.to_dict().items()},
            # What calibration needs to re-predict this very run: the node's rules (windows, the
            # sender's margin, proving from virtual), the run's own arrivals (deposits included,
            # as in the KPIs) and L1 block phase, and per-job work rather than elapsed times.
            "config": {
                "arrivals": "recorded",
                "arrival_times_s": [round(t - t0, 4) for t in submitted],
                "tx_rate": round(len(hashes) / max(sending, 1e-9), 3),
                "duration_s": round(sending, 3),
                "batch_size": config.batch.max_txs,
                "batch_timeout_s": settings.batch_timeout_s,
                # The sequencer re-checks an open batch's policy every 5 ms (sequencer/core.py).
                "batch_check_s": 0.005,
                "provers": len(node.proving.backend.workers()),
                "aggregation_n": settings.aggregation_n,
                "aggregation_timeout_s": config.proving.aggregation_timeout_s,
                "block_time": settings.block_time,
                "block_phase_s": phase,
                "send_margin_s": config.l1.send_margin_s,
                "send_lag_s": round(max(0.0, min(lags, default=0.0)), 4),
                "prove_from": config.proving.prove_from,
                "segment_size": node.proving.k,
                "throughput_window": "run",
            },
            "stage_times": {
                **{k: [round(v, 4) for v in values] for k, values in samples.items()},
                "block_time": [settings.block_time],
                "segment_prove_time": [round(v, 4) for v in work["segment"]],
                "aggregate_pair_time": [round(v, 4) for v in work["aggregate"]],
            },
            # Each batch through the stages, seconds from the first transaction (for diagnosis).
            "batch_times_s": [
                {
                    "number": b.number,
                    "txs": b.txs,
                    **{
                        name: None if at is None else round(at - t0, 4)
                        for name, at in (
                            ("closed", b.closed),
                            ("sent", None if s is None else s.sent_at),
                            ("virtual", b.virtual),
                            ("proving_started", b.proving_started),
                            ("proven", b.proven),
                            ("aggregated", b.aggregated),
                            ("consolidated", b.consolidated),
                        )
                    },
                }
                for b, s in zip(batches, stored, strict=True)
            ],
            "machine": describe_machine(),
        }
        return DemoRun.model_validate(record).model_dump(by_alias=True)
    finally:
        client.close()
        background.stop()
        if anvil is not None:
            anvil.stop()
