"""The published OpenRPC description matches the server: the same methods, and params that fuzzing
derived from it get JSON-RPC answers whose codes are in the error table."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.node.helpers import FundedNode
from zkpipe.errors import DecodeError
from zkpipe.sequencer.errors import ERROR_TABLE
from zkpipe.sequencer.mempool import Ack
from zkpipe.sequencer.rpc import _HEX, RpcServer, _ack_json, _hex_param
from zkpipe.wire import Ack as WireAck
from zkpipe.wire import TxTimestamps, update_openrpc

SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openrpc.json").read_text())
PARAM_NAMES = {m["name"]: [p["name"] for p in m["params"]] for m in SPEC["methods"]}


class _NoBackend:
    pass


def test_openrpc_lists_exactly_the_server_methods() -> None:
    server = RpcServer(_NoBackend(), max_body_bytes=1024, max_batch_calls=1, dev_methods=True)  # type: ignore[arg-type]
    assert set(PARAM_NAMES) == set(server.methods)


def test_openrpc_result_schemas_are_the_wire_models() -> None:
    """The document's result schemas are generated from zkpipe.wire (`python -m zkpipe.wire FILE`)."""
    assert update_openrpc(copy.deepcopy(SPEC)) == SPEC


def test_the_fast_ack_is_the_wire_model() -> None:
    """`_ack_json` builds the acknowledgement by hand (for speed): it is exactly the model's JSON."""
    for already_known in (False, True):
        ack = Ack(b"\x07" * 32, 12, 3, 1700000000.25, 1700000000.5)
        model = WireAck(
            hash="0x" + "07" * 32,
            status="trusted",
            seq=12,
            batch=3,
            timestamps=TxTimestamps(submitted=ack.submitted_at, trusted=ack.trusted_at),
            already_known=already_known,
        )
        assert _ack_json(ack, already_known=already_known) == model.model_dump(mode="json")
        assert list(_ack_json(ack)) == list(model.model_dump(mode="json"))


@settings(max_examples=300, deadline=None)
@given(value=st.text(alphabet="0x1aAfFg \t\n\u00e9", max_size=12))
def test_the_fast_hex_check_is_the_hex_rule(value: str) -> None:
    """`_hex_param` checks hex without its regex (for speed): it accepts exactly what `_HEX` matches."""
    for candidate in (value, "0x" + value):
        try:
            data = _hex_param(candidate, "tx")
        except DecodeError:
            assert not _HEX.fullmatch(candidate)
        else:
            assert _HEX.fullmatch(candidate) and data == bytes.fromhex(candidate[2:])


def _value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _value(SPEC["components"]["schemas"][name])
    if schema.get("type") == "integer":
        return st.integers(schema.get("minimum", -(2**64)), schema.get("maximum", 2**64))
    if schema.get("type") == "boolean":
        return st.booleans()
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 400)
    return st.none()


calls = st.sampled_from(SPEC["methods"]).flatmap(
    lambda m: st.tuples(st.just(m["name"]), st.tuples(*[_value(p["schema"]) for p in m["params"]]))
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls)
def test_schema_valid_params_get_results_or_table_errors(
    funded: FundedNode, call: tuple[str, tuple[Any, ...]]
) -> None:
    method, params = call
    if method == "zk_devDeposit":
        params = (params[0] + 100, "0x" + "00" * 40, "1")  # keep the dev chain's queue small and valid-shaped
    answer = funded.client.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    assert answer["jsonrpc"] == "2.0" and answer["id"] == 1
    if "error" in answer:
        assert ERROR_TABLE[answer["error"]["data"]["code"]] == answer["error"]["code"]
        assert answer["error"]["code"] not in (-32603, -32600, -32601)
