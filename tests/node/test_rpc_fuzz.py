"""Fuzzing the JSON-RPC endpoint: any body gets a well-formed JSON-RPC answer and the node keeps working."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.node.helpers import FundedNode
from tests.node.test_rpc import raw_post
from zkpipe.sequencer.errors import ERROR_TABLE

METHODS = [
    "zk_sendTransaction",
    "zk_getTransactionReceipt",
    "zk_getAccount",
    "zk_getBatch",
    "zk_chainInfo",
    "zk_x",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(["0x", "0x00", "0x" + "02" * 109, "0x" + "ab" * 32]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)  # fmt: skip

calls = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "2.0", "1.0"]),
        "method": st.sampled_from(METHODS) | st.text(max_size=10),
    },
    optional={"id": st.integers(0, 10**6) | st.text(max_size=5) | st.none(), "params": json_values},
)


def _check_answer(answer: Any) -> None:
    assert isinstance(answer, dict) and answer.get("jsonrpc") == "2.0"
    assert ("result" in answer) != ("error" in answer)
    if "error" in answer:
        error = answer["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str)
        assert ERROR_TABLE[error["data"]["code"]] == error["code"]


def _check(funded: FundedNode, body: bytes) -> None:
    status, answer = raw_post(funded, body)
    assert status in (200, 204, 413)
    if status == 204:
        return
    for a in answer if isinstance(answer, list) else [answer]:
        _check_answer(a)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        calls.map(json.dumps),
        st.lists(calls, min_size=1, max_size=5).map(json.dumps),
        json_values.map(json.dumps),
    )
)
def test_fuzzed_json_gets_a_json_rpc_answer(funded: FundedNode, body: str) -> None:
    _check(funded, body.encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_fuzzed_bytes_get_a_json_rpc_answer(funded: FundedNode, body: bytes) -> None:
    _check(funded, body)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(min_size=0, max_size=140))
def test_fuzzed_transactions_are_rejected_cleanly(funded: FundedNode, raw: bytes) -> None:
    answer = funded.client.post(
        {"jsonrpc": "2.0", "id": 1, "method": "zk_sendTransaction", "params": ["0x" + raw.hex()]}
    )
    _check_answer(answer)
    assert "error" in answer  # random bytes never carry a valid signature


def test_node_still_accepts_after_fuzzing(funded: FundedNode) -> None:
    sent = funded.client.send_transaction(funded.transfer(2, 3))
    assert sent.status == "trusted"
    assert funded.client.get_transaction_receipt(sent.hash) is not None


ids = st.one_of(
    st.integers(min_value=-(2**200), max_value=2**200).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e999", "-1e999", "1E400", "0.0", "-0", "1.5e-400", "NaN", "Infinity", "-Infinity",
                     "null", "true", '"\\ud800"', '"\\udfff\\ud800"', '"\u00e9"', "[]", "{}", '""']),
    st.text(max_size=6).map(json.dumps),
)  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    id_token=ids,
    method=st.sampled_from(["zk_chainInfo", "zk_getAccount", "zk_kpi", "zk_x"]),
    params=st.sampled_from(["[]", "[1]", "[1e999]", "[NaN]", "[18446744073709551616]", '["\\ud800"]']),
    encoding=st.sampled_from(ENCODINGS),
)
def test_fuzzed_envelopes_get_rfc8259_json(
    funded: FundedNode, id_token: str, method: str, params: str, encoding: str
) -> None:
    """Ids, numbers and encodings of every kind: the answer is always strict JSON (UTF-8, no NaN)."""
    body = f'{{"jsonrpc":"2.0","id":{id_token},"method":"{method}","params":{params}}}'
    try:
        raw = body.encode(encoding)
    except UnicodeEncodeError:
        raw = body.encode("utf-8", "surrogatepass")
    _check(funded, raw)  # raw_post parses strictly
