"""The JSON the node's RPC returns: receipts, batches, accounts (shaped from store rows and state)."""

from __future__ import annotations

from typing import Any

from zkpipe.node.store import StoredBatch, StoredTx
from zkpipe.spec import Account, decode_batch, decode_tx, tx_to_json


def hex_bytes(data: bytes) -> str:
    """Bytes as 0x-prefixed hex."""
    return "0x" + data.hex()


def receipt_json(row: StoredTx) -> dict[str, Any]:
    """The RPC form of a stored transaction's receipt."""
    status = "trusted"
    if row.batch_status in ("virtual", "consolidated"):
        status = row.batch_status
    return {
        "hash": hex_bytes(row.hash),
        "status": status,
        "outcome": row.status,
        "reason": row.code,
        "seq": row.seq,
        "batch": row.batch,
        "batch_closed": row.batch_status is not None,
        "l1_block": row.l1_block,
        "timestamps": {
            "submitted": row.submitted_at,
            "trusted": row.trusted_at,
            "virtual": row.virtual_at,
            "consolidated": row.consolidated_at,
        },
        "transaction": tx_to_json(decode_tx(row.data)),
    }


def batch_json(
    row: StoredBatch, tx_hashes: list[bytes], *, with_transactions: bool = False
) -> dict[str, Any]:
    """The RPC form of a stored batch (with its transactions' hashes, and objects if asked)."""
    status = {"closed": "trusted", "sending": "trusted"}.get(row.status, row.status)
    out: dict[str, Any] = {
        "number": row.number,
        "timestamp": row.timestamp,
        "deposit_start": str(row.deposit_start),
        "deposit_end": str(row.deposit_end),
        "tx_count": row.tx_count,
        "status": status,
        "l1_status": row.status,
        "data_bytes": len(row.data),
        "acc_input_hash": hex_bytes(row.acc_input_hash),
        "l1_acc_input_hash": hex_bytes(row.l1_acc_input_hash),
        "state_root": hex_bytes(row.state_root),
        "l1_tx_hash": row.l1_tx_hash,
        "l1_block": row.l1_block,
        "l1_gas": row.l1_gas,
        "timestamps": {
            "closed": row.closed_at,
            "sent": row.sent_at,
            "virtual": row.virtual_at,
            "consolidated": row.consolidated_at,
        },
        "transactions": [hex_bytes(h) for h in tx_hashes],
    }
    if with_transactions:
        out["transaction_objects"] = [tx_to_json(tx) for tx in decode_batch(row.data).transactions]
    return out


def account_json(index: int, account: Account) -> dict[str, Any]:
    """The RPC form of an account."""
    return {
        "index": index,
        "public_key": hex_bytes(account.public_key),
        "balance": str(account.balance),
        "nonce": account.nonce,
    }
