"""The JSON-RPC 2.0 server over HTTP (aiohttp): zk_* methods, batch requests, /metrics and /health.

Every failure is a JSON-RPC error object whose `code` is a stable number and whose `data.code` is
the stable name of the rule (see `zkpipe.sequencer.errors.ERROR_TABLE` and docs/rpc.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeAlias

from aiohttp import web

from zkpipe.errors import DecodeError, InvalidTransaction, TxError, ZkpipeError
from zkpipe.execution import digest_bytes
from zkpipe.native import tx_hashes
from zkpipe.sequencer.errors import (
    INTERNAL_ERROR,
    DepositNotAllowed,
    invalid_params,
    invalid_request,
    method_not_found,
    parse_error,
    request_too_large,
    to_rpc_error,
)
from zkpipe.sequencer.mempool import Ack, Result
from zkpipe.spec import MAX_CHAIN_ID, Deposit, UserTransaction, decode_tx
from zkpipe.spec.public_data import FEE_MANTISSA_BITS, is_packable, is_publishable
from zkpipe.spec.types import DOMAIN_TX_HASH
from zkpipe.wire import Ack as WireAck
from zkpipe.wire import Receipt, TxTimestamps

logger = logging.getLogger("zkpipe.rpc")

_HEX = re.compile(r"0x([0-9a-fA-F]{2})*")
"""The hex parameter rule; `_hex_param` checks it without the regex (cheaper per call)."""
MAX_TX_HEX = 2 + 2 * 256
MAX_REMEMBERED_REJECTIONS = 10_000

OnDone: TypeAlias = Callable[[list[Result]], None]
_InFlight: TypeAlias = tuple[asyncio.Future[list[Result]], int]
"""A send in flight: the future of its submission's outcomes and its place among them."""


class RpcBackend(Protocol):
    """What the RPC needs from a node."""

    def submit(self, txs: list[UserTransaction], on_done: Callable[[list[Result]], None]) -> None: ...
    def submit_many(self, items: list[tuple[list[UserTransaction], OnDone]]) -> None: ...
    def receipt_by_hash(self, tx_hash: bytes) -> dict[str, Any] | None: ...
    def account_by_index(self, index: int) -> dict[str, Any] | None: ...
    def batch_by_number(self, number: int, with_transactions: bool = False) -> dict[str, Any] | None: ...
    def chain_info(self) -> dict[str, Any]: ...
    def kpi(self) -> dict[str, Any]: ...
    def prover_pool(self) -> dict[str, Any] | None: ...
    def dev_deposit(self, account_index: int, public_key_bytes: bytes, amount: int) -> str: ...
    def withdrawal_proof_by_tx(self, tx_hash: bytes) -> dict[str, Any] | None: ...
    def dev_claim_withdrawal(self, tx_hash: bytes) -> str: ...
    def metrics_text(self) -> bytes: ...
    def health(self) -> dict[str, Any]: ...


def _hex_param(value: object, name: str, *, length: int | None = None, max_chars: int = 4096) -> bytes:
    if not isinstance(value, str):
        raise invalid_params(f"{name} must be a 0x-prefixed hex string")
    message = f"{name} must be '0x' followed by an even number of hex digits"
    if len(value) > max_chars or not value.startswith("0x"):
        raise DecodeError(message)
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise DecodeError(message) from None
    # Why the length: fromhex skips whitespace between bytes; `_HEX` (the rule) has none.
    if 2 * len(data) != len(value) - 2:
        raise DecodeError(message)
    if length is not None and len(data) != length:
        raise DecodeError(f"{name} must be {length} bytes, got {len(data)}")
    return data


def _int_param(value: object, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise invalid_params(f"{name} must be an integer in [0, {maximum}]")
    return value


def _u64_param(value: object, name: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"0|[1-9][0-9]{0,19}", value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise invalid_params(f"{name} must be a decimal string or an integer")
    if not 0 <= number < 2**64:
        raise invalid_params(f"{name} must be in [0, 2**64)")
    return number


def _params(params: object, names: tuple[str, ...], required: int) -> list[Any]:
    """Positional or named params as a list in `names` order; INVALID_PARAMS on a wrong shape."""
    if params is None:
        params = []
    if isinstance(params, dict):
        unknown = set(params) - set(names)
        if unknown:
            raise invalid_params(f"unknown params {sorted(unknown)}")
        values = [params.get(n) for n in names]
        if any(values[i] is None for i in range(required)):
            raise invalid_params(f"params {list(names[:required])} are required")
        return values
    if not isinstance(params, list):
        raise invalid_params("params must be an array or an object")
    if not required <= len(params) <= len(names):
        raise invalid_params(f"expected {required}..{len(names)} params, got {len(params)}")
    return params + [None] * (len(names) - len(params))


class RpcServer:
    """Dispatches JSON-RPC calls to a backend."""

    def __init__(
        self,
        backend: RpcBackend,
        *,
        max_body_bytes: int,
        max_batch_calls: int,
        dev_methods: bool,
        routes: Sequence[web.RouteDef] = (),
        chain_id: int | None = None,
    ) -> None:
        self.backend = backend
        self.chain_id = chain_id
        """The deployment's chain id: a send naming another is refused with WRONG_CHAIN_ID."""
        self.routes = routes
        """Further GET routes on the same port (the live dashboard)."""
        self.max_body_bytes = max_body_bytes
        self.max_batch_calls = max_batch_calls
        self.methods: dict[str, Callable[[object], Awaitable[Any]]] = {
            "zk_sendTransaction": self.send_transaction,
            "zk_getTransactionReceipt": self.get_transaction_receipt,
            "zk_getAccount": self.get_account,
            "zk_getBatch": self.get_batch,
            "zk_chainInfo": self.chain_info,
            "zk_kpi": self.kpi,
            "zk_getWithdrawalProof": self.get_withdrawal_proof,
            "zk_proverPool": self.prover_pool,
        }
        if dev_methods:
            self.methods["zk_devDeposit"] = self.dev_deposit
            self.methods["zk_devClaimWithdrawal"] = self.dev_claim_withdrawal
        # Sends decoded in one event-loop turn go to the sequencer as one submission (one wakeup,
        # one callback), in the order they were decoded.
        self._outbox: list[tuple[list[UserTransaction], asyncio.Future[list[Result]]]] = []
        # Outcomes come back from the sequencer thread; one loop wakeup drains all that arrived.
        self._inbox: deque[tuple[asyncio.Future[list[Result]], list[Result]]] = deque()
        self._drain_pending = False
        # Recently rejected transactions, so their receipt says why (bounded; not stored on disk).
        self.rejected: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self._in_flight: dict[bytes, _InFlight] = {}
        self.pending: dict[bytes, float] = {}
        """Transactions received and not yet decided (waiting in the mempool or for a nonce gap)."""

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_post("/", self.handle)
        app.router.add_post("/rpc", self.handle)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/health", self.health)
        app.add_routes(self.routes)
        return app

    # -- HTTP --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """One HTTP request: a JSON-RPC call or a batch of calls."""
        try:
            if request.content_length is not None and request.content_length > self.max_body_bytes:
                raise request_too_large(self.max_body_bytes)
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise request_too_large(self.max_body_bytes) from None
            try:
                # Why strict: NaN and Infinity are not JSON (RFC 8259); nor is a body that is not UTF-8.
                message = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
            except (ValueError, RecursionError):
                raise parse_error("the body is not valid JSON (RFC 8259, UTF-8)") from None
        except ZkpipeError as err:
            status = 413 if err.code == "REQUEST_TOO_LARGE" else 200
            return self._json({"jsonrpc": "2.0", "id": None, "error": to_rpc_error(err)}, status)
        result = await self.dispatch(message)
        if result is None:
            return web.Response(status=204)
        return self._json(result)

    @staticmethod
    def _json(payload: object, status: int = 200) -> web.Response:
        try:
            body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        except ValueError:  # a NaN or infinity in a result: a bug, but the answer stays JSON
            logger.exception("event=rpc_unserialisable_result")
            error = {"code": INTERNAL_ERROR, "message": "internal error", "data": _INTERNAL}
            body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error})
        return web.Response(body=body.encode(), status=status, content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        return web.Response(body=self.backend.metrics_text(), content_type="text/plain", charset="utf-8")

    async def health(self, request: web.Request) -> web.Response:
        """200 while every component runs, 503 otherwise."""
        health = self.backend.health()
        return self._json(health, 200 if health["ok"] else 503)

    # -- JSON-RPC ---------------------------------------------------------------------------------

    async def dispatch(self, message: object) -> object | None:
        """The response to a parsed message (None if it only held notifications)."""
        if isinstance(message, list):
            if not message:
                return {"jsonrpc": "2.0", "id": None, "error": to_rpc_error(invalid_request("empty batch"))}
            if len(message) > self.max_batch_calls:
                return {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": to_rpc_error(request_too_large(self.max_batch_calls)),
                }
            return await self._batch(message)
        return await self.call(message)

    async def _batch(self, messages: list[Any]) -> list[dict[str, Any]] | None:
        """A batch's responses in call order: its sends decoded, hashed and submitted together (one
        native call, one submission, one wakeup, one future), every other call as a task started in order."""
        responses: list[Any] = [None] * len(messages)
        sends: list[tuple[int, object, bool, UserTransaction, bytes]] = []
        for i, m in enumerate(messages):
            call_id, notification, method, err = self._open(m)
            if method == "zk_sendTransaction":
                try:
                    tx, encoding = self._decode_send(m.get("params"))
                except Exception as exc:  # why broad: as in `call`
                    err = exc
                else:
                    sends.append((i, call_id, notification, tx, encoding))
                    continue
            if err is not None:
                responses[i] = None if notification else _error(call_id, err)
            else:
                responses[i] = asyncio.ensure_future(self.call(m))
            if i % BATCH_SLICE == BATCH_SLICE - 1:
                # Why yield: one big batch of other calls cannot hold every other request.
                await asyncio.sleep(0)
        if sends:
            answers = await self._send_many([(tx, encoding) for _, _, _, tx, encoding in sends])
            for (i, call_id, notification, _, _), answer in zip(sends, answers, strict=True):
                if notification:
                    continue
                responses[i] = (
                    _error(call_id, answer)
                    if isinstance(answer, Exception)
                    else {"jsonrpc": "2.0", "id": call_id, "result": answer}
                )
        out = [(await r) if isinstance(r, asyncio.Future) else r for r in responses]
        return [r for r in out if r is not None] or None

    def _open(self, message: object) -> tuple[object, bool, str | None, Exception | None]:
        """A call's id, whether it is a notification, and its method, or the error that refuses it."""
        call_id: object = None
        notification = False  # a well-formed call without "id": never answered, not even with an error
        try:
            if not isinstance(message, dict):
                raise invalid_request("a call must be a JSON object")
            call_id = message.get("id")
            if not (
                call_id is None
                or isinstance(call_id, str)
                or (isinstance(call_id, int | float) and not isinstance(call_id, bool))
            ) or (isinstance(call_id, float) and not math.isfinite(call_id)):
                # Why finite: 1e999 parses to infinity, which cannot be echoed as JSON.
                call_id = None
                raise invalid_request("id must be a string, a finite number or null")
            if message.get("jsonrpc") != "2.0":
                raise invalid_request('"jsonrpc" must be "2.0"')
            method = message.get("method")
            if not isinstance(method, str):
                raise invalid_request("method must be a string")
            if set(message) - {"jsonrpc", "method", "params", "id"}:
                raise invalid_request("unknown members in the call")
            notification = "id" not in message
            if method not in self.methods:
                raise method_not_found(method)
            return call_id, notification, method, None
        except ZkpipeError as err:
            return call_id, notification, None, err

    async def call(self, message: object) -> dict[str, Any] | None:
        """One call's response object (None for a notification)."""
        call_id, notification, method, err = self._open(message)
        try:
            if err is not None:
                raise err
            assert isinstance(message, dict) and method is not None
            result = await self.methods[method](message.get("params"))
            if notification:
                return None
            return {"jsonrpc": "2.0", "id": call_id, "result": result}
        except Exception as exc:  # why broad: every failure must become a JSON-RPC error, never a 500
            if notification:
                return None
            return _error(call_id, exc)

    # -- methods ----------------------------------------------------------------------------------------

    async def send_transaction(self, params: object) -> dict[str, Any]:
        """zk_sendTransaction [tx_hex, chain_id?] → the trusted acknowledgement, once durably stored."""
        tx, encoding = self._decode_send(params)
        (answer,) = await self._send_many([(tx, encoding)])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _decode_send(self, params: object) -> tuple[UserTransaction, bytes]:
        """A send's transaction and its encoding, after every check that needs no state."""
        raw, chain_id = _params(params, ("tx", "chain_id"), 1)
        encoding = _hex_param(raw, "tx", max_chars=MAX_TX_HEX)
        tx = decode_tx(encoding)
        if isinstance(tx, Deposit):
            raise DepositNotAllowed("deposits come from the L1 deposit queue, not from RPC")
        # Verify the transaction has a compact encoding, so what is sequenced can be posted packed.
        if not is_packable(tx.fee, FEE_MANTISSA_BITS):
            raise InvalidTransaction(TxError.UNPACKABLE_FEE, f"fee {tx.fee} is not m·10^e with m < 2^11")
        if not is_publishable(tx):
            raise InvalidTransaction(
                TxError.UNPACKABLE_AMOUNT, f"amount {tx.amount} is not m·10^e with m < 2^35"
            )
        # Verify the transaction was signed for this deployment, when the sender says which it was
        # for: without it a wrong chain's signature is only a BAD_SIGNATURE, with it the reason.
        if chain_id is not None:
            chain_id = _int_param(chain_id, "chain_id", MAX_CHAIN_ID)
            if self.chain_id is not None and chain_id != self.chain_id:
                raise InvalidTransaction(
                    TxError.WRONG_CHAIN_ID, f"signed for chain {chain_id}, this is chain {self.chain_id}"
                )
        return tx, encoding

    async def _send_many(
        self, sends: list[tuple[UserTransaction, bytes]]
    ) -> list[dict[str, Any] | Exception]:
        """The acknowledgement (or error) of each decoded send, once the sequencer decided them all."""
        # Decoding is one-to-one, so the submitted bytes are the canonical encoding the hash is over.
        hashes = [digest_bytes(h) for h in tx_hashes(DOMAIN_TX_HASH, [encoding for _, encoding in sends])]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        # Idempotent: a resend of a transaction in flight waits for the same outcome; a resend of a
        # stored one (the duplicate fails on its used nonce) answers with its existing status.
        resent: dict[int, _InFlight] = {}
        fresh: list[int] = []
        now = time.time()
        for i, tx_hash in enumerate(hashes):
            earlier = self._in_flight.get(tx_hash)
            if earlier is not None:
                resent[i] = earlier
                continue
            self._in_flight[tx_hash] = (future, len(fresh))
            self.pending[tx_hash] = now
            fresh.append(i)
        answers: list[dict[str, Any] | Exception | None] = [None] * len(sends)
        try:
            if fresh:
                if not self._outbox:
                    loop.call_soon(self._flush, loop)
                self._outbox.append(([sends[i][0] for i in fresh], future))
                try:
                    results = await future
                except ZkpipeError as err:  # the submission was refused (full, stopping)
                    results = [err] * len(fresh)
                for i, result in zip(fresh, results, strict=True):
                    answers[i] = self._answer(hashes[i], result)
        finally:
            for i in fresh:
                self.pending.pop(hashes[i], None)
                self._in_flight.pop(hashes[i], None)
        for i, (submission, at) in resent.items():
            try:
                result = (await asyncio.shield(submission))[at]
            except ZkpipeError as err:
                result = err
            answers[i] = _ack_json(result, already_known=True) if isinstance(result, Ack) else result
        return [a for a in answers if a is not None]

    def _answer(self, tx_hash: bytes, result: Result) -> dict[str, Any] | Exception:
        """A fresh send's answer: its acknowledgement, its stored status if it was a resend, or its error."""
        if isinstance(result, Ack):
            return _ack_json(result)
        known = self.backend.receipt_by_hash(tx_hash)
        if known is not None:
            return _known_ack_json(known)
        self._remember_rejection(tx_hash, result)
        return result

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Submits every send decoded in this loop turn as one submission (one callback per request)."""
        outbox, self._outbox = self._outbox, []

        def callback(future: asyncio.Future[list[Result]]) -> Callable[[list[Result]], None]:
            def done(results: list[Result]) -> None:
                self._inbox.append((future, results))
                if not self._drain_pending:
                    self._drain_pending = True
                    loop.call_soon_threadsafe(self._drain)

            return done

        try:
            self.backend.submit_many([(txs, callback(future)) for txs, future in outbox])
        except ZkpipeError as err:
            for _, future in outbox:
                if not future.done():
                    future.set_exception(err)

    def _drain(self) -> None:
        """Resolves every outcome the sequencer delivered since the last drain."""
        self._drain_pending = False
        while self._inbox:
            future, results = self._inbox.popleft()
            if not future.done():
                future.set_result(results)

    def _remember_rejection(self, tx_hash: bytes, error: ZkpipeError) -> None:
        self.rejected[tx_hash] = Receipt(
            hash="0x" + tx_hash.hex(),
            status="rejected",
            reason=error.code,
            message=error.message,
            timestamps=TxTimestamps(rejected=time.time()),
        ).model_dump(mode="json")
        self.rejected.move_to_end(tx_hash)
        while len(self.rejected) > MAX_REMEMBERED_REJECTIONS:
            self.rejected.popitem(last=False)

    async def get_transaction_receipt(self, params: object) -> dict[str, Any] | None:
        """zk_getTransactionReceipt [hash] → receipt (stored, or recently rejected) or null."""
        (raw,) = _params(params, ("hash",), 1)
        tx_hash = _hex_param(raw, "hash", length=32)
        receipt = self.backend.receipt_by_hash(tx_hash)
        if receipt is not None:
            return receipt
        submitted = self.pending.get(tx_hash)
        if submitted is not None:
            pending = Receipt(
                hash="0x" + tx_hash.hex(), status="pending", timestamps=TxTimestamps(submitted=submitted)
            )
            return pending.model_dump(mode="json")
        return self.rejected.get(tx_hash)

    async def get_account(self, params: object) -> dict[str, Any] | None:
        """zk_getAccount [index] → account or null."""
        (raw,) = _params(params, ("index",), 1)
        return self.backend.account_by_index(_int_param(raw, "index", 2**32 - 1))

    async def get_batch(self, params: object) -> dict[str, Any] | None:
        """zk_getBatch [number, with_transactions?] → batch or null."""
        raw, full = _params(params, ("number", "with_transactions"), 1)
        if full is not None and not isinstance(full, bool):
            raise invalid_params("with_transactions must be a boolean")
        return self.backend.batch_by_number(_int_param(raw, "number", 2**63 - 1), bool(full))

    async def chain_info(self, params: object) -> dict[str, Any]:
        """zk_chainInfo [] → latest trusted / virtual / consolidated batches and roots."""
        _params(params, (), 0)
        return self.backend.chain_info()

    async def kpi(self, params: object) -> dict[str, Any]:
        """zk_kpi [] → the measured KPIs: delays per state (p50/p95/p99), throughput, stage times, costs."""
        _params(params, (), 0)
        return await asyncio.to_thread(self.backend.kpi)

    async def prover_pool(self, params: object) -> dict[str, Any] | None:
        """zk_proverPool [] → the prover workers, the quarantined ones and the bytes moved per kind
        of job; null when the node does not prove."""
        _params(params, (), 0)
        return await asyncio.to_thread(self.backend.prover_pool)

    async def dev_deposit(self, params: object) -> dict[str, Any]:
        """zk_devDeposit [index, public_key, amount] → L1 transaction hash (embedded devnet only)."""
        index, key, amount = _params(params, ("index", "public_key", "amount"), 3)
        tx_hash = self.backend.dev_deposit(
            _int_param(index, "index", 2**32 - 1),
            _hex_param(key, "public_key", length=40),
            _u64_param(amount, "amount"),
        )
        return {"l1_tx_hash": tx_hash}

    async def get_withdrawal_proof(self, params: object) -> dict[str, Any] | None:
        """zk_getWithdrawalProof [tx_hash] → the claim proof of that transaction's payout, or null until
        L1 has verified the window covering it."""
        (raw,) = _params(params, ("tx_hash",), 1)
        return await asyncio.to_thread(
            self.backend.withdrawal_proof_by_tx, _hex_param(raw, "tx_hash", length=32)
        )

    async def dev_claim_withdrawal(self, params: object) -> dict[str, Any]:
        """zk_devClaimWithdrawal [tx_hash] → L1 transaction hash of claimWithdrawal sent from a dev
        account (embedded devnet only; the recipient is paid, whoever sends it)."""
        (raw,) = _params(params, ("tx_hash",), 1)
        tx_hash = _hex_param(raw, "tx_hash", length=32)
        return {"l1_tx_hash": await asyncio.to_thread(self.backend.dev_claim_withdrawal, tx_hash)}


def _ack_json(ack: Ack, *, already_known: bool = False) -> dict[str, Any]:
    """The acknowledgement of a transaction the sequencer just executed (or one in flight): the
    `WireAck` model's JSON form, built directly (building the model cost more than executing)."""
    return {
        "hash": "0x" + ack.tx_hash.hex(),
        "status": "trusted",
        "seq": ack.seq,
        "batch": ack.batch,
        "timestamps": {
            "submitted": ack.submitted_at,
            "trusted": ack.trusted_at,
            "virtual": None,
            "consolidated": None,
            "rejected": None,
        },
        "already_known": already_known,
    }


def _known_ack_json(receipt: dict[str, Any]) -> dict[str, Any]:
    """The acknowledgement of a resent transaction the node had stored: its status now."""
    stored = Receipt.model_validate(receipt)
    return WireAck(
        hash=stored.hash,
        status=stored.status,  # type: ignore[arg-type]
        seq=stored.seq or 0,
        batch=stored.batch or 0,
        timestamps=stored.timestamps,
        already_known=True,
    ).model_dump(mode="json")


BATCH_SLICE = 32
"""Calls of a batch request started between two yields of the event loop."""


def _error(call_id: object, err: Exception) -> dict[str, Any]:
    """The error response to a call (an unexpected error is logged: it is a bug)."""
    if not isinstance(err, ZkpipeError):
        logger.exception("event=rpc_internal_error", exc_info=err)
    return {"jsonrpc": "2.0", "id": call_id, "error": to_rpc_error(err)}


_INTERNAL = {"code": "INTERNAL_ERROR", "severity": "critical", "message": "unserialisable result"}


def _reject_constant(token: str) -> object:
    raise ValueError(f"{token} is not JSON")


async def serve(server: RpcServer, host: str, port: int) -> web.AppRunner:
    """Starts the HTTP server; returns the runner (`await runner.cleanup()` stops it)."""
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port the runner listens on (useful with port 0)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("the server is not listening")
