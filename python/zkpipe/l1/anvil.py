"""Start and stop a local anvil (Foundry's Ethereum node) on a free loopback port, its state kept on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from zkpipe.errors import L1Error
from zkpipe.extras import require

ANVIL_ENV = "ZKPIPE_ANVIL"
"""Path of the anvil binary, if not the project's tools folder or PATH."""
TOOLS_ANVIL = Path("tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
"""Where `make tools` installs anvil, relative to the repository."""
LOOPBACK = "127.0.0.1"
STATE_FILE = "anvil-state.json"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def anvil_binary() -> Path:
    """The anvil executable: $ZKPIPE_ANVIL, else the repository's tools folder, else PATH."""
    named = os.environ.get(ANVIL_ENV)
    if named:
        return Path(named)
    repo = Path(__file__).resolve().parents[3]
    if (repo / TOOLS_ANVIL).exists():
        return repo / TOOLS_ANVIL
    found = shutil.which("anvil")
    if found is None:
        raise L1Error(f"anvil not found: run `make tools`, put anvil on PATH or set {ANVIL_ENV}")
    return Path(found)


DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The mnemonic of anvil's (and hardhat's) funded dev accounts: public, for dev chains only."""
DEV_ACCOUNTS = 10


def dev_key(index: int) -> bytes:
    """The private key of anvil's `index`-th funded dev account (BIP-44 path m/44'/60'/0'/0/index)."""
    require("eth_account", needed_for="anvil's dev keys")
    from eth_account import Account  # why here: the embedded L1 needs no Ethereum account library

    Account.enable_unaudited_hdwallet_features()  # why: derivation only, of keys that are public anyway
    account = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return bytes(account.key)


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class Anvil:
    """One anvil process: `start()`, `stop()` (graceful: the state is written), `kill()` (no state write)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        block_time: float = 1.0,
        chain_id: int = 31337,
        port: int | None = None,
        state_interval_s: int = 5,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.block_time = block_time
        self.chain_id = chain_id
        self.port = port or free_port()
        self.state_interval_s = state_interval_s
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def state_path(self) -> Path:
        """The state file anvil loads on start and writes every `state_interval_s` and on exit.

        It holds the latest state, blocks and transactions, not each block's state (that grows by
        ~120 kB per block and slows anvil down): calls at old blocks fail after a restart."""
        return self.data_dir / STATE_FILE

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Anvil:
        """Start anvil (loading the kept state) and wait until it answers JSON-RPC."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(anvil_binary()),
            "--host", LOOPBACK,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--block-time", str(self.block_time),
            "--state", str(self.state_path),
            "--state-interval", str(self.state_interval_s),
            "--accounts", str(DEV_ACCOUNTS),
            "--balance", str(10**12),
            "--silent",
        ]  # fmt: skip
        log = open(self.data_dir / "anvil.log", "ab")  # noqa: SIM115 - the child keeps it open
        try:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.request("eth_chainId")
                return self
            except L1Error:
                if not self.running:
                    raise L1Error(f"anvil exited at start; see {self.data_dir / 'anvil.log'}") from None
                if time.monotonic() > deadline:
                    self.kill()
                    raise L1Error(f"anvil did not answer on {self.url} within {START_TIMEOUT_S} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop anvil gracefully (SIGTERM): it writes its state file before exiting."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill anvil at once (SIGKILL): only the last periodic state write survives."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop gracefully and start again on the same port with the kept state."""
        self.stop()
        self.start()

    def request(self, method: str, *params: Any, timeout: float = 10.0) -> Any:
        """One raw JSON-RPC call (for anvil's own methods: mining, mempool, balances)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        http = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(http, timeout=timeout) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise L1Error(f"anvil at {self.url} did not answer {method}: {exc}") from exc
        if "error" in answer:
            raise L1Error(f"anvil {method} failed: {answer['error']}")
        return answer.get("result")

    def fund(self, address: str, wei: int) -> None:
        """Set an account's balance (anvil_setBalance)."""
        self.request("anvil_setBalance", address, hex(wei))

    def drop_transaction(self, tx_hash: bytes) -> None:
        """Remove a pending transaction from anvil's mempool (anvil_dropTransaction)."""
        self.request("anvil_dropTransaction", "0x" + tx_hash.hex())

    def set_automine(self, on: bool) -> None:
        """Turn interval mining off (False) or back on (True: at `block_time` rounded to whole seconds,
        the only interval anvil's RPC accepts)."""
        if on:
            self.request("evm_setIntervalMining", max(1, round(self.block_time)))
        else:
            self.request("evm_setIntervalMining", 0)

    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` blocks now (in requests of at most 100, each well inside the HTTP timeout)."""
        while blocks > 0:
            self.request("anvil_mine", hex(min(blocks, 100)), timeout=120.0)
            blocks -= 100

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
