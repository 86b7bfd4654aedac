"""Type stub for the compiled module; users should import `zkpipe.native` instead."""

from pathlib import Path

__version__: str

class NativeError(ValueError):
    """An engine error; args are (code, message)."""

_Digest = tuple[int, int, int, int]

def poseidon_permute(state: list[int]) -> list[int]: ...
def poseidon_hash(elements: list[int]) -> _Digest: ...
def poseidon_hash_to_many(elements: list[int], outputs: int) -> list[int]: ...
def poseidon_two_to_one(left: tuple[int, ...], right: tuple[int, ...]) -> _Digest: ...

class SparseMerkleTree:
    def __init__(self, depth: int = 32) -> None: ...
    @property
    def depth(self) -> int: ...
    @property
    def root(self) -> _Digest: ...
    def __len__(self) -> int: ...
    def get(self, index: int) -> _Digest: ...
    def update(self, updates: list[tuple[int, tuple[int, ...]]]) -> _Digest: ...
    def proof(self, index: int) -> list[_Digest]: ...
    def leaves(self) -> list[tuple[int, _Digest]]: ...
    def copy(self) -> SparseMerkleTree: ...
    def save(self, path: Path) -> None: ...
    @staticmethod
    def load(path: Path) -> SparseMerkleTree: ...

def smt_empty_root(depth: int) -> _Digest: ...
def smt_verify_proof(
    depth: int, root: tuple[int, ...], index: int, leaf: tuple[int, ...], siblings: list[tuple[int, ...]]
) -> bool: ...
def sig_keygen(seed: bytes | None = None) -> tuple[bytes, bytes]: ...
def sig_public_key(secret_key: bytes) -> bytes: ...
def sig_validate_public_key(public_key: bytes) -> None: ...
def sig_sign(secret_key: bytes, message: tuple[int, ...]) -> bytes: ...
def sig_verify(public_key: bytes, message: tuple[int, ...], signature: bytes) -> bool: ...
def sig_batch_verify(
    items: list[tuple[bytes, tuple[int, ...], bytes]], *, threads: int = 0, chunk: int = 32
) -> list[bool]: ...
def membership_prove(
    root: tuple[int, ...],
    index: int,
    leaf: tuple[int, ...],
    siblings: list[tuple[int, ...]],
    *,
    threads: int = 0,
) -> bytes: ...
def membership_verify(depth: int, proof: bytes) -> list[int]: ...
def membership_wrap(depth: int, proof: bytes, *, threads: int = 0) -> bytes: ...
def membership_verify_wrapped(depth: int, proof: bytes) -> list[int]: ...

_Account = tuple[bool, list[int], list[_Digest]]
_Witness = tuple[
    _Digest, _Digest, _Digest, _Digest, list[tuple[int, list[int], _Account, _Account]], _Account, int, int
]

def proving_setup(
    k: int, *, cache_dir: Path | None = None
) -> tuple[float, bool, list[_Digest], tuple[int, int]]: ...
def prove_segment(
    k: int, witness: _Witness, *, threads: int = 0, cache_dir: Path | None = None
) -> tuple[bytes, float, float]: ...
def aggregate_proofs(
    k: int,
    left: bytes,
    left_is_aggregate: bool,
    right: bytes,
    right_is_aggregate: bool,
    *,
    threads: int = 0,
    cache_dir: Path | None = None,
) -> bytes: ...
def verify_proof(k: int, proof: bytes, is_aggregate: bool, *, cache_dir: Path | None = None) -> list[int]: ...
def library_versions() -> list[tuple[str, str]]: ...
def bench_primitive(name: str, iterations: int) -> float: ...

# -- execution engine -------------------------------------------------------------------------

_Tx = tuple[int, int, int, int, int, int, bytes, bytes, _Digest, bytes, bytes | None]
_AccountRow = tuple[int, bytes, int, int]

class ExecutionEngine:
    """The native account state with its sequential and Block-STM engines."""

    def __init__(
        self,
        depth: int,
        accounts: list[_AccountRow],
        next_deposit_index: int,
        pending_fees: int,
    ) -> None: ...
    @property
    def depth(self) -> int: ...
    @property
    def next_deposit_index(self) -> int: ...
    @property
    def pending_fees(self) -> int: ...
    def __len__(self) -> int: ...
    def execute(
        self, txs: list[_Tx], *, parallel: bool = True, threads: int = 0
    ) -> list[tuple[int, str | None]]: ...
    def credit_fees(self) -> str | None: ...
    def root(self, tree: SparseMerkleTree, *, threads: int = 0) -> _Digest: ...
    def account(self, index: int) -> _AccountRow | None: ...
    def take_touched(self) -> list[_AccountRow]: ...
    def set_account(self, index: int, key: bytes, balance: int, nonce: int) -> None: ...
    def set_counters(self, next_deposit_index: int, pending_fees: int) -> None: ...
    def copy(self) -> ExecutionEngine: ...

def exec_tx_hashes(domain: int, encodings: list[bytes], *, threads: int = 0) -> list[_Digest]: ...
def exec_poseidon_hashes(rows: list[list[int]], *, threads: int = 0) -> list[_Digest]: ...

# ---- wrap: the BN254 outer layer ----
def wrap_outer(
    k: int, proof: bytes, out_dir: Path, *, threads: int = 0, cache_dir: Path | None = None
) -> tuple[float, float, list[int], int, int]: ...

# ---- data-commitment proofs (SHA-256 of a batch's public data, in circuit) ----
def data_hash_prove(
    data: bytes, blocks: int, data_in: list[int], acc_in: bytes, chain_id: int, *, threads: int = 0
) -> bytes:
    """Proves a batch's SHA-256, L1's accumulated input hash after it and its data chain."""

def data_hash_verify(
    proof: bytes, blocks: int
) -> tuple[int, bytes, _Digest, _Digest, bytes, bytes, int, int, int]:
    """Verifies a data proof: its statement's fields in layout order (`DataHashStatement`)."""

def data_chain(head: list[int], data: bytes) -> _Digest:
    """The data chain from `head` over whole 16-byte chunks."""

def bench_data_hash(
    blocks: list[int], *, threads: int = 1
) -> tuple[int, int, int, list[tuple[int, int, int, float, float, int]]]:
    """Rows of plain SHA-256 and keccak-f, of the custom-gate SHA-256, and data proofs per capacity."""

# ---- the batch level: joins of segments with data proofs (ADR 29) ----
def batch_level_prove_data(
    k: int,
    blocks: int,
    data: bytes,
    data_in: list[int],
    acc_in: bytes,
    chain_id: int,
    *,
    threads: int = 0,
    cache_dir: Path | None = None,
) -> bytes:
    """Proves a batch's data proof with the data circuit of the `(k, blocks)` batch level."""

def batch_level_join(
    k: int,
    blocks: int,
    segments: bytes,
    segments_is_aggregate: bool,
    data_proof: bytes,
    *,
    threads: int = 0,
    cache_dir: Path | None = None,
) -> bytes:
    """Joins a batch's segments proof with its data proof; a normalized batch-level proof."""

def batch_level_aggregate(
    k: int,
    blocks: int,
    left: bytes,
    left_is_aggregate: bool,
    right: bytes,
    right_is_aggregate: bool,
    *,
    threads: int = 0,
    cache_dir: Path | None = None,
) -> bytes:
    """Aggregates two adjacent batch-level proofs."""

def batch_level_verify(
    k: int, blocks: int, proof: bytes, is_aggregate: bool, *, cache_dir: Path | None = None
) -> list[int]:
    """Verifies a batch-level proof; its batch statement's elements."""

# ---- signatures verified in circuit (ECgFp5 Schnorr) ----
def bench_signatures(
    counts: list[int], *, threads: int = 1
) -> tuple[list[tuple[str, int]], list[tuple[int, int, int, float, float, float, int]]]:
    """Rows per signature by backend; per count: (n, rows, degree bits, build s, prove s, verify s, bytes)."""

# ---- cluster: where a host keeps the circuits of one segment size ----
def circuit_cache_folder(k: int, cache_dir: Path) -> Path:
    """The folder under the circuit cache `cache_dir` that holds the circuits of `k` for this build."""
