//! PyO3 bindings for zkpipe's native engine: argument conversion, GIL release, error mapping.
//!
//! Each function converts its arguments, calls the engine with the GIL released
//! when the work is heavy, and maps engine errors in one place (`to_py`).

use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use zkpipe_engine::circuits::{datachain, datahash, membership};
use zkpipe_engine::circuits::segment::{AccountWitness, SegmentWitness, SlotKind, SlotWitness, TX_ELEMENTS};
use zkpipe_engine::circuits::system::{self, ProvingSystem};
use zkpipe_engine::hash::{self, Digest};
use zkpipe_engine::{exec, sig, smt, Error};

create_exception!(_native, NativeError, PyValueError, "An engine error; args are (code, message).");

/// The one boundary helper: engine errors become `NativeError(code, message)`.
fn to_py(err: Error) -> PyErr {
    NativeError::new_err((err.code(), err.to_string()))
}

fn bytes<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, data)
}

#[pyfunction]
fn poseidon_permute(state: Vec<u64>) -> PyResult<Vec<u64>> {
    hash::permute(&state).map(|s| s.to_vec()).map_err(to_py)
}

#[pyfunction]
fn poseidon_hash(py: Python<'_>, elements: Vec<u64>) -> PyResult<Digest> {
    py.detach(|| hash::hash(&elements)).map_err(to_py)
}

#[pyfunction]
fn poseidon_hash_to_many(elements: Vec<u64>, outputs: usize) -> PyResult<Vec<u64>> {
    hash::hash_to_many(&elements, outputs).map_err(to_py)
}

#[pyfunction]
fn poseidon_two_to_one(left: Digest, right: Digest) -> PyResult<Digest> {
    hash::two_to_one(&left, &right).map_err(to_py)
}

/// The sparse Merkle tree of the state (see `zkpipe.native.SparseMerkleTree`).
#[pyclass(module = "zkpipe._native")]
struct SparseMerkleTree {
    inner: smt::SparseMerkleTree,
}

#[pymethods]
impl SparseMerkleTree {
    #[new]
    #[pyo3(signature = (depth = 32))]
    fn new(depth: u32) -> PyResult<Self> {
        Ok(Self { inner: smt::SparseMerkleTree::new(depth).map_err(to_py)? })
    }

    #[getter]
    fn depth(&self) -> u32 {
        self.inner.depth()
    }

    #[getter]
    fn root(&self) -> Digest {
        self.inner.root()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn get(&self, index: u64) -> PyResult<Digest> {
        self.inner.get(index).map_err(to_py)
    }

    fn update(&mut self, py: Python<'_>, updates: Vec<(u64, Digest)>) -> PyResult<Digest> {
        let inner = &mut self.inner;
        py.detach(|| inner.update(&updates)).map_err(to_py)
    }

    fn proof(&self, index: u64) -> PyResult<Vec<Digest>> {
        self.inner.proof(index).map_err(to_py)
    }

    fn leaves(&self) -> Vec<(u64, Digest)> {
        self.inner.leaves()
    }

    fn copy(&self) -> Self {
        Self { inner: self.inner.clone() }
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let inner = &self.inner;
        py.detach(|| inner.save(&path)).map_err(to_py)
    }

    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(Self { inner: py.detach(|| smt::SparseMerkleTree::load(&path)).map_err(to_py)? })
    }
}

#[pyfunction]
fn smt_empty_root(depth: u32) -> PyResult<Digest> {
    smt::empty_root(depth).map_err(to_py)
}

#[pyfunction]
fn smt_verify_proof(depth: u32, root: Digest, index: u64, leaf: Digest, siblings: Vec<Digest>) -> PyResult<bool> {
    smt::verify_proof(depth, &root, index, &leaf, &siblings).map_err(to_py)
}

#[pyfunction]
#[pyo3(signature = (seed = None))]
fn sig_keygen<'py>(py: Python<'py>, seed: Option<Vec<u8>>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (sk, pk) = py.detach(|| sig::keygen(seed.as_deref())).map_err(to_py)?;
    Ok((bytes(py, &sk), bytes(py, &pk)))
}

#[pyfunction]
fn sig_public_key<'py>(py: Python<'py>, secret_key: Vec<u8>) -> PyResult<Bound<'py, PyBytes>> {
    let pk = py.detach(|| sig::public_key(&secret_key)).map_err(to_py)?;
    Ok(bytes(py, &pk))
}

#[pyfunction]
fn sig_validate_public_key(public_key: Vec<u8>) -> PyResult<()> {
    sig::validate_public_key(&public_key).map_err(to_py)
}

#[pyfunction]
fn sig_sign<'py>(py: Python<'py>, secret_key: Vec<u8>, message: Digest) -> PyResult<Bound<'py, PyBytes>> {
    let signature = py.detach(|| sig::sign(&secret_key, &message)).map_err(to_py)?;
    Ok(bytes(py, &signature))
}

#[pyfunction]
fn sig_verify(py: Python<'_>, public_key: Vec<u8>, message: Digest, signature: Vec<u8>) -> PyResult<bool> {
    py.detach(|| sig::verify(&public_key, &message, &signature)).map_err(to_py)
}

#[pyfunction]
#[pyo3(signature = (items, *, threads = 0, chunk = sig::BATCH_CHUNK))]
fn sig_batch_verify(
    py: Python<'_>,
    items: Vec<(Vec<u8>, Digest, Vec<u8>)>,
    threads: usize,
    chunk: usize,
) -> PyResult<Vec<bool>> {
    py.detach(|| -> Result<Vec<bool>, String> {
        if threads == 0 {
            return Ok(sig::batch_verify_chunked(&items, chunk));
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
        Ok(pool.install(|| sig::batch_verify_chunked(&items, chunk)))
    })
    .map_err(|e| to_py(Error::ProvingFailed(e)))
}

#[pyfunction]
#[pyo3(signature = (root, index, leaf, siblings, *, threads = 0))]
fn membership_prove<'py>(
    py: Python<'py>,
    root: Digest,
    index: u64,
    leaf: Digest,
    siblings: Vec<Digest>,
    threads: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let proof = py
        .detach(|| membership::circuits(siblings.len())?.membership.prove(&root, index, &leaf, &siblings, threads))
        .map_err(to_py)?;
    Ok(bytes(py, &proof))
}

#[pyfunction]
fn membership_verify(py: Python<'_>, depth: usize, proof: Vec<u8>) -> PyResult<Vec<u64>> {
    py.detach(|| membership::circuits(depth)?.membership.verify(&proof)).map_err(to_py)
}

#[pyfunction]
#[pyo3(signature = (depth, proof, *, threads = 0))]
fn membership_wrap<'py>(py: Python<'py>, depth: usize, proof: Vec<u8>, threads: usize) -> PyResult<Bound<'py, PyBytes>> {
    let wrapped = py
        .detach(|| {
            let c = membership::circuits(depth)?;
            c.wrapper.prove(&c.membership, &proof, threads)
        })
        .map_err(to_py)?;
    Ok(bytes(py, &wrapped))
}

#[pyfunction]
fn membership_verify_wrapped(py: Python<'_>, depth: usize, proof: Vec<u8>) -> PyResult<Vec<u64>> {
    py.detach(|| membership::circuits(depth)?.wrapper.verify(&proof)).map_err(to_py)
}

/// (empty, account fields, siblings) as passed from Python.
type AccountTuple = (bool, Vec<u64>, Vec<Digest>);
/// (kind code, elements, leaf A, leaf B).
type SlotTuple = (u8, Vec<u64>, AccountTuple, AccountTuple);
/// (root before, data in, withdrawals in, deposits in, slots, fee account, queue in, chain id).
type WitnessTuple = (Digest, Digest, Digest, Digest, Vec<SlotTuple>, AccountTuple, u64, u64);

fn account_witness((empty, account, siblings): AccountTuple) -> Result<AccountWitness, Error> {
    let account: [u64; 8] = account
        .try_into()
        .map_err(|v: Vec<u64>| Error::WrongLength { expected: 8, got: v.len() })?;
    Ok(AccountWitness { empty, account, siblings })
}

fn segment_witness(w: WitnessTuple) -> Result<SegmentWitness, Error> {
    let (root_before, data_in, withdrawals_in, deposits_in, slots, fee_account, queue_in, chain_id) = w;
    let slots = slots
        .into_iter()
        .map(|(kind, elements, a, b)| {
            let elements: [u64; TX_ELEMENTS] = elements
                .try_into()
                .map_err(|v: Vec<u64>| Error::WrongLength { expected: TX_ELEMENTS, got: v.len() })?;
            Ok(SlotWitness { kind: SlotKind::from_code(kind)?, elements, a: account_witness(a)?, b: account_witness(b)? })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let fee_account = account_witness(fee_account)?;
    Ok(SegmentWitness { root_before, data_in, withdrawals_in, deposits_in, slots, fee_account, queue_in, chain_id })
}

fn proving_system(k: usize, cache_dir: Option<PathBuf>) -> Result<std::sync::Arc<ProvingSystem>, Error> {
    system::system(k, cache_dir.as_deref())
}

/// Builds (or loads) the circuits for `k`; returns (setup seconds, from cache, digests, degree bits).
#[pyfunction]
#[pyo3(signature = (k, *, cache_dir = None))]
#[allow(clippy::type_complexity)]
fn proving_setup(
    py: Python<'_>,
    k: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<(f64, bool, [[u64; 4]; 3], (usize, usize))> {
    let s = py.detach(|| proving_system(k, cache_dir)).map_err(to_py)?;
    Ok((s.setup_seconds, s.from_cache, s.digests(), s.degree_bits()))
}

/// Proves and normalizes a segment; returns (proof, segment seconds, normalization seconds).
#[pyfunction]
#[pyo3(signature = (k, witness, *, threads = 0, cache_dir = None))]
fn prove_segment<'py>(
    py: Python<'py>,
    k: usize,
    witness: WitnessTuple,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyBytes>, f64, f64)> {
    let (proof, segment_seconds, normalize_seconds) = py
        .detach(|| proving_system(k, cache_dir)?.prove_segment_timed(&segment_witness(witness)?, threads))
        .map_err(to_py)?;
    Ok((bytes(py, &proof), segment_seconds, normalize_seconds))
}

#[pyfunction]
#[pyo3(signature = (k, left, left_is_aggregate, right, right_is_aggregate, *, threads = 0, cache_dir = None))]
#[allow(clippy::too_many_arguments)]
fn aggregate_proofs<'py>(
    py: Python<'py>,
    k: usize,
    left: Vec<u8>,
    left_is_aggregate: bool,
    right: Vec<u8>,
    right_is_aggregate: bool,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    let proof = py
        .detach(|| {
            proving_system(k, cache_dir)?.aggregate((&left, left_is_aggregate), (&right, right_is_aggregate), threads)
        })
        .map_err(to_py)?;
    Ok(bytes(py, &proof))
}

/// Verifies a segment or aggregate proof for `k`; returns its statement elements.
#[pyfunction]
#[pyo3(signature = (k, proof, is_aggregate, *, cache_dir = None))]
fn verify_proof(py: Python<'_>, k: usize, proof: Vec<u8>, is_aggregate: bool, cache_dir: Option<PathBuf>) -> PyResult<Vec<u64>> {
    py.detach(|| Ok(proving_system(k, cache_dir)?.verify(&proof, is_aggregate)?.to_vec())).map_err(to_py)
}

#[pyfunction]
fn library_versions() -> Vec<(&'static str, &'static str)> {
    zkpipe_engine::library_versions()
}

/// Times `iterations` native calls of one primitive on this thread; returns seconds.
#[pyfunction]
fn bench_primitive(py: Python<'_>, name: &str, iterations: u64) -> PyResult<f64> {
    let name = name.to_owned();
    py.detach(|| zkpipe_engine::bench::run(&name, iterations)).map_err(to_py)
}

// ---------------------------------------------------------------------------------------------
// Execution engine (exec/): the sequential and Block-STM engines over the account state.
// ---------------------------------------------------------------------------------------------

/// (kind 0 malformed / 1 deposit / 2 transfer / 3 withdraw, a, b, amount, fee, nonce, key, L1
/// address, signing digest, signature, key the signature already verified under).
type TxTuple = (u8, u64, u64, u64, u64, u32, Vec<u8>, Vec<u8>, Digest, Vec<u8>, Option<Vec<u8>>);
/// (index, key, balance, nonce).
type AccountRow = (u64, Vec<u8>, u64, u32);

fn exec_key(bytes: &[u8]) -> Result<exec::Key, Error> {
    bytes.try_into().map_err(|_| Error::InvalidPublicKey("must be 40 bytes"))
}

fn exec_tx(t: TxTuple) -> Result<exec::Tx, Error> {
    let (kind, a, b, amount, fee, nonce, key, l1, message, signature, checked) = t;
    let auth = || -> Result<exec::Auth, Error> {
        let checked = checked.as_deref().map(exec_key).transpose()?.map(|k| (k, true));
        Ok(exec::Auth { message, signature: signature.clone(), checked })
    };
    Ok(match kind {
        0 => exec::Tx::Malformed,
        1 => exec::Tx::Deposit { queue_index: b, recipient: a, key, amount },
        2 => exec::Tx::Transfer { sender: a, recipient: b, amount, fee, nonce, auth: auth()? },
        3 => {
            let l1_address: [u8; 20] = l1.as_slice().try_into().map_err(|_| Error::WrongLength { expected: 20, got: l1.len() })?;
            exec::Tx::Withdraw { sender: a, l1_address, amount, fee, nonce, auth: auth()? }
        }
        other => return Err(Error::ExecutionFailed(format!("unknown transaction kind {other}"))),
    })
}

fn outcome_tuple(outcome: exec::Outcome) -> (u8, Option<&'static str>) {
    match outcome {
        exec::Outcome::Ok => (0, None),
        exec::Outcome::Refunded(code) => (1, Some(code.code())),
        exec::Outcome::Invalid(code) => (2, Some(code.code())),
    }
}

fn account_row<'py>(py: Python<'py>, index: u64, a: &exec::Account) -> (u64, Bound<'py, PyBytes>, u64, u32) {
    (index, bytes(py, &a.key), a.balance, a.nonce)
}

/// The native execution engine's state (see `zkpipe.native.ExecutionEngine`).
#[pyclass(module = "zkpipe._native")]
struct ExecutionEngine {
    inner: exec::state::ExecState,
}

#[pymethods]
impl ExecutionEngine {
    #[new]
    fn new(depth: u32, accounts: Vec<AccountRow>, next_deposit_index: u64, pending_fees: u64) -> PyResult<Self> {
        let accounts = accounts
            .into_iter()
            .map(|(i, key, balance, nonce)| Ok((i, exec::Account { key: exec_key(&key)?, balance, nonce })))
            .collect::<Result<Vec<_>, Error>>()
            .map_err(to_py)?;
        let inner = exec::state::ExecState::new(depth, accounts, next_deposit_index, pending_fees).map_err(to_py)?;
        Ok(Self { inner })
    }

    #[getter]
    fn depth(&self) -> u32 {
        self.inner.depth()
    }

    #[getter]
    fn next_deposit_index(&self) -> u64 {
        self.inner.next_deposit_index()
    }

    #[getter]
    fn pending_fees(&self) -> u64 {
        self.inner.pending_fees()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    #[pyo3(signature = (txs, *, parallel = true, threads = 0))]
    fn execute(&mut self, py: Python<'_>, txs: Vec<TxTuple>, parallel: bool, threads: usize) -> PyResult<Vec<(u8, Option<&'static str>)>> {
        let txs = txs.into_iter().map(exec_tx).collect::<Result<Vec<_>, Error>>().map_err(to_py)?;
        let mode = if parallel { exec::state::Mode::Parallel { threads } } else { exec::state::Mode::Sequential };
        let inner = &mut self.inner;
        let outcomes = py.detach(|| inner.execute(txs, mode)).map_err(to_py)?;
        Ok(outcomes.into_iter().map(outcome_tuple).collect())
    }

    fn credit_fees(&mut self) -> Option<&'static str> {
        self.inner.credit_fees().err().map(|c| c.code())
    }

    #[pyo3(signature = (tree, *, threads = 0))]
    fn root(&mut self, py: Python<'_>, tree: &Bound<'_, SparseMerkleTree>, threads: usize) -> PyResult<Digest> {
        let mut tree = tree.borrow_mut();
        let (inner, tree) = (&mut self.inner, &mut tree.inner);
        py.detach(|| inner.root(tree, threads)).map_err(to_py)
    }

    fn account<'py>(&self, py: Python<'py>, index: u64) -> Option<(u64, Bound<'py, PyBytes>, u64, u32)> {
        self.inner.account(index).map(|a| account_row(py, index, &a))
    }

    fn take_touched<'py>(&mut self, py: Python<'py>) -> Vec<(u64, Bound<'py, PyBytes>, u64, u32)> {
        self.inner.take_touched().iter().map(|(i, a)| account_row(py, *i, a)).collect()
    }

    fn set_account(&mut self, index: u64, key: Vec<u8>, balance: u64, nonce: u32) -> PyResult<()> {
        let account = exec::Account { key: exec_key(&key).map_err(to_py)?, balance, nonce };
        self.inner.set_account(index, account).map_err(to_py)
    }

    fn set_counters(&mut self, next_deposit_index: u64, pending_fees: u64) {
        self.inner.set_counters(next_deposit_index, pending_fees)
    }

    fn copy(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// Poseidon(domain ‖ encoding packed 7 bytes per element) of each encoding: the spec's transaction
/// hashes for a whole chunk in one call, in parallel on `threads` (0 = every core).
#[pyfunction]
#[pyo3(signature = (domain, encodings, *, threads = 0))]
fn exec_tx_hashes(py: Python<'_>, domain: u64, encodings: Vec<Vec<u8>>, threads: usize) -> PyResult<Vec<Digest>> {
    if encodings.len() < exec::txdata::PARALLEL_MIN {
        // Why on this thread and holding the GIL: handing one request's hashes to the pool costs
        // more than hashing them (< 100 µs), and a thread that releases the GIL waits to get it back
        // behind the sequencer's Python (up to the switch interval, 5 ms), which is what it cost here.
        return exec::txdata::packed_hashes(domain, &encodings).map_err(to_py);
    }
    py.detach(|| exec::state::pool(threads)?.install(|| exec::txdata::packed_hashes(domain, &encodings))).map_err(to_py)
}

/// Poseidon of each row of field elements in one call (GIL released, parallel for a chunk): the
/// spec's signing digests of a chunk without one native call per transaction.
#[pyfunction]
#[pyo3(signature = (rows, *, threads = 0))]
fn exec_poseidon_hashes(py: Python<'_>, rows: Vec<Vec<u64>>, threads: usize) -> PyResult<Vec<Digest>> {
    if rows.len() < exec::txdata::PARALLEL_MIN {
        return exec::txdata::hashes(&rows).map_err(to_py); // held GIL: as in `exec_tx_hashes`
    }
    py.detach(|| exec::state::pool(threads)?.install(|| exec::txdata::hashes(&rows))).map_err(to_py)
}

// ---- data-commitment proofs (SHA-256 of a batch's public data, in circuit) ----

/// Proves that batch `data` hashes to its SHA-256, L1's accumulated input hash and the data chain,
/// starting from `data_in`, `acc_in` and `chain_id`; returns the proof bytes.
#[pyfunction]
#[pyo3(signature = (data, blocks, data_in, acc_in, chain_id, *, threads = 0))]
fn data_hash_prove<'py>(
    py: Python<'py>,
    data: Vec<u8>,
    blocks: usize,
    data_in: Digest,
    acc_in: Vec<u8>,
    chain_id: u64,
    threads: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let acc_in: [u8; 32] = acc_in.as_slice().try_into().map_err(|_| to_py(Error::WrongLength { expected: 32, got: acc_in.len() }))?;
    let start = datahash::BatchStart { data_in, acc_in, chain_id };
    let proof = py.detach(|| datahash::circuit(blocks)?.prove(&data, &start, threads)).map_err(to_py)?;
    Ok(bytes(py, &proof))
}

type DataHashFields<'py> = (u64, Bound<'py, PyBytes>, Digest, Digest, Bound<'py, PyBytes>, Bound<'py, PyBytes>, u64, u64, u64);

/// Verifies a data-commitment proof; returns its statement's fields in layout order.
#[pyfunction]
fn data_hash_verify<'py>(py: Python<'py>, proof: Vec<u8>, blocks: usize) -> PyResult<DataHashFields<'py>> {
    let s = py.detach(|| datahash::circuit(blocks)?.verify(&proof)).map_err(to_py)?;
    Ok((s.length, bytes(py, &s.sha256), s.data_in, s.data_out, bytes(py, &s.acc_in), bytes(py, &s.acc_out), s.chain_id, s.queue_in, s.queue_out))
}

/// The data chain from `head` over whole 16-byte chunks.
#[pyfunction]
fn data_chain(py: Python<'_>, head: Digest, data: Vec<u8>) -> PyResult<Digest> {
    // Why release above 32 chunks: a chunk is one permutation (≈ 2-5 µs), so a sequencer run's
    // chain (7 per transfer) held the GIL for milliseconds the RPC loop could use; below it the
    // GIL is kept (giving it up costs more, see `exec_tx_hashes`).
    if data.len() < 32 * 16 {
        return datachain::chain(&head, &data).map_err(to_py);
    }
    py.detach(|| datachain::chain(&head, &data)).map_err(to_py)
}

type DataHashRow = (usize, usize, usize, f64, f64, usize);

/// `zkpipe bench datahash`: (plain SHA-256 block rows, plain keccak-f rows, gate SHA-256 block rows, per-capacity rows).
#[pyfunction]
#[pyo3(signature = (blocks, *, threads = 1))]
fn bench_data_hash(py: Python<'_>, blocks: Vec<usize>, threads: usize) -> PyResult<(usize, usize, usize, Vec<DataHashRow>)> {
    let f = py.detach(|| zkpipe_engine::bench::data_hash(&blocks, threads)).map_err(to_py)?;
    Ok((f.plain_sha256_block_rows, f.plain_keccak_f_rows, f.gate_sha256_block_rows, f.circuits))
}

// ---- the batch level: joins of segments with data proofs, folded with L1's hash (ADR 29) ----

fn batch_start(data_in: Digest, acc_in: &[u8], chain_id: u64) -> Result<datahash::BatchStart, Error> {
    let acc_in: [u8; 32] = acc_in.try_into().map_err(|_| Error::WrongLength { expected: 32, got: acc_in.len() })?;
    Ok(datahash::BatchStart { data_in, acc_in, chain_id })
}

/// Proves a batch's data proof with the data circuit of the `(k, blocks)` batch level (the one its join verifies).
#[pyfunction]
#[pyo3(signature = (k, blocks, data, data_in, acc_in, chain_id, *, threads = 0, cache_dir = None))]
#[allow(clippy::too_many_arguments)]
fn batch_level_prove_data<'py>(
    py: Python<'py>,
    k: usize,
    blocks: usize,
    data: Vec<u8>,
    data_in: Digest,
    acc_in: Vec<u8>,
    chain_id: u64,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    let proof = py
        .detach(|| {
            let start = batch_start(data_in, &acc_in, chain_id)?;
            system::batch_system(k, blocks, cache_dir.as_deref())?.prove_data(&data, &start, threads)
        })
        .map_err(to_py)?;
    Ok(bytes(py, &proof))
}

/// Joins a batch's segments proof with its data proof (then normalizes): a batch-level leaf proof.
#[pyfunction]
#[pyo3(signature = (k, blocks, segments, segments_is_aggregate, data_proof, *, threads = 0, cache_dir = None))]
#[allow(clippy::too_many_arguments)]
fn batch_level_join<'py>(
    py: Python<'py>,
    k: usize,
    blocks: usize,
    segments: Vec<u8>,
    segments_is_aggregate: bool,
    data_proof: Vec<u8>,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    let proof = py
        .detach(|| {
            system::batch_system(k, blocks, cache_dir.as_deref())?.join((&segments, segments_is_aggregate), &data_proof, threads)
        })
        .map_err(to_py)?;
    Ok(bytes(py, &proof))
}

/// Aggregates two adjacent batch-level proofs.
#[pyfunction]
#[pyo3(signature = (k, blocks, left, left_is_aggregate, right, right_is_aggregate, *, threads = 0, cache_dir = None))]
#[allow(clippy::too_many_arguments)]
fn batch_level_aggregate<'py>(
    py: Python<'py>,
    k: usize,
    blocks: usize,
    left: Vec<u8>,
    left_is_aggregate: bool,
    right: Vec<u8>,
    right_is_aggregate: bool,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    let proof = py
        .detach(|| {
            system::batch_system(k, blocks, cache_dir.as_deref())?.aggregate(
                (&left, left_is_aggregate),
                (&right, right_is_aggregate),
                threads,
            )
        })
        .map_err(to_py)?;
    Ok(bytes(py, &proof))
}

/// Verifies a batch-level proof; returns its batch statement's elements.
#[pyfunction]
#[pyo3(signature = (k, blocks, proof, is_aggregate, *, cache_dir = None))]
fn batch_level_verify(py: Python<'_>, k: usize, blocks: usize, proof: Vec<u8>, is_aggregate: bool, cache_dir: Option<PathBuf>) -> PyResult<Vec<u64>> {
    py.detach(|| Ok(system::batch_system(k, blocks, cache_dir.as_deref())?.verify(&proof, is_aggregate)?.to_vec())).map_err(to_py)
}

// ---- signatures verified in circuit (ECgFp5 Schnorr) ----

type SignatureRow = (usize, usize, usize, f64, f64, f64, usize);
type SignatureFigures = (Vec<(String, usize)>, Vec<SignatureRow>);

/// `zkpipe bench signatures`: (rows per signature by backend, per-count circuit figures).
#[pyfunction]
#[pyo3(signature = (counts, *, threads = 1))]
fn bench_signatures(py: Python<'_>, counts: Vec<usize>, threads: usize) -> PyResult<SignatureFigures> {
    let f = py.detach(|| zkpipe_engine::bench::signatures(&counts, threads)).map_err(to_py)?;
    Ok((f.rows_per_signature.into_iter().map(|(b, r)| (b.to_owned(), r)).collect(), f.circuits))
}

// ---- wrap (outer BN254 layer for the gnark Groth16 wrap) ----

/// Re-proves a final aggregate for `k` in the BN254 outer layer and writes the gnark
/// verifier's JSON files into `out_dir`; returns (build s, prove s, statement, degree bits, proof bytes).
#[pyfunction]
#[pyo3(signature = (k, proof, out_dir, *, threads = 0, cache_dir = None))]
fn wrap_outer(
    py: Python<'_>,
    k: usize,
    proof: Vec<u8>,
    out_dir: PathBuf,
    threads: usize,
    cache_dir: Option<PathBuf>,
) -> PyResult<(f64, f64, Vec<u64>, usize, usize)> {
    py.detach(|| {
        let system = proving_system(k, cache_dir)?;
        let w = zkpipe_engine::wrap::wrap_aggregate(&system, &proof, &out_dir, threads)?;
        Ok::<_, Error>((w.build_seconds, w.prove_seconds, w.statement, w.degree_bits, w.proof_bytes))
    })
    .map_err(to_py)
}

// ---- cluster: where a host keeps the circuits of one segment size ----

/// The folder under a circuit cache root that holds the circuits of `k` for this build.
#[pyfunction]
fn circuit_cache_folder(k: usize, cache_dir: PathBuf) -> PathBuf {
    system::cache_folder(&cache_dir, k)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<SparseMerkleTree>()?;
    m.add_function(wrap_pyfunction!(poseidon_permute, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon_hash, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon_hash_to_many, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon_two_to_one, m)?)?;
    m.add_function(wrap_pyfunction!(smt_empty_root, m)?)?;
    m.add_function(wrap_pyfunction!(smt_verify_proof, m)?)?;
    m.add_function(wrap_pyfunction!(sig_keygen, m)?)?;
    m.add_function(wrap_pyfunction!(sig_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(sig_validate_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(sig_sign, m)?)?;
    m.add_function(wrap_pyfunction!(sig_verify, m)?)?;
    m.add_function(wrap_pyfunction!(sig_batch_verify, m)?)?;
    m.add_function(wrap_pyfunction!(membership_prove, m)?)?;
    m.add_function(wrap_pyfunction!(membership_verify, m)?)?;
    m.add_function(wrap_pyfunction!(membership_wrap, m)?)?;
    m.add_function(wrap_pyfunction!(membership_verify_wrapped, m)?)?;
    m.add_function(wrap_pyfunction!(proving_setup, m)?)?;
    m.add_function(wrap_pyfunction!(prove_segment, m)?)?;
    m.add_function(wrap_pyfunction!(aggregate_proofs, m)?)?;
    m.add_function(wrap_pyfunction!(verify_proof, m)?)?;
    m.add_function(wrap_pyfunction!(library_versions, m)?)?;
    m.add_function(wrap_pyfunction!(bench_primitive, m)?)?;
    m.add_class::<ExecutionEngine>()?;
    m.add_function(wrap_pyfunction!(exec_tx_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(exec_poseidon_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(wrap_outer, m)?)?;
    m.add_function(wrap_pyfunction!(data_hash_prove, m)?)?;
    m.add_function(wrap_pyfunction!(data_hash_verify, m)?)?;
    m.add_function(wrap_pyfunction!(data_chain, m)?)?;
    m.add_function(wrap_pyfunction!(bench_data_hash, m)?)?;
    m.add_function(wrap_pyfunction!(batch_level_prove_data, m)?)?;
    m.add_function(wrap_pyfunction!(batch_level_join, m)?)?;
    m.add_function(wrap_pyfunction!(batch_level_aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(batch_level_verify, m)?)?;
    m.add_function(wrap_pyfunction!(bench_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(circuit_cache_folder, m)?)?;
    Ok(())
}
