"""JSON-RPC: every method, batch requests, and bad input of every kind → a stable error, nothing lost."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest

from tests.node.helpers import BALANCE, FundedNode
from zkpipe.client import RpcCallError, ZkClient
from zkpipe.execution import digest_bytes
from zkpipe.node.deployment import operator_fee_key
from zkpipe.node.node import DB_NAME
from zkpipe.node.store import Store
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    apply_batch,
    compute_tx_hash,
    decode_batch,
    encode_tx,
    get_account,
    initial_state,
    sign_transfer,
    sign_withdraw,
)


def _no_constants(token: str) -> Any:
    raise ValueError(f"{token} is not JSON (RFC 8259)")


def strict_json(data: bytes) -> Any:
    """Parses bytes as RFC 8259 JSON: UTF-8, no NaN or Infinity."""
    return json.loads(data.decode("utf-8"), parse_constant=_no_constants)


def raw_post(funded: FundedNode, body: bytes, path: str = "/") -> tuple[int, Any]:
    """POSTs raw bytes; returns the status and decoded JSON (None if empty)."""
    conn = http.client.HTTPConnection("127.0.0.1", funded.background.port, timeout=30)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        return response.status, strict_json(data) if data else None
    finally:
        conn.close()


def send_hex(funded: FundedNode, value: object) -> Any:
    return funded.client.post({"jsonrpc": "2.0", "id": 1, "method": "zk_sendTransaction", "params": [value]})


def error_code(answer: Any) -> tuple[int, str]:
    return answer["error"]["code"], answer["error"]["data"]["code"]


def test_send_then_receipt_goes_trusted_then_virtual(funded: FundedNode) -> None:
    tx = funded.transfer(1, 2, amount=10)
    sent = funded.client.send_transaction(tx)
    assert sent.status == "trusted" and sent.hash == "0x" + digest_bytes(compute_tx_hash(tx)).hex()
    receipt = funded.client.wait_for_status(sent.hash, "virtual", timeout=20)
    assert receipt.batch == sent.batch and receipt.l1_block is not None
    ts = receipt.timestamps
    assert ts.submitted is not None and ts.trusted is not None and ts.virtual is not None
    assert ts.submitted <= ts.trusted <= ts.virtual
    batch = funded.client.get_batch(sent.batch)
    assert batch is not None and sent.hash in batch.transactions and batch.status == "virtual"
    assert batch.l1_gas is None or batch.l1_gas > 0
    info = funded.client.chain_info()
    assert info.virtual_batch >= sent.batch and info.trusted_batch >= sent.batch


def test_parked_transaction_is_pending_until_its_gap_fills(funded: FundedNode) -> None:
    import threading

    account = funded.client.get_account(2)
    assert account is not None
    later = funded.transfer(2, 3, nonce=account.nonce + 1)
    later_hash = "0x" + digest_bytes(compute_tx_hash(later)).hex()
    results: list[object] = []
    other = ZkClient(funded.background.url)
    waiter = threading.Thread(target=lambda: results.append(other.send_transaction(later)))
    waiter.start()
    deadline = time.monotonic() + 10
    while (r := funded.client.call("zk_getTransactionReceipt", later_hash)) is None or r[
        "status"
    ] != "pending":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # The SDK reads a pending receipt (one typed shape, no KeyError), and a resend while it is in
    # flight waits for the same outcome instead of failing on the nonce.
    pending = funded.client.get_transaction_receipt(later_hash)
    assert pending is not None and pending.status == "pending" and pending.outcome is None
    third = ZkClient(funded.background.url)
    resender = threading.Thread(target=lambda: results.append(third.send_transaction(later)))
    resender.start()
    time.sleep(0.2)
    funded.client.send_transaction(funded.transfer(2, 3, nonce=account.nonce))
    waiter.join(10)
    resender.join(10)
    other.close()
    third.close()
    assert funded.client.call("zk_getTransactionReceipt", later_hash)["status"] != "pending"
    acks = sorted(results, key=lambda a: a.already_known)  # type: ignore[attr-defined]
    assert [a.already_known for a in acks] == [False, True]  # type: ignore[attr-defined]
    assert acks[0].seq == acks[1].seq  # type: ignore[attr-defined]


def test_get_account_and_missing_things_are_null(funded: FundedNode) -> None:
    account = funded.client.get_account(3)
    assert account is not None and account.public_key == funded.keys[2][1]
    assert funded.client.get_account(999) is None
    assert funded.client.get_batch(10**9) is None
    assert funded.client.get_transaction_receipt("0x" + "00" * 32) is None


def test_batch_request_keeps_order_and_answers_each_call(funded: FundedNode) -> None:
    start = funded.client.get_account(4)
    assert start is not None
    calls: list[tuple[str, list[Any]]] = [
        ("zk_sendTransaction", ["0x" + encode_tx(funded.transfer(4, 1, nonce=start.nonce + i)).hex()])
        for i in range(5)
    ]
    calls.append(("zk_getAccount", [4]))
    calls.append(("zk_nope", []))
    results = funded.client.call_batch(calls)
    seqs = [r["seq"] for r in results[:5]]
    assert seqs == sorted(seqs)
    assert isinstance(results[6], RpcCallError) and results[6].code == "METHOD_NOT_FOUND"


def test_a_send_repeated_in_one_batch_is_executed_once(funded: FundedNode) -> None:
    node = funded.background.node
    assert node is not None
    rejected = node.metrics.txs.labels("rejected")
    before = rejected._value.get()
    tx = "0x" + encode_tx(funded.transfer(3, 1)).hex()
    first, again = funded.client.call_batch([("zk_sendTransaction", [tx]), ("zk_sendTransaction", [tx])])
    assert (first["already_known"], again["already_known"]) == (False, True)
    assert (first["hash"], first["seq"]) == (again["hash"], again["seq"])
    assert rejected._value.get() == before  # the repeat waited for the first: never submitted


def test_notification_gets_no_answer(funded: FundedNode) -> None:
    status, answer = raw_post(funded, b'{"jsonrpc":"2.0","method":"zk_chainInfo"}')
    assert status == 204 and answer is None
    status, answer = raw_post(
        funded, b'[{"jsonrpc":"2.0","method":"zk_nope"},{"jsonrpc":"2.0","method":"zk_chainInfo"}]'
    )
    assert status == 204 and answer is None
    # A malformed call cannot be a notification: it is answered with id null.
    _, answer = raw_post(funded, b'{"jsonrpc":"1.0","method":"zk_chainInfo"}')
    assert answer["id"] is None and answer["error"]["code"] == -32600


@pytest.mark.parametrize(
    ("body", "rpc_code", "code"),
    [
        (b"{not json", -32700, "PARSE_ERROR"),
        (b"", -32700, "PARSE_ERROR"),
        (b"[]", -32600, "INVALID_REQUEST"),
        (b"42", -32600, "INVALID_REQUEST"),
        (b'{"jsonrpc":"1.0","id":1,"method":"zk_chainInfo"}', -32600, "INVALID_REQUEST"),
        (b'{"jsonrpc":"2.0","id":1,"method":5}', -32600, "INVALID_REQUEST"),
        (b'{"jsonrpc":"2.0","id":[1],"method":"zk_chainInfo"}', -32600, "INVALID_REQUEST"),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', -32601, "METHOD_NOT_FOUND"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":"x"}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":["1"]}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":[-1]}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":[true]}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":[1,2]}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getAccount","params":{"idx":1}}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_getBatch","params":[1,"yes"]}', -32602, "INVALID_PARAMS"),
        (
            b'{"jsonrpc":"2.0","id":1,"method":"zk_getTransactionReceipt","params":["0x12"]}',
            -32002,
            "MALFORMED_ENCODING",
        ),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_sendTransaction","params":[]}', -32602, "INVALID_PARAMS"),
        (b'{"jsonrpc":"2.0","id":1,"method":"zk_sendTransaction","params":[7]}', -32602, "INVALID_PARAMS"),
        (b"[1, 2]", -32600, "INVALID_REQUEST"),
    ],
)
def test_invalid_requests_get_stable_errors(
    funded: FundedNode, body: bytes, rpc_code: int, code: str
) -> None:
    status, answer = raw_post(funded, body)
    assert status == 200
    answers = answer if isinstance(answer, list) else [answer]
    for a in answers:
        assert error_code(a) == (rpc_code, code)


def test_invalid_oversized_body_is_request_too_large(funded: FundedNode) -> None:
    status, answer = raw_post(funded, b'{"pad":"' + b"x" * 100_000 + b'"}')
    assert status == 413 and error_code(answer) == (-32005, "REQUEST_TOO_LARGE")
    assert funded.client.chain_info().trusted_batch >= 0  # the node still answers


def test_invalid_batch_too_many_calls(funded: FundedNode) -> None:
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "zk_chainInfo"} for i in range(1001)]).encode()
    _, answer = raw_post(funded, body)
    assert error_code(answer) == (-32005, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize(
    "value",
    ["0x", "zz", "0xabc", "0x" + "gg" * 112, "0x09" + "00" * 111, "0x02" + "00" * 10, "0x" + "02" * 200],
)
def test_invalid_hex_and_encodings_are_malformed(funded: FundedNode, value: str) -> None:
    assert error_code(send_hex(funded, value)) == (-32002, "MALFORMED_ENCODING")


def test_invalid_deposit_over_rpc_is_refused(funded: FundedNode) -> None:
    deposit = Deposit(
        DepositIndex(99), AccountIndex(1), PublicKey(funded.keys[0][1]), Amount(5), L1Address(b"\x01" * 20)
    )
    assert error_code(send_hex(funded, "0x" + encode_tx(deposit).hex())) == (-32002, "DEPOSIT_NOT_ALLOWED")


def _invalid_tx_code(funded: FundedNode, tx: Any) -> tuple[int, str]:
    return error_code(send_hex(funded, "0x" + encode_tx(tx).hex()))


def test_invalid_transactions_have_rule_codes(funded: FundedNode) -> None:
    sk1 = funded.keys[0][0]
    account = funded.client.get_account(1)
    assert account is not None
    n = account.nonce
    cases = [
        (
            sign_transfer(funded.keys[1][0], AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(n)),
            "BAD_SIGNATURE",
        ),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(BALANCE * 10), Fee(1), Nonce(n)),
            "INSUFFICIENT_BALANCE",
        ),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(10**19), Fee(1), Nonce(n)),
            "INSUFFICIENT_BALANCE",
        ),
        # No packed form: 2^64 - 1 and 2^35 + 1 have no m·10^e with m < 2^35, 2049 none with m < 2^11.
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(2**64 - 1), Fee(1), Nonce(n)),
            "UNPACKABLE_AMOUNT",
        ),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(2**35 + 1), Fee(1), Nonce(n)),
            "UNPACKABLE_AMOUNT",
        ),
        (
            sign_withdraw(sk1, AccountIndex(1), L1Address(b"\x01" * 20), Amount(1), Fee(2049), Nonce(n)),
            "UNPACKABLE_FEE",
        ),
        (sign_transfer(sk1, AccountIndex(1), AccountIndex(1), Amount(1), Fee(1), Nonce(n)), "SELF_TRANSFER"),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(0), Amount(1), Fee(1), Nonce(n)),
            "FEE_ACCOUNT_MISUSE",
        ),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(77), Amount(1), Fee(1), Nonce(n)),
            "UNKNOWN_ACCOUNT",
        ),
        (
            sign_transfer(sk1, AccountIndex(1), AccountIndex(2**20), Amount(1), Fee(1), Nonce(n)),
            "ACCOUNT_INDEX_OUT_OF_RANGE",
        ),
        (sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(0), Fee(1), Nonce(n)), "ZERO_AMOUNT"),
        (
            sign_withdraw(sk1, AccountIndex(1), L1Address(bytes(20)), Amount(1), Fee(1), Nonce(n)),
            "ZERO_L1_ADDRESS",
        ),
    ]
    for tx, code in cases:
        assert _invalid_tx_code(funded, tx) == (-32001, code), code
    gap = sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(n + 1000))
    assert _invalid_tx_code(funded, gap) == (-32004, "NONCE_GAP")
    # Nothing above changed the account; a valid transaction still goes through. Resending it is
    # idempotent ("already known", the same seq); another transaction with its nonce is a replay.
    after = funded.client.get_account(1)
    assert after == account
    good = sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(n))
    ack = funded.client.send_transaction(good)
    again = funded.client.send_transaction(good)
    assert not ack.already_known and again.already_known and (again.hash, again.seq) == (ack.hash, ack.seq)
    replay = sign_transfer(sk1, AccountIndex(1), AccountIndex(2), Amount(2), Fee(1), Nonce(n))
    assert _invalid_tx_code(funded, replay) == (-32001, "WRONG_NONCE")
    after_resend = funded.client.get_account(1)
    assert after_resend is not None and after_resend.nonce == n + 1  # executed once
    # The receipt of a rejected transaction says why.
    bad = sign_transfer(funded.keys[1][0], AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(n))
    receipt = funded.client.call("zk_getTransactionReceipt", "0x" + digest_bytes(compute_tx_hash(bad)).hex())
    assert receipt["status"] == "rejected" and receipt["reason"] == "BAD_SIGNATURE"
    typed = funded.client.get_transaction_receipt(receipt["hash"])
    assert typed is not None and typed.status == "rejected" and typed.reason == "BAD_SIGNATURE"


def test_balance_overflow_of_the_recipient(funded: FundedNode) -> None:
    # A recipient near 2**64 cannot be built with dev deposits cheaply; the rule still has a stable code.
    from zkpipe.sequencer.errors import ERROR_TABLE

    assert ERROR_TABLE["BALANCE_OVERFLOW"] == -32001 and ERROR_TABLE["FEE_OVERFLOW"] == -32001


def test_metrics_and_health(funded: FundedNode) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", funded.background.port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.request("GET", "/health")
        health = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    for name in (
        "zkpipe_delay_trusted_seconds_bucket",
        "zkpipe_delay_virtual_seconds_bucket",
        "zkpipe_batches_closed_total",
    ):
        assert name in text
    assert health["ok"] is True


def test_a_batch_of_a_thousand_kpi_calls_shares_one_report(funded: FundedNode) -> None:
    calls = [{"jsonrpc": "2.0", "id": i, "method": "zk_kpi", "params": []} for i in range(1000)]
    status, answers = raw_post(funded, json.dumps(calls).encode())
    assert status == 200 and len(answers) == 1000
    assert all(a["result"] == answers[0]["result"] for a in answers)
    assert funded.client.chain_info().health.ok  # the node still answers


def test_trusted_root_after_a_timeout_close_is_the_stored_root_with_fees_credited(funded: FundedNode) -> None:
    """A batch closes on its timeout and its fees are credited; with nothing sent after, zk_chainInfo
    reports that batch's stored root: the spec's root of every stored batch re-applied, fees credited."""
    node = funded.background.node
    assert node is not None
    fee_account = funded.client.get_account(0)
    assert fee_account is not None
    sent = funded.client.send_transaction(funded.transfer(3, 4, fee=7))
    receipt = funded.client.wait_for_status(sent.hash, "trusted", timeout=10)
    deadline = time.monotonic() + 10
    while (batch := funded.client.get_batch(receipt.batch)) is None:
        assert time.monotonic() < deadline, "the batch did not close on its timeout"
        time.sleep(0.05)
    info = funded.client.chain_info()
    assert info.trusted_batch == batch.number
    assert info.trusted_state_root == batch.state_root
    store = Store(node.data_dir / DB_NAME, synchronous="NORMAL")
    try:
        state = initial_state(operator_fee_key(store, node.data_dir), node.config.tree_depth)
        for number in range(1, batch.number + 1):
            stored = store.batch_by_number(number)
            assert stored is not None
            state = apply_batch(state, decode_batch(stored.data), 8).state
    finally:
        store.close()
    assert "0x" + digest_bytes(state.tree.root).hex() == info.trusted_state_root
    credited = get_account(state, AccountIndex(0))
    assert credited is not None and credited.balance == fee_account.balance + 7
