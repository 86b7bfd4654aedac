"""Typed facade over the native core `zkpipe._native`: hashing, state tree, signatures, proofs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from zkpipe import _native
from zkpipe.errors import (
    DecodeError,
    InvalidInput,
    InvalidKey,
    InvalidProof,
    MalformedSignature,
    NonCanonicalFieldElement,
    ProvingFailed,
    StorageError,
    ZkpipeError,
)

__all__ = [
    "GOLDILOCKS_P",
    "KEY_BYTES",
    "SIGNATURE_BATCH",
    "SIGNATURE_BYTES",
    "ZERO_DIGEST",
    "DataHashStatement",
    "Digest",
    "ExecutionEngine",
    "MembershipStatement",
    "NativeAccount",
    "NativeOutcome",
    "NativeTx",
    "OuterProof",
    "ProvingSetup",
    "SegmentWitnessTuple",
    "SparseMerkleTree",
    "aggregate_batches",
    "aggregate_proofs",
    "batch_verify",
    "bench_data_hash",
    "bench_primitive",
    "bench_signatures",
    "circuit_cache_folder",
    "data_chain",
    "data_hash_capacity",
    "join_batch",
    "keygen",
    "library_versions",
    "merkle_empty_root",
    "poseidon_hash",
    "poseidon_hash_to_many",
    "poseidon_hashes",
    "poseidon_permute",
    "poseidon_two_to_one",
    "prove_batch_data",
    "prove_data_hash",
    "prove_membership",
    "prove_segment",
    "prove_segment_timed",
    "proving_setup",
    "public_key",
    "sign",
    "tx_hashes",
    "validate_public_key",
    "verify",
    "verify_batch_proof",
    "verify_data_hash",
    "verify_membership",
    "verify_merkle_proof",
    "verify_proof",
    "verify_wrapped_membership",
    "wrap_membership_proof",
    "wrap_outer",
]

GOLDILOCKS_P = 2**64 - 2**32 + 1
"""The Goldilocks prime p = 2^64 − 2^32 + 1: every field element is an int in [0, p)."""
KEY_BYTES = 40
"""Length of a secret key and of a public key."""
SIGNATURE_BYTES = 80
"""Length of a signature (s ‖ e)."""

Digest = tuple[int, int, int, int]
"""A Poseidon digest: four field elements."""
ZERO_DIGEST: Digest = (0, 0, 0, 0)
"""The digest of an empty leaf."""

_ERRORS: dict[str, type[ZkpipeError]] = {
    "NON_CANONICAL_FIELD": NonCanonicalFieldElement,
    "WRONG_LENGTH": InvalidInput,
    "INDEX_OUT_OF_RANGE": InvalidInput,
    "BAD_DEPTH": InvalidInput,
    "UNKNOWN_BENCHMARK": InvalidInput,
    "INVALID_SECRET_KEY": InvalidKey,
    "INVALID_PUBLIC_KEY": InvalidKey,
    "MALFORMED_SIGNATURE": MalformedSignature,
    "INVALID_PROOF": InvalidProof,
    "PROVING_FAILED": ProvingFailed,
    "BAD_PARAMETER": InvalidInput,
    "CORRUPT_TREE_FILE": StorageError,
    "IO_ERROR": StorageError,
}

P = ParamSpec("P")
R = TypeVar("R")


def _mapped(fn: Callable[P, R]) -> Callable[P, R]:
    """Turns native errors, and Python's own conversion errors, into zkpipe errors."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except _native.NativeError as err:
            code, message = err.args
            raise _ERRORS.get(code, ZkpipeError)(message, code=code) from None
        except OverflowError as err:  # a negative or > 64-bit int reached a u64 argument
            raise NonCanonicalFieldElement(f"integer out of range: {err}") from None
        except TypeError as err:
            raise DecodeError(f"wrong argument type: {err}") from None

    return wrapper


def _digest(values: Sequence[int]) -> Digest:
    return (values[0], values[1], values[2], values[3])


@_mapped
def poseidon_permute(state: Sequence[int]) -> tuple[int, ...]:
    """The Poseidon permutation (width 12) used by the prover."""
    return tuple(_native.poseidon_permute(list(state)))


@_mapped
def poseidon_hash(elements: Sequence[int]) -> Digest:
    """Poseidon hash of any number of field elements to one digest."""
    return _digest(_native.poseidon_hash(list(elements)))


@_mapped
def poseidon_hash_to_many(elements: Sequence[int], outputs: int) -> tuple[int, ...]:
    """Poseidon sponge over `elements`, squeezed to `outputs` field elements."""
    return tuple(_native.poseidon_hash_to_many(list(elements), outputs))


@_mapped
def poseidon_two_to_one(left: Digest, right: Digest) -> Digest:
    """Poseidon compression of two digests (a Merkle node from its children)."""
    return _digest(_native.poseidon_two_to_one(tuple(left), tuple(right)))


class SparseMerkleTree:
    """A sparse Merkle tree of digests keyed by leaf index (depth 32 unless told otherwise)."""

    __slots__ = ("_tree",)

    def __init__(self, depth: int = 32) -> None:
        self._tree = _mapped(_native.SparseMerkleTree)(depth)

    @property
    def depth(self) -> int:
        """Number of levels below the root."""
        return int(self._tree.depth)

    @property
    def root(self) -> Digest:
        """The current root."""
        return _digest(self._tree.root)

    def __len__(self) -> int:
        return len(self._tree)

    @_mapped
    def get(self, index: int) -> Digest:
        """The leaf at `index` (ZERO_DIGEST when empty)."""
        return _digest(self._tree.get(index))

    @_mapped
    def update(self, updates: Iterable[tuple[int, Digest]]) -> Digest:
        """Sets many leaves (later entries win), returns the new root; all-or-nothing on bad input."""
        return _digest(self._tree.update([(i, tuple(d)) for i, d in updates]))

    @_mapped
    def proof(self, index: int) -> list[Digest]:
        """Sibling digests of the leaf at `index`, leaf level first."""
        return [_digest(s) for s in self._tree.proof(index)]

    def leaves(self) -> list[tuple[int, Digest]]:
        """All non-empty leaves, sorted by index."""
        return [(i, _digest(d)) for i, d in self._tree.leaves()]

    def copy(self) -> SparseMerkleTree:
        """An independent copy."""
        clone = SparseMerkleTree.__new__(SparseMerkleTree)
        clone._tree = self._tree.copy()
        return clone

    @_mapped
    def save(self, path: str | Path) -> None:
        """Writes the tree to `path` atomically."""
        self._tree.save(Path(path))

    @classmethod
    def load(cls, path: str | Path) -> SparseMerkleTree:
        """Reads a tree written by `save`, checking its stored root."""
        tree = cls.__new__(cls)
        tree._tree = _mapped(_native.SparseMerkleTree.load)(Path(path))
        return tree


@_mapped
def merkle_empty_root(depth: int = 32) -> Digest:
    """Root of an empty tree of `depth` levels."""
    return _digest(_native.smt_empty_root(depth))


@_mapped
def verify_merkle_proof(root: Digest, index: int, leaf: Digest, siblings: Sequence[Digest]) -> bool:
    """Whether `siblings` lead from `leaf` at `index` to `root` (depth = len(siblings))."""
    return bool(
        _native.smt_verify_proof(len(siblings), tuple(root), index, tuple(leaf), [tuple(s) for s in siblings])
    )


@_mapped
def keygen(seed: bytes | None = None) -> tuple[bytes, bytes]:
    """A (secret key, public key) pair: from a ≥ 32-byte seed, or from the OS RNG."""
    secret, public = _native.sig_keygen(None if seed is None else bytes(seed))
    return bytes(secret), bytes(public)


@_mapped
def public_key(secret_key: bytes) -> bytes:
    """The 40-byte public key of a 40-byte secret key."""
    return bytes(_native.sig_public_key(bytes(secret_key)))


@_mapped
def validate_public_key(key: bytes) -> None:
    """Raises InvalidKey unless `key` encodes a valid, non-neutral ECgFp5 point."""
    _native.sig_validate_public_key(bytes(key))


@_mapped
def sign(secret_key: bytes, message: Digest) -> bytes:
    """Schnorr signature (80 bytes) of a message digest; deterministic."""
    return bytes(_native.sig_sign(bytes(secret_key), tuple(message)))


@_mapped
def verify(key: bytes, message: Digest, signature: bytes) -> bool:
    """Whether `signature` signs `message` under `key`; malformed inputs raise."""
    return bool(_native.sig_verify(bytes(key), tuple(message), bytes(signature)))


SIGNATURE_BATCH = 32
"""Signatures `batch_verify` verifies together by default (the engine's `sig::BATCH_CHUNK`)."""


@_mapped
def batch_verify(
    items: Iterable[tuple[bytes, Digest, bytes]], *, threads: int = 0, chunk: int = SIGNATURE_BATCH
) -> list[bool]:
    """Verifies many (key, message, signature) triples on `threads` cores (0: all), `chunk` at a
    time sharing their inversions (1: one by one); each judged on its own, malformed ones False."""
    prepared = [(bytes(k), tuple(m), bytes(s)) for k, m, s in items]
    return [bool(ok) for ok in _native.sig_batch_verify(prepared, threads=threads, chunk=chunk)]


@dataclass(frozen=True, slots=True)
class MembershipStatement:
    """What a membership proof shows: `leaf` sits at `index` in the tree with `root`."""

    root: Digest
    leaf: Digest
    index: int

    @classmethod
    def from_public_inputs(cls, inputs: Sequence[int]) -> MembershipStatement:
        """Reads the nine public inputs: root, leaf, index."""
        if len(inputs) != 9:
            raise InvalidProof(f"expected 9 public inputs, got {len(inputs)}")
        return cls(root=_digest(inputs[0:4]), leaf=_digest(inputs[4:8]), index=inputs[8])


@_mapped
def prove_membership(
    root: Digest, index: int, leaf: Digest, siblings: Sequence[Digest], *, threads: int = 0
) -> bytes:
    """A plonky2 proof that `leaf` is at `index` under `root`; ProvingFailed if it is not."""
    return bytes(
        _native.membership_prove(
            tuple(root), index, tuple(leaf), [tuple(s) for s in siblings], threads=threads
        )
    )


@_mapped
def verify_membership(proof: bytes, *, depth: int) -> MembershipStatement:
    """Verifies a membership proof for trees of `depth`; raises InvalidProof if it does not hold."""
    return MembershipStatement.from_public_inputs(_native.membership_verify(depth, bytes(proof)))


@_mapped
def wrap_membership_proof(proof: bytes, *, depth: int, threads: int = 0) -> bytes:
    """A recursive proof that verifies `proof` inside a circuit and keeps its statement."""
    return bytes(_native.membership_wrap(depth, bytes(proof), threads=threads))


@_mapped
def verify_wrapped_membership(proof: bytes, *, depth: int) -> MembershipStatement:
    """Verifies a recursive membership proof; raises InvalidProof if it does not hold."""
    return MembershipStatement.from_public_inputs(_native.membership_verify_wrapped(depth, bytes(proof)))


AccountTuple = tuple[bool, list[int], list[Digest]]
"""A leaf witness: (slot is empty, 8 account fields, 32 siblings)."""
SlotTuple = tuple[int, list[int], AccountTuple, AccountTuple]
"""A transaction slot: (kind code, 43 elements, leaf A, leaf B)."""
SegmentWitnessTuple = tuple[Digest, Digest, Digest, Digest, list[SlotTuple], AccountTuple, int, int]
"""(root before, data in, withdrawals in, deposits in, slots, fee account, queue in, chain id)."""


@dataclass(frozen=True, slots=True)
class ProvingSetup:
    """The circuits for one segment size: how they were obtained and what they are."""

    k: int
    setup_seconds: float
    from_cache: bool
    segment_digest: Digest
    normalizer_digest: Digest
    aggregator_digest: Digest
    segment_degree_bits: int
    aggregation_degree_bits: int


def _cache(cache_dir: str | Path | None) -> Path | None:
    return None if cache_dir is None else Path(cache_dir)


@_mapped
def proving_setup(k: int, *, cache_dir: str | Path | None = None) -> ProvingSetup:
    """Builds the segment, normalizer and aggregator circuits for `k` (or loads them from the cache)."""
    seconds, cached, digests, (segment_bits, aggregation_bits) = _native.proving_setup(
        k, cache_dir=_cache(cache_dir)
    )
    return ProvingSetup(
        k,
        seconds,
        cached,
        _digest(digests[0]),
        _digest(digests[1]),
        _digest(digests[2]),
        segment_bits,
        aggregation_bits,
    )


@_mapped
def prove_segment_timed(
    k: int, witness: SegmentWitnessTuple, *, threads: int = 0, cache_dir: str | Path | None = None
) -> tuple[bytes, float, float]:
    """A normalized segment proof with the seconds of the segment proof and of its normalization."""
    proof, segment_seconds, normalize_seconds = _native.prove_segment(
        k, witness, threads=threads, cache_dir=_cache(cache_dir)
    )
    return bytes(proof), segment_seconds, normalize_seconds


def prove_segment(
    k: int, witness: SegmentWitnessTuple, *, threads: int = 0, cache_dir: str | Path | None = None
) -> bytes:
    """A normalized segment proof; ProvingFailed if the witness breaks a rule of the circuit."""
    return prove_segment_timed(k, witness, threads=threads, cache_dir=cache_dir)[0]


@_mapped
def aggregate_proofs(
    k: int,
    left: bytes,
    left_is_aggregate: bool,
    right: bytes,
    right_is_aggregate: bool,
    *,
    threads: int = 0,
    cache_dir: str | Path | None = None,
) -> bytes:
    """An aggregate proof of two adjacent proofs; InvalidProof if a child does not verify."""
    return bytes(
        _native.aggregate_proofs(
            k,
            bytes(left),
            left_is_aggregate,
            bytes(right),
            right_is_aggregate,
            threads=threads,
            cache_dir=_cache(cache_dir),
        )
    )


@_mapped
def verify_proof(
    k: int, proof: bytes, is_aggregate: bool, *, cache_dir: str | Path | None = None
) -> list[int]:
    """Verifies a segment or aggregate proof for `k`; returns its statement elements."""
    return list(_native.verify_proof(k, bytes(proof), is_aggregate, cache_dir=_cache(cache_dir)))


def library_versions() -> dict[str, str]:
    """Versions of the native libraries that decide proofs and signatures."""
    return dict(_native.library_versions())


@_mapped
def bench_primitive(name: str, iterations: int) -> float:
    """Seconds for `iterations` native calls of one primitive on one thread."""
    return float(_native.bench_primitive(name, iterations))


# ---------------------------------------------------------------------------------------------
# Execution engine (native/engine/src/exec): sequential and Block-STM execution of the account state
# ---------------------------------------------------------------------------------------------

NativeTx = tuple[int, int, int, int, int, int, bytes, bytes, Digest, bytes, bytes | None]
"""A transaction in the engine's form: (kind 0 malformed / 1 deposit / 2 transfer / 3 withdraw, a, b,
amount, fee, nonce, key, L1 address, signing digest, signature, key it already verified under).
(a, b) is (sender, recipient), (sender, 0) for a withdrawal, (recipient, queue index) for a deposit."""
NativeAccount = tuple[int, bytes, int, int]
"""(index, public key, balance, nonce)."""
NativeOutcome = tuple[int, str | None]
"""(0 applied / 1 refunded / 2 invalid, the TxError code for 1 and 2)."""


class ExecutionEngine:
    """The native account state and its engines; execution and root computation release the GIL.

    The account tree is the caller's (the spec `State`'s): `root(tree)` hashes the changed leaves into it.
    """

    __slots__ = ("_engine",)

    def __init__(
        self,
        depth: int,
        accounts: Iterable[NativeAccount],
        next_deposit_index: int,
        pending_fees: int = 0,
    ) -> None:
        """A state of `accounts`, whose leaves the tree passed to `root()` already holds."""
        self._engine = _mapped(_native.ExecutionEngine)(
            depth, list(accounts), next_deposit_index, pending_fees
        )

    @property
    def depth(self) -> int:
        """Depth of the account tree."""
        return int(self._engine.depth)

    @property
    def next_deposit_index(self) -> int:
        """The deposit-queue index the next deposit must have."""
        return int(self._engine.next_deposit_index)

    @property
    def pending_fees(self) -> int:
        """Fees collected and not yet credited to the fee account."""
        return int(self._engine.pending_fees)

    def __len__(self) -> int:
        return len(self._engine)

    @_mapped
    def execute(
        self, txs: Sequence[NativeTx], *, parallel: bool = True, threads: int = 0
    ) -> list[NativeOutcome]:
        """Applies `txs` in order (Block-STM when `parallel`, else one by one); one outcome each."""
        return self._engine.execute(list(txs), parallel=parallel, threads=threads)

    def credit_fees(self) -> str | None:
        """Credits the pending fees to the fee account; the TxError code if it cannot."""
        return self._engine.credit_fees()

    @_mapped
    def root(self, tree: SparseMerkleTree, *, threads: int = 0) -> Digest:
        """Hashes the leaves changed since the last call into `tree` (holding the others); the root."""
        return _digest(self._engine.root(tree._tree, threads=threads))

    def account(self, index: int) -> NativeAccount | None:
        """The account at `index`, or None."""
        return self._engine.account(index)

    def take_touched(self) -> list[NativeAccount]:
        """Accounts changed since the last call, by index."""
        return self._engine.take_touched()

    @_mapped
    def set_account(self, account: NativeAccount) -> None:
        """Overwrites an account (a change made outside the engine)."""
        self._engine.set_account(*account)

    @_mapped
    def set_counters(self, next_deposit_index: int, pending_fees: int) -> None:
        """Overwrites the deposit index and the pending fees (a change made outside the engine)."""
        self._engine.set_counters(next_deposit_index, pending_fees)

    def copy(self) -> ExecutionEngine:
        """An independent copy."""
        clone = ExecutionEngine.__new__(ExecutionEngine)
        clone._engine = self._engine.copy()
        return clone


@_mapped
def tx_hashes(domain: int, encodings: Sequence[bytes], *, threads: int = 0) -> list[Digest]:
    """Poseidon(domain ‖ encoding packed 7 bytes per element) of each encoding, in one native call
    (GIL released, parallel): `zkpipe.spec.compute_tx_hash` for a chunk, given its DOMAIN_TX_HASH."""
    return [_digest(d) for d in _native.exec_tx_hashes(domain, list(encodings), threads=threads)]


@_mapped
def poseidon_hashes(rows: Sequence[Sequence[int]], *, threads: int = 0) -> list[Digest]:
    """`poseidon_hash` of each row, in one native call (GIL released once, parallel for a chunk)."""
    return [_digest(d) for d in _native.exec_poseidon_hashes([list(r) for r in rows], threads=threads)]


# ---- wrap: the BN254 outer layer (gnark-plonky2-verifier's JSON files) ----


@dataclass(frozen=True, slots=True)
class OuterProof:
    """An aggregate re-proven in the BN254 outer layer (its files are in the given folder)."""

    build_seconds: float
    prove_seconds: float
    statement: list[int]
    degree_bits: int
    proof_bytes: int


@_mapped
def wrap_outer(
    k: int,
    aggregate_proof: bytes,
    out_dir: str | Path,
    *,
    threads: int = 0,
    cache_dir: str | Path | None = None,
) -> OuterProof:
    """Re-proves a final aggregate in the outer layer and writes its JSON files into `out_dir`."""
    build, prove, statement, degree_bits, size = _native.wrap_outer(
        k, bytes(aggregate_proof), Path(out_dir), threads=threads, cache_dir=_cache(cache_dir)
    )
    return OuterProof(build, prove, list(statement), degree_bits, size)


# ---- data-commitment proofs (SHA-256 of a batch's public data, in circuit) ----


@dataclass(frozen=True, slots=True)
class DataHashStatement:
    """What a data-commitment proof shows about a batch's `length` posted bytes (ADR 27)."""

    length: int
    sha256: bytes
    data_in: Digest
    """The data chain before the batch ..."""
    data_out: Digest
    """... and after its transaction chunks."""
    acc_in: bytes
    """L1's accumulated input hash before the batch ..."""
    acc_out: bytes
    """... and after it (ADR 19)."""
    chain_id: int
    queue_in: int
    queue_out: int
    """The header's queue range."""


def data_hash_capacity(blocks: int) -> int:
    """The most bytes of a batch (header and whole 16-byte chunks) a data circuit of `blocks` proves."""
    capacity = 64 * blocks - 9
    return 0 if capacity < 68 else 68 + (capacity - 68) // 16 * 16


@_mapped
def prove_data_hash(
    data: bytes, *, blocks: int, data_in: Digest, acc_in: bytes, chain_id: int, threads: int = 0
) -> bytes:
    """Proves batch `data`'s SHA-256, L1's input hash after it and its data chain (circuit of `blocks`)."""
    return bytes(
        _native.data_hash_prove(bytes(data), blocks, list(data_in), bytes(acc_in), chain_id, threads=threads)
    )


@_mapped
def verify_data_hash(proof: bytes, *, blocks: int) -> DataHashStatement:
    """Verifies a data-commitment proof and returns its statement."""
    length, digest, data_in, data_out, acc_in, acc_out, chain_id, queue_in, queue_out = (
        _native.data_hash_verify(bytes(proof), blocks)
    )
    return DataHashStatement(
        length,
        bytes(digest),
        _digest(data_in),
        _digest(data_out),
        bytes(acc_in),
        bytes(acc_out),
        chain_id,
        queue_in,
        queue_out,
    )


@_mapped
def data_chain(head: Digest, data: bytes) -> Digest:
    """The data chain from `head` over whole 16-byte chunks (native; `zkpipe.spec.compute_data_chain`)."""
    return _digest(_native.data_chain(list(head), bytes(data)))


@_mapped
def bench_data_hash(
    blocks: Sequence[int], *, threads: int = 1
) -> tuple[int, int, int, list[tuple[int, int, int, float, float, int]]]:
    """Rows of plain SHA-256 / keccak-f and of the custom-gate SHA-256; data proofs per capacity."""
    return _native.bench_data_hash(list(blocks), threads=threads)


# ---- the batch level: joins of segments with data proofs, folded with L1's hash (ADR 29) ----


@_mapped
def prove_batch_data(
    k: int,
    blocks: int,
    data: bytes,
    *,
    data_in: Digest,
    acc_in: bytes,
    chain_id: int,
    threads: int = 0,
    cache_dir: str | Path | None = None,
) -> bytes:
    """Proves batch `data`'s data proof with the circuit the `(k, blocks)` join verifies."""
    return bytes(
        _native.batch_level_prove_data(
            k,
            blocks,
            bytes(data),
            list(data_in),
            bytes(acc_in),
            chain_id,
            threads=threads,
            cache_dir=_cache(cache_dir),
        )
    )


@_mapped
def join_batch(
    k: int,
    blocks: int,
    segments: bytes,
    segments_is_aggregate: bool,
    data_proof: bytes,
    *,
    threads: int = 0,
    cache_dir: str | Path | None = None,
) -> bytes:
    """Joins a batch's segments proof (an aggregate or one segment proof) with its data proof."""
    return bytes(
        _native.batch_level_join(
            k,
            blocks,
            bytes(segments),
            segments_is_aggregate,
            bytes(data_proof),
            threads=threads,
            cache_dir=_cache(cache_dir),
        )
    )


@_mapped
def aggregate_batches(
    k: int,
    blocks: int,
    left: bytes,
    left_is_aggregate: bool,
    right: bytes,
    right_is_aggregate: bool,
    *,
    threads: int = 0,
    cache_dir: str | Path | None = None,
) -> bytes:
    """Aggregates two adjacent batch-level proofs (joins or their aggregates)."""
    return bytes(
        _native.batch_level_aggregate(
            k,
            blocks,
            bytes(left),
            left_is_aggregate,
            bytes(right),
            right_is_aggregate,
            threads=threads,
            cache_dir=_cache(cache_dir),
        )
    )


@_mapped
def verify_batch_proof(
    k: int, blocks: int, proof: bytes, is_aggregate: bool, *, cache_dir: str | Path | None = None
) -> list[int]:
    """Verifies a batch-level proof and returns its batch statement's elements."""
    elements = _native.batch_level_verify(k, blocks, bytes(proof), is_aggregate, cache_dir=_cache(cache_dir))
    return list(elements)


# ---- signatures verified in circuit (ECgFp5 Schnorr) ----


@_mapped
def bench_signatures(
    counts: Sequence[int], *, threads: int = 1
) -> tuple[list[tuple[str, int]], list[tuple[int, int, int, float, float, float, int]]]:
    """Rows per signature by backend; per count: (n, rows, degree bits, build s, prove s, verify s, bytes)."""
    return _native.bench_signatures(list(counts), threads=threads)


# ---- cluster: where a host keeps the circuits of one segment size ----


def circuit_cache_folder(k: int, cache_dir: str | Path) -> Path:
    """The folder of `cache_dir` holding this build's circuits of `k` (what to copy to warm a host)."""
    return Path(_native.circuit_cache_folder(k, Path(cache_dir)))
