"""The node's wire formats: pydantic models of what the JSON-RPC methods return.

The server shapes its answers with these models (`node/rpcjson.py`) and `zkpipe.client` parses
them with the same models, so both sides agree on one definition per field; the OpenRPC document
(`docs/openrpc.json`) is checked against them by `tests/node/test_openrpc.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TxState = Literal["pending", "trusted", "virtual", "consolidated", "rejected"]
"""Where a transaction is: in the mempool, executed and stored, on L1, proven on L1, or refused."""
BatchState = Literal["trusted", "virtual", "consolidated"]


class WireModel(BaseModel):
    """A model of the wire: unknown fields are errors on both sides, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class TxTimestamps(WireModel):
    """Unix seconds at which a transaction reached each state (None: not reached)."""

    submitted: float | None = None
    """Arrival at the RPC (for a deposit: when the syncer saw it on L1)."""
    trusted: float | None = None
    virtual: float | None = None
    consolidated: float | None = None
    rejected: float | None = None
    """When the node refused it (rejected receipts only)."""


class Ack(WireModel):
    """`zk_sendTransaction`: the transaction is executed and durably stored (or was already)."""

    hash: str
    status: BatchState
    """"trusted" for a new transaction; a resent known one reports where it is now."""
    seq: int = Field(ge=1)
    """Its position in the node's order (never changes)."""
    batch: int = Field(ge=1)
    timestamps: TxTimestamps
    already_known: bool = False
    """True when the node had this very transaction already (a resend): nothing was executed again."""


class Receipt(WireModel):
    """`zk_getTransactionReceipt`: one shape for every state; fields a state does not have are None."""

    hash: str
    status: TxState
    outcome: Literal["ok", "refunded"] | None = None
    """For stored transactions: applied, or (a deposit) refunded on L1."""
    reason: str | None = None
    """The stable error code of a refunded deposit or a rejected transaction."""
    message: str | None = None
    """Why a rejected transaction was refused."""
    seq: int | None = None
    batch: int | None = None
    batch_closed: bool | None = None
    """Whether its batch has closed (a trusted transaction may still be in the open batch)."""
    l1_block: int | None = None
    """The L1 block that sequenced its batch."""
    timestamps: TxTimestamps
    transaction: dict[str, Any] | None = None
    """The transaction as JSON (`spec.tx_to_json`), for stored transactions."""


class Account(WireModel):
    """`zk_getAccount`: a trusted account."""

    index: int = Field(ge=0, lt=2**32)
    public_key: str
    balance: str
    """u64 as a decimal string."""
    nonce: int = Field(ge=0)


class BatchTimestamps(WireModel):
    """Unix seconds at which a batch reached each stage."""

    closed: float
    sent: float | None = None
    virtual: float | None = None
    consolidated: float | None = None


class Batch(WireModel):
    """`zk_getBatch`: a closed batch."""

    number: int = Field(ge=1)
    timestamp: int
    deposit_start: str
    deposit_end: str
    tx_count: int
    status: BatchState
    l1_status: Literal["closed", "sending", "virtual", "consolidated"]
    data_bytes: int
    acc_input_hash: str
    l1_acc_input_hash: str
    state_root: str
    l1_tx_hash: str | None = None
    l1_block: int | None = None
    l1_gas: int | None = None
    timestamps: BatchTimestamps
    transactions: list[str]
    transaction_objects: list[dict[str, Any]] | None = None


class ComponentHealth(WireModel):
    """What the supervisor knows about one pipeline component."""

    running: bool
    failure: str | None = None
    retries: int = 0
    rejected: int = 0
    resets: int = 0
    last_error: str | None = None


class Health(WireModel):
    """`GET /health` (and `zk_chainInfo.health`): ok while every component runs."""

    ok: bool
    failures: dict[str, str]
    components: dict[str, ComponentHealth]


class ChainInfo(WireModel):
    """`zk_chainInfo`: chain heads, roots, the L1 position and the node's health."""

    chain_id: int
    trusted_batch: int
    virtual_batch: int
    consolidated_batch: int
    open_batch: int
    trusted_state_root: str
    """The root after the last closed batch (fees credited): a root the node stands behind."""
    consolidated_state_root: str
    """The rollup's consolidated root as last read from L1 (see l1_view_age_s)."""
    next_deposit_index: str
    mempool_size: int
    l1_block: int
    """The newest L1 block as last seen (see l1_view_age_s)."""
    l1_block_time: float
    l1_view_age_s: float
    """Seconds since the node last read L1; l1_block and consolidated_state_root are as of then."""
    l1_degraded: bool
    """True while L1 does not answer (or answers late): the L1 fields are the last ones seen."""
    rollup_address: str
    health: Health


class WithdrawalClaim(WireModel):
    """`zk_getWithdrawalProof`: what `claimWithdrawal` needs for one payout, and whether it is paid."""

    tx_hash: str
    final_batch_number: int
    batch_number: int
    index: int
    recipient: str
    amount_gwei: str
    leaf_position: int
    siblings: list[str]
    withdrawals_root: str
    claimed: bool


class ProverWorker(WireModel):
    """One prover worker slot: readiness, its job, where it runs, what it did."""

    worker_id: str
    ready: bool
    job_id: str | None = None
    host: str | None = None
    busy_s: float
    accepted: int
    rejected: int
    failed: int
    bytes_in: int
    bytes_out: int
    quarantined: bool


class QuarantinedWorker(WireModel):
    """A worker given no jobs since it returned a rejected proof (kept across restarts)."""

    worker_id: str
    host: str | None = None
    reason: str
    since: float


class JobTraffic(WireModel):
    """Bytes moved between the scheduler and its workers for one kind of job."""

    jobs: int
    copies: int
    bytes_in: int
    bytes_out: int
    bytes_per_job: float


class ProverPool(WireModel):
    """`zk_proverPool`: the prover workers, the quarantined ones, the traffic per kind of job."""

    backend: str
    workers: list[ProverWorker]
    quarantined: list[QuarantinedWorker]
    network: dict[str, JobTraffic]


RESULT_MODELS: dict[str, type[WireModel]] = {
    "zk_sendTransaction": Ack,
    "zk_getTransactionReceipt": Receipt,
    "zk_getAccount": Account,
    "zk_getBatch": Batch,
    "zk_chainInfo": ChainInfo,
    "zk_getWithdrawalProof": WithdrawalClaim,
    "zk_proverPool": ProverPool,
}
"""The model of each method's (non-null) result."""


def compute_openrpc_schemas() -> dict[str, Any]:
    """The JSON Schemas of every result model, as the OpenRPC document's `components.schemas` holds them."""
    from pydantic.json_schema import models_json_schema

    models: list[type[BaseModel]] = sorted({*RESULT_MODELS.values(), Health}, key=lambda m: m.__name__)
    _, schema = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = schema["$defs"]
    return defs


def update_openrpc(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its result schemas generated from the models (`python -m zkpipe.wire FILE`)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for stale in ("Rejected", "Pending", "Timestamps"):
        schemas.pop(stale, None)
    schemas.update(compute_openrpc_schemas())
    for method in document["methods"]:
        model = RESULT_MODELS.get(method["name"])
        if model is None:
            continue
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        nullable = method["name"] not in ("zk_sendTransaction", "zk_chainInfo")
        method["result"]["schema"] = {"oneOf": [ref, {"type": "null"}]} if nullable else ref
    return document


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    path = Path(sys.argv[1])
    path.write_text(json.dumps(update_openrpc(json.loads(path.read_text())), indent=2) + "\n")
