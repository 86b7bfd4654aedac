"""`zkpipe bench sequencer`: a load generator in another process drives a node over loopback.

The node runs in this process (RPC, sequencer, embedded L1); the generator pre-signs a realistic
mix (mostly transfers, some withdrawals, one hot receiver) for many funded accounts, then sends it
over `conns` keep-alive connections as JSON-RPC batch requests, each connection owning a set of
senders so nonces stay in order. An acknowledgement is the node's answer: executed and durably
stored. Virtual delays come from the node's store (submission to the L1 block that holds the batch).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import random
import re
import resource
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.client import ZkClient
from zkpipe.kpi.machine import describe_machine
from zkpipe.native import keygen
from zkpipe.node.config import load_config
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store
from zkpipe.spec import AccountIndex, Amount, Fee, L1Address, Nonce, encode_tx, sign_transfer, sign_withdraw

HOT_RECEIVER = 1
FUNDING = 10**12


@dataclass(frozen=True)
class LoadSpec:
    """What the generator sends."""

    url: str
    accounts: int
    txs: int
    conns: int
    batch_calls: int
    seed: int
    withdraw_share: float = 0.1
    hot_share: float = 0.2
    rate: float = 0.0
    """Offered load in tx/s (open loop: requests go out on a schedule, answered or not); 0 sends
    as fast as the answers come back (closed loop, `conns` requests in flight)."""


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds so far per thread of this process, by thread name (numbered pool threads summed
    under one name); Linux's /proc, so empty elsewhere."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    ticks = os.sysconf("SC_CLK_TCK")
    cpu: dict[str, float] = {}
    tasks = Path("/proc/self/task")
    for task in tasks.iterdir() if tasks.is_dir() else ():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        name = re.sub(r"[-_ ]?\d+$", "", names.get(int(task.name), comm))
        cpu[name] = cpu.get(name, 0.0) + (int(rest[11]) + int(rest[12])) / ticks
    return cpu


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_workload(spec: LoadSpec) -> list[list[list[str]]]:
    """Per connection, a list of batch requests, each a list of tx hex strings (pre-signed)."""
    rng = random.Random(spec.seed)
    keys = [
        keygen(spec.seed.to_bytes(4, "little") + i.to_bytes(4, "little") + bytes(24))[0]
        for i in range(spec.accounts)
    ]
    nonces = [0] * spec.accounts
    per_conn: list[list[str]] = [[] for _ in range(spec.conns)]
    l1 = L1Address(b"\x42" * 20)
    for _ in range(spec.txs):
        s = rng.randrange(spec.accounts)
        sender = AccountIndex(s + 2)  # accounts 2.. are senders; 1 is the hot receiver
        r = rng.random()
        if r < spec.withdraw_share:
            tx: Any = sign_withdraw(keys[s], sender, l1, Amount(7), Fee(1), Nonce(nonces[s]))
        else:
            if r < spec.withdraw_share + spec.hot_share:
                recipient = HOT_RECEIVER
            else:
                recipient = rng.randrange(spec.accounts) + 2
                if recipient == sender:
                    recipient = HOT_RECEIVER
            tx = sign_transfer(keys[s], sender, AccountIndex(recipient), Amount(3), Fee(1), Nonce(nonces[s]))
        nonces[s] += 1
        per_conn[s % spec.conns].append("0x" + encode_tx(tx).hex())
    return [[txs[i : i + spec.batch_calls] for i in range(0, len(txs), spec.batch_calls)] for txs in per_conn]


def account_keys(spec: LoadSpec) -> list[bytes]:
    """The public keys of the sender accounts (index i + 2)."""
    return [
        keygen(spec.seed.to_bytes(4, "little") + i.to_bytes(4, "little") + bytes(24))[1]
        for i in range(spec.accounts)
    ]


async def _drive(spec: LoadSpec, work: list[list[list[str]]]) -> dict[str, Any]:
    import aiohttp

    acks: list[tuple[str, float]] = []  # (hash, ack latency in s)
    errors: dict[str, int] = {}
    times: list[float] = []

    async def post(session: aiohttp.ClientSession, batch: list[str], first_id: int) -> None:
        """Sends one JSON-RPC batch of transactions and records its acks, errors and end time."""
        body = [
            {"jsonrpc": "2.0", "id": first_id + i, "method": "zk_sendTransaction", "params": [tx]}
            for i, tx in enumerate(batch)
        ]
        start = time.perf_counter()
        async with session.post(spec.url, json=body) as response:
            answers = await response.json()
        end = time.perf_counter()
        times.append(end)
        for answer in answers:
            if "result" in answer:
                acks.append((answer["result"]["hash"], end - start))
            else:
                code = answer["error"]["data"]["code"]
                errors[code] = errors.get(code, 0) + 1

    async def connection(requests: list[list[str]]) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            next_id = 0
            for batch in requests:
                await post(session, batch, next_id)
                next_id += len(batch)

    async def scheduled(session: aiohttp.ClientSession, batch: list[str], at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        await post(session, batch, 0)

    t0 = time.perf_counter()
    if spec.rate > 0:
        # Open loop: batches interleaved across connections' streams, one every batch_calls / rate s.
        ordered = [b for round_ in itertools.zip_longest(*work) for b in round_ if b is not None]
        interval = spec.batch_calls / spec.rate
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(scheduled(session, b, t0 + j * interval) for j, b in enumerate(ordered)))
    else:
        await asyncio.gather(*(connection(requests) for requests in work))
    return {"acks": acks, "errors": errors, "start": t0, "end": max(times, default=t0)}


def _generator(spec: LoadSpec, ready: Any, go: Any, out: Any) -> None:
    """The load generator process: pre-sign, signal ready, wait for go, drive, send results."""
    work = make_workload(spec)
    ready.set()
    go.wait()
    cpu = time.process_time()
    result = asyncio.run(_drive(spec, work))
    result["cpu_s"] = time.process_time() - cpu
    out.put(result)


def run_sequencer_bench(
    *,
    accounts: int = 256,
    txs: int = 20_000,
    conns: int = 4,
    batch_calls: int = 16,
    block_time: float = 2.0,
    batch_timeout: float = 0.25,
    synchronous: str = "FULL",
    data_dir: Path | None = None,
    seed: int = 1,
    engine: str = "parallel",
    rate: float = 0.0,
    max_wait_s: float | None = None,
) -> dict[str, Any]:
    """Runs the benchmark and returns its JSON-ready result."""
    tmp = tempfile.TemporaryDirectory(prefix="zkpipe-bench-") if data_dir is None else None
    base = Path(tmp.name) if tmp is not None else Path(data_dir)  # type: ignore[arg-type]
    config = load_config(
        None,
        overrides={
            "data_dir": base / "node",
            "rpc.port": 0,
            "l1.block_time": block_time,
            "batch.timeout_s": batch_timeout,
            "store.synchronous": synchronous,
            "mempool.max_pending": max(50_000, txs),
            "log_level": "WARNING",
            "execution.engine": engine,
            "mempool.max_wait_s": max_wait_s,
        },
    )
    node = BackgroundNode(config).start()
    try:
        spec = LoadSpec(node.url, accounts, txs, conns, batch_calls, seed, rate=rate)
        ctx = multiprocessing.get_context("spawn")
        ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
        generator = ctx.Process(target=_generator, args=(spec, ready, go, out), daemon=True)
        generator.start()
        client = ZkClient(node.url)
        hot_pk = keygen(b"hot".ljust(32, b"\0"))[1]
        client.dev_deposit(HOT_RECEIVER, hot_pk, FUNDING)
        for i, pk in enumerate(account_keys(spec)):
            client.dev_deposit(i + 2, pk, FUNDING)
        client.wait_for_account(accounts + 1, timeout=120 + 4 * block_time * (accounts // 100 + 1))
        if not ready.wait(600):
            raise RuntimeError("the load generator did not get ready")
        load_before = os.getloadavg()
        node_cpu = resource.getrusage(resource.RUSAGE_SELF)
        threads_before = thread_cpu_s()
        go.set()
        result = out.get(timeout=3600)
        node_usage = resource.getrusage(resource.RUSAGE_SELF)
        threads_after = thread_cpu_s()
        node_cpu_s = node_usage.ru_utime + node_usage.ru_stime - node_cpu.ru_utime - node_cpu.ru_stime
        generator.join(30)
        acked = result["acks"]
        # Wait until every closed batch is on L1, then close the open one by waiting its timeout.
        deadline = time.monotonic() + 30 + 4 * block_time
        while time.monotonic() < deadline:
            info = client.chain_info()
            last = acked[-1][0] if acked else None
            receipt = client.get_transaction_receipt(last) if last else None
            if info.virtual_batch >= info.trusted_batch and (receipt is None or receipt.status != "trusted"):
                break
            time.sleep(0.1)
        info = client.chain_info()
        client.close()
        node_obj = node.node
        assert node_obj is not None
        store = Store(Path(config.data_dir) / "node.db")
        try:
            lost, virtual_delays = 0, []
            for tx_hash, _ in acked:
                row = store.tx_by_hash(bytes.fromhex(tx_hash[2:]))
                if row is None:
                    lost += 1
                elif row.virtual_at is not None:
                    virtual_delays.append(row.virtual_at - row.submitted_at)
            gas, gas_txs = store.l1_gas_total()
        finally:
            store.close()
    finally:
        node.stop()
        if tmp is not None:
            tmp.cleanup()
    elapsed = result["end"] - result["start"]
    ack_ms = [latency * 1000 for _, latency in acked]
    return {
        "trusted_tps": round(len(acked) / elapsed, 1) if elapsed > 0 else 0.0,
        "ack_p50_ms": round(_quantile(ack_ms, 0.50), 2),
        "ack_p99_ms": round(_quantile(ack_ms, 0.99), 2),
        "virtual_delay_p50_s": round(_quantile(virtual_delays, 0.50), 3),
        "virtual_delay_p99_s": round(_quantile(virtual_delays, 0.99), 3),
        "lost": lost,
        "acknowledged": len(acked),
        "rejected": result["errors"],
        "not_virtual": len(acked) - lost - len(virtual_delays),
        "txs": txs,
        "accounts": accounts,
        "conns": conns,
        "batch_calls": batch_calls,
        "block_time": block_time,
        "batch_timeout": batch_timeout,
        "synchronous": synchronous,
        "batches": info.trusted_batch,
        "l1_gas_per_tx": round(gas / gas_txs, 1) if gas_txs else None,
        "ack_mean_ms": round(statistics.fmean(ack_ms), 2) if ack_ms else None,
        "seconds": round(elapsed, 2),
        "engine": engine,
        "offered_tps": rate or None,
        "max_wait_s": config.mempool.max_wait_s,
        "generator_cpu_s": round(result["cpu_s"], 2),
        "node_cpu_s": round(node_cpu_s, 2),
        "node_cpu_s_by_thread": {
            name: round(seconds - threads_before.get(name, 0.0), 2)
            for name, seconds in sorted(threads_after.items(), key=lambda kv: -kv[1])
            if seconds - threads_before.get(name, 0.0) >= 0.01
        },
        "load_before": [round(x, 2) for x in load_before],
        "machine": describe_machine(),
    }
