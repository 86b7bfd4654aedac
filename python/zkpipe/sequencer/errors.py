"""Errors of the sequencer's admission and RPC, and the one table mapping error codes to JSON-RPC errors."""

from __future__ import annotations

from typing import Any

from zkpipe.errors import (
    DecodeError,
    InvalidInput,
    InvalidTransaction,
    L1Reverted,
    Severity,
    TxError,
    ZkpipeError,
)


class MempoolFull(ZkpipeError):
    """The node holds as many unexecuted transactions as it may; retry later."""

    code = "MEMPOOL_FULL"
    severity = Severity.TEMPORARY


class NonceGap(ZkpipeError):
    """The nonce is too far ahead of the sender's next one, or its gap was not filled in time."""

    code = "NONCE_GAP"
    severity = Severity.REJECTED


class DepositNotAllowed(InvalidInput):
    """Deposits come from the L1 queue only, never over RPC."""

    code = "DEPOSIT_NOT_ALLOWED"


class NodeStopping(ZkpipeError):
    """The node is shutting down; the transaction was not accepted."""

    code = "NODE_STOPPING"
    severity = Severity.TEMPORARY


class RpcError(ZkpipeError):
    """A JSON-RPC protocol error (parse, request shape, method, params, size)."""

    severity = Severity.REJECTED

    def __init__(self, rpc_code: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.rpc_code = rpc_code


# JSON-RPC 2.0 reserved codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Server-defined codes (-32000 … -32099): one per kind of failure; `data.code` names the exact rule.
INVALID_TRANSACTION = -32001
MALFORMED_INPUT = -32002
MEMPOOL_FULL = -32003
NONCE_GAP = -32004
REQUEST_TOO_LARGE = -32005
UNAVAILABLE = -32006
L1_REJECTED = -32007


def parse_error(message: str) -> RpcError:
    """Body is not JSON."""
    return RpcError(PARSE_ERROR, "PARSE_ERROR", message)


def invalid_request(message: str) -> RpcError:
    """Not a JSON-RPC 2.0 request object."""
    return RpcError(INVALID_REQUEST, "INVALID_REQUEST", message)


def method_not_found(method: str) -> RpcError:
    """No such method."""
    return RpcError(METHOD_NOT_FOUND, "METHOD_NOT_FOUND", f"unknown method {method!r}")


def invalid_params(message: str) -> RpcError:
    """Params of the wrong shape or type."""
    return RpcError(INVALID_PARAMS, "INVALID_PARAMS", message)


def request_too_large(limit: int) -> RpcError:
    """Body or batch above the limit."""
    return RpcError(REQUEST_TOO_LARGE, "REQUEST_TOO_LARGE", f"request above the limit of {limit}")


def to_rpc_error(error: BaseException) -> dict[str, Any]:
    """The JSON-RPC `error` object for any exception: stable numeric code, message, `data.code`."""
    if isinstance(error, RpcError):
        rpc_code = error.rpc_code
    elif isinstance(error, InvalidTransaction):
        # The one rule code shared with DecodeError keeps one number: a malformed encoding is input.
        rpc_code = MALFORMED_INPUT if error.code == "MALFORMED_ENCODING" else INVALID_TRANSACTION
    elif isinstance(error, NonceGap):
        rpc_code = NONCE_GAP
    elif isinstance(error, MempoolFull):
        rpc_code = MEMPOOL_FULL
    elif isinstance(error, DecodeError | InvalidInput):
        rpc_code = MALFORMED_INPUT
    elif isinstance(error, L1Reverted):
        rpc_code = L1_REJECTED
    elif isinstance(error, ZkpipeError) and error.severity is Severity.TEMPORARY:
        rpc_code = UNAVAILABLE
    else:
        rpc_code = INTERNAL_ERROR
    if isinstance(error, ZkpipeError):
        return {"code": rpc_code, "message": error.message, "data": error.to_dict()}
    return {
        "code": rpc_code,
        "message": "internal error",
        "data": {
            "code": "INTERNAL_ERROR",
            "severity": str(Severity.CRITICAL),
            "message": type(error).__name__,
        },
    }


ERROR_TABLE: dict[str, int] = {
    **{str(e): INVALID_TRANSACTION for e in TxError},
    "PARSE_ERROR": PARSE_ERROR,
    "INVALID_REQUEST": INVALID_REQUEST,
    "METHOD_NOT_FOUND": METHOD_NOT_FOUND,
    "INVALID_PARAMS": INVALID_PARAMS,
    "INTERNAL_ERROR": INTERNAL_ERROR,
    "REQUEST_TOO_LARGE": REQUEST_TOO_LARGE,
    "MALFORMED_ENCODING": MALFORMED_INPUT,
    "INVALID_INPUT": MALFORMED_INPUT,
    "DEPOSIT_NOT_ALLOWED": MALFORMED_INPUT,
    "MEMPOOL_FULL": MEMPOOL_FULL,
    "NONCE_GAP": NONCE_GAP,
    "NODE_STOPPING": UNAVAILABLE,
    "STORAGE_ERROR": INTERNAL_ERROR,
    "L1_REVERTED": L1_REJECTED,
    "L1_ERROR": UNAVAILABLE,
    "L1_UNAVAILABLE": UNAVAILABLE,
    "L1_BEHIND": UNAVAILABLE,
}
"""Every `data.code` the RPC can return and its numeric JSON-RPC code (documented in docs/rpc.md)."""
