"""The JSON the node's RPC returns: receipts, batches, accounts, shaped from store rows and state
through the wire models (`zkpipe.wire`), so every answer has the one documented shape."""

from __future__ import annotations

from typing import Any

from zkpipe.node.store import StoredBatch, StoredTx
from zkpipe.spec import Account, decode_batch, decode_tx, tx_to_json
from zkpipe.wire import Account as AccountModel
from zkpipe.wire import Batch, BatchTimestamps, Receipt, TxTimestamps


def hex_bytes(data: bytes) -> str:
    """Bytes as 0x-prefixed hex."""
    return "0x" + data.hex()


def receipt_json(row: StoredTx) -> dict[str, Any]:
    """The RPC form of a stored transaction's receipt."""
    status = "trusted"
    if row.batch_status in ("virtual", "consolidated"):
        status = row.batch_status
    receipt = Receipt(
        hash=hex_bytes(row.hash),
        status=status,  # type: ignore[arg-type]
        outcome=row.status,  # type: ignore[arg-type]
        reason=row.code,
        seq=row.seq,
        batch=row.batch,
        batch_closed=row.batch_status is not None,
        l1_block=row.l1_block,
        timestamps=TxTimestamps(
            submitted=row.submitted_at,
            trusted=row.trusted_at,
            virtual=row.virtual_at,
            consolidated=row.consolidated_at,
        ),
        transaction=tx_to_json(decode_tx(row.data)),
    )
    return receipt.model_dump(mode="json")


def batch_json(
    row: StoredBatch, tx_hashes: list[bytes], *, with_transactions: bool = False
) -> dict[str, Any]:
    """The RPC form of a stored batch (with its transactions' hashes, and objects if asked)."""
    status = {"closed": "trusted", "sending": "trusted"}.get(row.status, row.status)
    batch = Batch(
        number=row.number,
        timestamp=row.timestamp,
        deposit_start=str(row.deposit_start),
        deposit_end=str(row.deposit_end),
        tx_count=row.tx_count,
        status=status,  # type: ignore[arg-type]
        l1_status=row.status,  # type: ignore[arg-type]
        data_bytes=len(row.data),
        acc_input_hash=hex_bytes(row.acc_input_hash),
        l1_acc_input_hash=hex_bytes(row.l1_acc_input_hash),
        state_root=hex_bytes(row.state_root),
        l1_tx_hash=row.l1_tx_hash,
        l1_block=row.l1_block,
        l1_gas=row.l1_gas,
        timestamps=BatchTimestamps(
            closed=row.closed_at, sent=row.sent_at, virtual=row.virtual_at, consolidated=row.consolidated_at
        ),
        transactions=[hex_bytes(h) for h in tx_hashes],
        transaction_objects=(
            [tx_to_json(tx) for tx in decode_batch(row.data).transactions] if with_transactions else None
        ),
    )
    return batch.model_dump(mode="json")


def account_json(index: int, account: Account) -> dict[str, Any]:
    """The RPC form of an account."""
    model = AccountModel(
        index=index,
        public_key=hex_bytes(account.public_key),
        balance=str(account.balance),
        nonce=account.nonce,
    )
    return model.model_dump(mode="json")
