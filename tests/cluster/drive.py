"""The cluster tests' driver: runs on the head host (inside its namespace) and joins the Ray cluster.

`python -m tests.cluster.drive SCENARIO ADDRESS WORKDIR`. It asks the test for faults on stdout
(`@request <verb> <host>`; the test answers `ok` on stdin once done) and ends with one line
`@result <json>`. Scenarios: `pipeline` (a node consolidating through the cluster) and `faults`
(the scheduler through host loss, rejoin, partition and heal).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from zkpipe.proving.backends.base import WorkerInfo
from zkpipe.proving.jobs import JobKind, JobState
from zkpipe.proving.scheduler import EventKind, Scheduler


def request(verb: str, host: str) -> float:
    """Asks the test to act on a host; when it was done (monotonic)."""
    print(f"@request {verb} {host}", flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "ok":
        raise RuntimeError(f"the test answered {answer!r} to {verb} {host}")
    return time.monotonic()


def host_of(info: WorkerInfo) -> str:
    """The cluster host name (head, w1, …) in an actor's host string ("<tag>-w1/10.88.0.2")."""
    assert info.host is not None
    return info.host.split("/")[0].rsplit("-", 1)[-1]


def network_json(scheduler: Scheduler) -> dict[str, Any]:
    """The scheduler's byte counters per kind of job."""
    return {
        str(kind): {"jobs": u.jobs, "copies": u.copies, "bytes_in": u.bytes_in, "bytes_out": u.bytes_out}
        for kind, u in scheduler.network().items()
    }


def where(scheduler: Scheduler, hosts: dict[str, str]) -> list[dict[str, str | None]]:
    """Each accepted job, its worker, and the host its proof says it was made on (provenance)."""
    out: list[dict[str, str | None]] = []
    for e in scheduler.events_of(EventKind.ACCEPTED):
        proof = scheduler.proof_by_id(e.job_id or "")
        made_on = proof.provenance.host.rsplit("-", 1)[-1] if proof is not None else None
        out.append(
            {
                "job": e.job_id,
                "worker": e.worker_id,
                "host": made_on,
                "slot_host": hosts.get(e.worker_id or ""),
            }
        )
    return out


def pipeline(address: str, workdir: Path) -> dict[str, Any]:
    """A node proving through the cluster's actors until six transfers are consolidated on L1."""
    from tests.node.conftest import proving_node_config
    from tests.node.helpers import fund
    from zkpipe.client import ZkClient
    from zkpipe.node.run import BackgroundNode

    config = proving_node_config(
        workdir / "node", **{"proving.backend": "ray", "proving.ray_address": address}
    )  # what `zkpipe up --prove --backend ray --ray-address ADDRESS` sets
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        node = fund(background, client, 3)
        sent = [client.send_transaction(node.transfer(1 + i % 2, 3, amount=2)).hash for i in range(6)]
        deadline = time.time() + 240
        while not all((r := client.get_transaction_receipt(h)) and r.status == "consolidated" for h in sent):
            if time.time() > deadline:
                raise RuntimeError("not consolidated through the cluster in time")
            time.sleep(0.5)
        running = background.node
        assert running is not None and running.proving is not None
        scheduler = running.proving.scheduler
        hosts = {w.worker_id: host_of(w) for w in running.proving.backend.workers() if w.host}
        last = running.store.batch_by_number(running.rollup.last_verified_batch())
        assert last is not None
        kpi = running.kpi()
        return {
            "backend": type(running.proving.backend).__name__,
            "hosts": hosts,
            "accepted": where(scheduler, hosts),
            "network": network_json(scheduler),
            "consolidated_root_matches": last.state_root == running.rollup.consolidated_state_root(),
            "consolidated_txs": kpi["transactions"],
            "kpi_network_bytes_per_tx": kpi.get("network_bytes_per_tx"),
        }
    finally:
        client.close()
        background.stop()


def faults(address: str, workdir: Path) -> dict[str, Any]:
    """Host loss mid-proof, rejoin, partition and heal (two new batches before each), then one
    proof of all six batches."""
    import ray

    from tests.scheduler.helpers import K, make_batches
    from zkpipe.proving import Prover
    from zkpipe.proving.backends.ray import RayBackend
    from zkpipe.proving.jobs import JobStore
    from zkpipe.proving.scheduler import SchedulerConfig
    from zkpipe.proving.segmenter import Segmenter

    ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    genesis, results = make_batches(6, txs=8)  # one segment per batch
    backend = RayBackend(2, preload=(K,))
    out: dict[str, Any] = {"phases": {}}
    try:
        if not backend.wait_ready(120):
            raise RuntimeError("actors not ready")
        hosts = {w.worker_id: host_of(w) for w in backend.workers()}
        out["hosts_at_start"] = dict(hosts)
        worker_on = {host: worker for worker, host in hosts.items()}
        config = SchedulerConfig(straggler_factor=None, job_timeout_s=120)
        scheduler = Scheduler(backend, JobStore(workdir / "jobs.db"), config)
        roots: list[str] = []

        def submit_two() -> None:
            for result in results[len(roots) : len(roots) + 2]:
                roots.append(scheduler.submit_fold(Segmenter(K).jobs(result)))

        def running_on(worker: str) -> str | None:
            return next((w.job_id for w in backend.workers() if w.worker_id == worker), None)

        def step_until(condition: Any, timeout_s: float, what: str) -> None:
            deadline = time.monotonic() + timeout_s
            while not condition():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out waiting for {what}")
                scheduler.step()
                time.sleep(0.05)
            print(f"drive: {what} ({scheduler.network()[JobKind.SEGMENT].jobs} segments)", file=sys.stderr)

        def accepted_from(worker: str, since: int) -> bool:
            return any(e.worker_id == worker for e in scheduler.events_of(EventKind.ACCEPTED)[since:])

        def winner(job_id: str) -> str | None:
            won = [e.worker_id for e in scheduler.events_of(EventKind.ACCEPTED) if e.job_id == job_id]
            return hosts.get(won[0] or "") if won else None

        # 1. Kill host w1 while it proves: the job is redone on w2.
        victim, cut = worker_on["w1"], worker_on["w2"]
        submit_two()
        step_until(lambda: running_on(victim) is not None, 60, "a job on w1")
        lost_job = str(running_on(victim))
        time.sleep(1.0)  # mid-proof
        killed_at = request("kill", "w1")
        step_until(lambda: scheduler.state_by_id(lost_job) is JobState.DONE, 120, "the lost job redone")
        out["phases"]["host_loss"] = {
            "job": lost_job,
            "redone_by": winner(lost_job),
            "recovery_s": round(time.monotonic() - killed_at, 2),
            "lost_events": [e.detail for e in scheduler.events_of(EventKind.ATTEMPT_FAILED)],
        }
        # 2. Bring w1 back: its actor restarts there and proves again.
        back_at = request("restart", "w1")
        step_until(lambda: any(w.worker_id == victim and w.ready for w in backend.workers()), 120, "w1 back")
        ready_s = time.monotonic() - back_at
        since = len(scheduler.events_of(EventKind.ACCEPTED))
        submit_two()
        step_until(lambda: accepted_from(victim, since), 120, "a job accepted from w1 after it rejoined")
        back = next(w for w in backend.workers() if w.worker_id == victim)
        out["phases"]["rejoin"] = {"ready_again_s": round(ready_s, 2), "host": host_of(back)}
        # 3. Partition w2 while it proves: the head declares it dead, its job is redone on w1.
        submit_two()
        step_until(lambda: running_on(cut) is not None, 120, "a job on w2")
        cut_job = str(running_on(cut))
        cut_at = request("partition", "w2")
        step_until(lambda: scheduler.state_by_id(cut_job) is JobState.DONE, 120, "the cut-off job redone")
        out["phases"]["partition"] = {
            "job": cut_job,
            "redone_by": winner(cut_job),
            "recovery_s": round(time.monotonic() - cut_at, 2),
        }
        # 4. Heal it: w2's node comes back and its actor proves again (in the final fold).
        healed_at = request("heal", "w2")
        step_until(lambda: all(w.ready for w in backend.workers()), 120, "w2 back after healing")
        since = len(scheduler.events_of(EventKind.ACCEPTED))
        out["phases"]["heal"] = {"ready_again_s": round(time.monotonic() - healed_at, 2)}
        batch_proofs = scheduler.wait(roots, 240)
        both = scheduler.prove([scheduler.job_by_id(root) for root in roots], timeout_s=240)
        out["phases"]["heal"]["used_again"] = accepted_from(cut, since)
        statement = Prover(K).verify(both)
        out["spec_roots_match"] = all(
            batch_proofs[root].statement.root_after == result.state.tree.root
            for root, result in zip(roots, results, strict=True)
        )
        out["final_root_matches"] = (
            statement.root_before == genesis.tree.root and statement.root_after == results[-1].state.tree.root
        )
        out["accepted"] = where(scheduler, hosts)
        out["network"] = network_json(scheduler)
        out["failed_jobs"] = scheduler.store.counts()[JobState.FAILED]
        out["segment_jobs"] = scheduler.network()[JobKind.SEGMENT].jobs
    finally:
        backend.close()
        ray.shutdown()
    return out


SCENARIOS = {"pipeline": pipeline, "faults": faults}

if __name__ == "__main__":
    scenario, address, workdir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    result = SCENARIOS[scenario](address, workdir)
    print("@result " + json.dumps(result), flush=True)
