"""A typed JSON-RPC client of a zkpipe node (synchronous, one keep-alive HTTP connection)."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from zkpipe.errors import Severity, ZkpipeError
from zkpipe.spec import AccountIndex, Amount, Nonce, PublicKey, Transaction, encode_tx
from zkpipe.wire import Account, Ack, Batch, ChainInfo, ProverPool, Receipt, WithdrawalClaim

DEFAULT_URL = "http://127.0.0.1:8545"
STATES = ("pending", "trusted", "virtual", "consolidated")


class RpcCallError(ZkpipeError):
    """The node answered with a JSON-RPC error; `code` is its stable `data.code`, `rpc_code` the number."""

    def __init__(self, rpc_code: int, code: str, message: str, severity: str) -> None:
        super().__init__(message, code=code)
        self.rpc_code = rpc_code
        try:
            self.severity = Severity(severity)
        except ValueError:
            self.severity = Severity.CRITICAL


class NodeUnreachable(ZkpipeError):
    """The node could not be reached over HTTP."""

    code = "NODE_UNREACHABLE"
    severity = Severity.TEMPORARY


SendResult = Ack
"""The node's acknowledgement (`zkpipe.wire.Ack`): executed and durably stored, or already known."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A trusted account, with the spec's types."""

    index: AccountIndex
    public_key: PublicKey
    balance: Amount
    nonce: Nonce


def _error(obj: dict[str, Any]) -> RpcCallError:
    data = obj.get("data") or {}
    return RpcCallError(
        int(obj.get("code", -32603)),
        str(data.get("code", "INTERNAL_ERROR")),
        str(obj.get("message", "")),
        str(data.get("severity", "critical")),
    )


class ZkClient:
    """Calls a node's JSON-RPC methods; raises RpcCallError with the node's stable codes."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http:// URL, got {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Closes the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ZkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, payload: object, *, idempotent: bool = False) -> Any:
        """POSTs a JSON payload and returns the decoded JSON answer (None for 204).

        A request that failed before it was sent (connecting) is sent again once. One that failed
        after (a timeout, a dropped connection) may have been done by the node: it is sent again
        only if `idempotent`, otherwise NodeUnreachable says the outcome is unknown.
        """
        body = json.dumps(payload).encode()
        for attempt in (0, 1):
            sent = False
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                    self._conn.connect()
                sent = True
                self._conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as err:
                self.close()
                # A kept-alive connection the server closed fails on the first send: nothing was done.
                stale = isinstance(err, http.client.RemoteDisconnected | BrokenPipeError) and attempt == 0
                if attempt or (sent and not idempotent and not stale):
                    raise NodeUnreachable(
                        f"cannot reach the node at {self.host}:{self.port}: {err!r}"
                        + ("" if not sent else " (the call may or may not have been done)")
                    ) from None
        return json.loads(data) if data else None

    def call_idempotent(self, method: str, *params: Any) -> Any:
        """One call that may safely be sent twice (reads; a transaction send); retried once on failure."""
        return self._result(self._request(method, params), idempotent=True)

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; returns its result or raises RpcCallError. Not sent twice."""
        return self._result(self._request(method, params), idempotent=False)

    def _request(self, method: str, params: tuple[Any, ...]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}

    def _result(self, request: dict[str, Any], *, idempotent: bool) -> Any:
        answer = self.post(request, idempotent=idempotent)
        if "error" in answer:
            raise _error(answer["error"])
        return answer["result"]

    def call_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """A JSON-RPC batch; one result or RpcCallError per call, in order."""
        first = next(self._ids)
        ids = list(range(first, first + len(calls)))
        self._ids = itertools.count(first + len(calls))
        answer = self.post(
            [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in zip(ids, calls, strict=True)
            ]
        )
        if isinstance(answer, dict):
            raise _error(answer["error"])
        by_id = {a.get("id"): a for a in answer}
        return [_error(by_id[i]["error"]) if "error" in by_id[i] else by_id[i]["result"] for i in ids]

    # -- methods ------------------------------------------------------------------------------

    def send_transaction(self, tx: Transaction | bytes, *, chain_id: int | None = None) -> SendResult:
        """Sends a signed transaction (or its canonical encoding); returns once it is trusted.

        `chain_id`, the deployment the transaction was signed for, lets a node of another one refuse
        it with WRONG_CHAIN_ID (without it, the signature simply does not verify there).
        """
        raw = tx if isinstance(tx, bytes) else encode_tx(tx)
        params: tuple[object, ...] = ("0x" + raw.hex(),) if chain_id is None else ("0x" + raw.hex(), chain_id)
        # Why retried: the node answers a resent transaction with its existing status (idempotent).
        return Ack.model_validate(self.call_idempotent("zk_sendTransaction", *params))

    def get_transaction_receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt of a transaction (pending, trusted, …, or rejected), or None if unknown."""
        r = self.call_idempotent("zk_getTransactionReceipt", tx_hash)
        return None if r is None else Receipt.model_validate(r)

    def get_account(self, index: int) -> AccountInfo | None:
        """The trusted account at `index`, or None if empty."""
        r = self.call_idempotent("zk_getAccount", index)
        if r is None:
            return None
        a = Account.model_validate(r)
        key = PublicKey(bytes.fromhex(a.public_key[2:]))
        return AccountInfo(AccountIndex(a.index), key, Amount(int(a.balance)), Nonce(a.nonce))

    def get_batch(self, number: int, with_transactions: bool = False) -> Batch | None:
        """A closed batch, or None."""
        r = self.call_idempotent("zk_getBatch", number, with_transactions)
        return None if r is None else Batch.model_validate(r)

    def chain_info(self) -> ChainInfo:
        """Latest trusted / virtual / consolidated batches, state roots, L1 position and health."""
        return ChainInfo.model_validate(self.call_idempotent("zk_chainInfo"))

    def prover_pool(self) -> ProverPool | None:
        """The prover workers (ready, job, host, outcomes, bytes), the quarantined ones, the traffic."""
        result = self.call_idempotent("zk_proverPool")
        return None if result is None else ProverPool.model_validate(result)

    def dev_deposit(self, index: int, public_key: bytes, amount: int) -> str:
        """Deposits from the embedded devnet's dev account; returns the L1 transaction hash."""
        return str(self.call("zk_devDeposit", index, "0x" + public_key.hex(), str(amount))["l1_tx_hash"])

    def get_withdrawal_proof(self, tx_hash: str) -> WithdrawalClaim | None:
        """The claim proof of the payout `tx_hash` made, once L1 verified its window; else None."""
        r = self.call_idempotent("zk_getWithdrawalProof", tx_hash)
        return None if r is None else WithdrawalClaim.model_validate(r)

    def dev_claim_withdrawal(self, tx_hash: str) -> str:
        """Has the node claim the payout of `tx_hash` on its embedded devnet; returns the L1 tx hash."""
        return str(self.call("zk_devClaimWithdrawal", tx_hash)["l1_tx_hash"])

    def wait_for_status(
        self, tx_hash: str, status: str, *, timeout: float = 60.0, poll: float = 0.1
    ) -> Receipt:
        """Polls until the transaction reaches `status` (or a later state); TimeoutError otherwise."""
        wanted = STATES.index(status)
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.get_transaction_receipt(tx_hash)
            if receipt is not None and STATES.index(receipt.status) >= wanted:
                return receipt
            if time.monotonic() > deadline:
                raise TimeoutError(f"{tx_hash} did not reach {status} in {timeout} s")
            time.sleep(poll)

    def wait_for_account(self, index: int, *, timeout: float = 60.0, poll: float = 0.1) -> AccountInfo:
        """Polls until the account exists (e.g. after a deposit); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            account = self.get_account(index)
            if account is not None:
                return account
            if time.monotonic() > deadline:
                raise TimeoutError(f"account {index} did not appear in {timeout} s")
            time.sleep(poll)
