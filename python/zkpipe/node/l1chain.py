"""The node's L1 chain as its configuration names it: the embedded devnet or a JSON-RPC node."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zkpipe.errors import InvalidKey, ZkpipeError
from zkpipe.extras import require
from zkpipe.l1.chain import Address, L1Chain
from zkpipe.node.config import ConfigError, NodeConfig

logger = logging.getLogger("zkpipe.node.l1chain")

L1_DIR = "l1"
"""The embedded devnet's block log, under the data directory."""
JOURNAL_NAME = "l1-journal.db"
"""The JSON-RPC chain's journal of signed transactions, under the data directory."""
ROLES = 4
"""Deployer, sequencer, aggregator, depositor."""
RECENT_BLOCKS = 51
"""L1 blocks whose timestamps the view keeps (the KPI report's block intervals)."""


@dataclass(frozen=True, slots=True)
class OpenedChain:
    """An L1 chain, the accounts that play the node's roles (in role order), and how to run and close it."""

    chain: L1Chain
    accounts: tuple[Address, ...]
    start: Callable[[], None]
    close: Callable[[], None]


def open_chain(config: NodeConfig) -> OpenedChain:
    """The chain `config.l1` describes; a JSON-RPC chain settles its journal of in-flight sends first."""
    data_dir = Path(config.data_dir)
    if config.l1.kind == "rpc":
        require("web3", needed_for="l1.kind 'rpc' (a JSON-RPC L1)")
        from zkpipe.l1.jsonrpc import JsonRpcChain  # why here: web3 is slow to import, embedded nodes skip it

        keys = parse_keys(config.l1.keys)
        chain = JsonRpcChain(
            config.l1.rpc_url,
            keys,
            journal_path=data_dir / JOURNAL_NAME,
            confirmations=config.l1.confirmations,
        )
        accounts = tuple(JsonRpcChain.address_of(keys[i % len(keys)]) for i in range(ROLES))
        return OpenedChain(chain, accounts, lambda: None, chain.close)
    from zkpipe.l1.embedded import EmbeddedChain

    embedded = EmbeddedChain(data_dir / L1_DIR, block_time=config.l1.block_time)
    return OpenedChain(embedded, embedded.accounts, embedded.start, embedded.close)


def parse_keys(text: str) -> list[bytes]:
    """Comma-separated 0x private keys; "" gives anvil's first four dev keys (public: dev chains only)."""
    if not text.strip():
        from zkpipe.l1.anvil import dev_key

        logger.warning("event=dev_keys message='l1.keys unset: using the public anvil dev keys'")
        return [dev_key(i) for i in range(ROLES)]
    keys = []
    for part in text.split(","):
        try:
            key = bytes.fromhex(part.strip().removeprefix("0x"))
        except ValueError:
            raise ConfigError("l1.keys: a key is not hex") from None
        if len(key) != 32:
            raise InvalidKey(f"l1.keys: a private key is 32 bytes, got {len(key)}")
        keys.append(key)
    return keys


@dataclass(frozen=True, slots=True)
class L1Seen:
    """What the node last read from L1, and when (time.monotonic())."""

    block: int
    timestamp: int
    consolidated_state_root: bytes
    at: float


class L1View:
    """The newest L1 block and the rollup's consolidated root as last seen, refreshed by its own thread.

    Reading it never waits on L1, so an L1 outage stalls neither trusted receipts (the sequencer
    floors batch timestamps with `__call__`) nor `zk_chainInfo`, which reports the view's age and
    whether it is degraded (the last read failed, or is overdue) instead, nor `zk_kpi`, which takes
    the recent block intervals from it.
    """

    def __init__(self, chain: L1Chain, consolidated_root: Callable[[], bytes], interval_s: float) -> None:
        self.chain = chain
        self._consolidated_root = consolidated_root
        self.interval_s = interval_s
        self.stale_after_s = 3 * interval_s + 1.0
        """A view older than this is degraded even if no read has failed yet (one may be hanging)."""
        self.seen = self._read()
        self._stamps: dict[int, int] = {self.seen.block: self.seen.timestamp}
        self.failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="l1-view", daemon=True)

    def start(self) -> None:
        """Start refreshing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __call__(self) -> int:
        """The timestamp floor for new batches: the newest L1 block's timestamp seen."""
        return self.seen.timestamp

    def age_s(self) -> float:
        """Seconds since the view was last read from L1."""
        return time.monotonic() - self.seen.at

    def is_degraded(self) -> bool:
        """True while L1 does not answer (the view is the last one seen)."""
        return self.failing or self.age_s() > self.stale_after_s

    def block_intervals(self) -> list[float]:
        """Seconds between consecutive L1 blocks among the last RECENT_BLOCKS seen (oldest first)."""
        stamps = self._stamps
        numbers = sorted(stamps)
        return [float(stamps[b] - stamps[a]) for a, b in itertools.pairwise(numbers) if b == a + 1]

    def _read(self) -> L1Seen:
        block = self.chain.latest_block()
        return L1Seen(block.number, block.timestamp, self._consolidated_root(), time.monotonic())

    def _read_recent(self, latest: L1Seen) -> None:
        """Keeps the timestamps of the last RECENT_BLOCKS blocks up to `latest`, reading only new ones."""
        first = max(1, latest.block - RECENT_BLOCKS + 1)
        stamps = {n: t for n, t in self._stamps.items() if first <= n < latest.block}
        stamps[latest.block] = latest.timestamp
        for number in range(first, latest.block):
            if number not in stamps and (block := self.chain.block_by_number(number)) is not None:
                stamps[number] = block.timestamp
        self._stamps = stamps  # why a new dict: readers on other threads see the old or the new one

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                seen = self._read()
                self._read_recent(seen)
            except ZkpipeError as err:
                if not self.failing:
                    logger.warning("event=l1_view_stale code=%s message=%s", err.code, err.message)
                self.failing = True
                continue
            # Why max: the timestamp floor never goes back, even if a re-org shortens the chain.
            self.seen = dataclasses.replace(seen, timestamp=max(seen.timestamp, self.seen.timestamp))
            self.failing = False
