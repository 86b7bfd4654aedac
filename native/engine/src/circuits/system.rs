//! The proving system for one segment size: segment circuit, normalizer, aggregator, and their disk cache.
//!
//! Building the three circuits takes seconds to tens of seconds; their data is
//! cached under `<cache dir>/<engine version>-<circuit source hash>/k<k>/`, so a
//! changed circuit never reuses stale data, and a warm start only re-runs the
//! cheap circuit definitions around the loaded data.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitData;

use super::aggregate::{Aggregation, BatchLayout};
use super::datahash::{self, BatchStart, DataHashCircuit};
use super::join::JoinCircuit;
use super::segment::{SegmentCircuit, SegmentWitness};
use super::serialize::{ZkpipeGateSerializer, ZkpipeGeneratorSerializer};
use super::statement::{BatchStatement, Statement};
use super::{C, D, F};
use crate::field::to_u64;
use crate::{Error, Result};

/// Everything needed to prove, aggregate and verify for segments of `k` transactions.
pub struct ProvingSystem {
    pub k: usize,
    pub segment: SegmentCircuit,
    pub aggregation: Aggregation,
    /// Seconds spent building or loading the circuits.
    pub setup_seconds: f64,
    /// Whether the circuits came from the disk cache.
    pub from_cache: bool,
}

fn serialize(data: &CircuitData<F, C, D>) -> Result<Vec<u8>> {
    data.to_bytes(&ZkpipeGateSerializer, &ZkpipeGeneratorSerializer::default())
        .map_err(|e| Error::ProvingFailed(format!("cannot serialize circuit: {e:?}")))
}

fn deserialize(bytes: &[u8]) -> Result<CircuitData<F, C, D>> {
    CircuitData::from_bytes(bytes, &ZkpipeGateSerializer, &ZkpipeGeneratorSerializer::default())
        .map_err(|e| Error::ProvingFailed(format!("cannot read cached circuit: {e:?}")))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // A temporary name per process: several cold workers may build and store the same circuits.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// The cache folder for one segment size.
pub fn cache_folder(root: &Path, k: usize) -> PathBuf {
    root.join(format!("{}-{}", env!("CARGO_PKG_VERSION"), env!("ZKPIPE_CIRCUITS_HASH"))).join(format!("k{k}"))
}

impl ProvingSystem {
    /// Builds the circuits for `k`, or loads them from `cache` when present (and stores them when not).
    pub fn new(k: usize, cache: Option<&Path>) -> Result<Self> {
        let start = Instant::now();
        let folder = cache.map(|root| cache_folder(root, k));
        if let Some(folder) = &folder {
            match Self::load(k, folder) {
                Ok(Some((segment, aggregation))) => {
                    let setup_seconds = start.elapsed().as_secs_f64();
                    return Ok(Self { k, segment, aggregation, setup_seconds, from_cache: true });
                }
                Ok(None) => {}
                // A corrupt or unreadable cache is rebuilt, never trusted.
                Err(_) => {
                    let _ = fs::remove_dir_all(folder);
                }
            }
        }
        let segment = SegmentCircuit::build(k)?;
        let aggregation = Aggregation::build(&segment.data)?;
        if let Some(folder) = &folder {
            fs::create_dir_all(folder)?;
            write_atomic(&folder.join("segment.bin"), &serialize(&segment.data)?)?;
            write_atomic(&folder.join("normalizer.bin"), &serialize(&aggregation.normalizer.data)?)?;
            // Written last: its presence marks a complete cache.
            write_atomic(&folder.join("aggregator.bin"), &serialize(&aggregation.aggregator.data)?)?;
        }
        Ok(Self { k, segment, aggregation, setup_seconds: start.elapsed().as_secs_f64(), from_cache: false })
    }

    fn load(k: usize, folder: &Path) -> Result<Option<(SegmentCircuit, Aggregation)>> {
        let aggregator_path = folder.join("aggregator.bin");
        if !aggregator_path.exists() {
            return Ok(None);
        }
        let shape = deserialize(&fs::read(&aggregator_path)?)?.common;
        let segment = SegmentCircuit::define(k, |_| deserialize(&fs::read(folder.join("segment.bin"))?))?;
        let mut load = |name: &str, _: CircuitBuilder<F, D>| deserialize(&fs::read(folder.join(format!("{name}.bin")))?);
        let aggregation = Aggregation::load(&segment.data, &shape, &mut load)?;
        Ok(Some((segment, aggregation)))
    }

    /// Proves a segment and normalizes it: the result is a "segment proof" of the aggregator's shape.
    pub fn prove_segment(&self, witness: &SegmentWitness, threads: usize) -> Result<Vec<u8>> {
        Ok(self.prove_segment_timed(witness, threads)?.0)
    }

    /// Like `prove_segment`, also returning the seconds of the segment proof and of its normalization.
    pub fn prove_segment_timed(&self, witness: &SegmentWitness, threads: usize) -> Result<(Vec<u8>, f64, f64)> {
        let start = Instant::now();
        let raw = self.segment.prove(witness, threads)?;
        let segment_seconds = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let normalized = self.aggregation.normalizer.prove(&self.segment.data, &raw, threads)?;
        Ok((normalized, segment_seconds, start.elapsed().as_secs_f64()))
    }

    /// Aggregates two adjacent proofs (each with whether it is an aggregate); both are verified first.
    pub fn aggregate(&self, left: (&[u8], bool), right: (&[u8], bool), threads: usize) -> Result<Vec<u8>> {
        self.aggregation.aggregator.prove(&self.aggregation.normalizer, left, right, threads)
    }

    /// Verifies a segment or aggregate proof and returns its statement.
    pub fn verify(&self, proof: &[u8], is_aggregate: bool) -> Result<Statement> {
        Statement::from_public_inputs(&self.aggregation.verify(proof, is_aggregate)?)
    }

    /// Circuit digests: segment, normalizer, aggregator.
    pub fn digests(&self) -> [[u64; 4]; 3] {
        let digest = |d: &CircuitData<F, C, D>| d.verifier_only.circuit_digest.elements.map(to_u64);
        [digest(&self.segment.data), digest(&self.aggregation.normalizer.data), digest(&self.aggregation.aggregator.data)]
    }

    /// log2 of the rows of the segment circuit and of the (shared) aggregation shape.
    pub fn degree_bits(&self) -> (usize, usize) {
        (self.segment.data.common.degree_bits(), self.aggregation.aggregator.data.common.degree_bits())
    }
}

/// The process-wide proving system for `k`, built (or loaded from `cache`) on first use.
pub fn system(k: usize, cache: Option<&Path>) -> Result<Arc<ProvingSystem>> {
    static SYSTEMS: OnceLock<Mutex<HashMap<usize, Arc<ProvingSystem>>>> = OnceLock::new();
    let systems = SYSTEMS.get_or_init(|| Mutex::new(HashMap::new()));
    // Held while building, so concurrent callers wait for one build instead of racing.
    let mut guard = systems.lock().map_err(|_| Error::ProvingFailed("proving system lock poisoned".into()))?;
    if let Some(found) = guard.get(&k) {
        return Ok(found.clone());
    }
    let built = Arc::new(ProvingSystem::new(k, cache)?);
    guard.insert(k, built.clone());
    Ok(built)
}

/// The batch level for segments of `k` and data proofs of `blocks` SHA-256 blocks (ADR 29): the
/// data circuit, the join, and the normalizer and aggregator over batch statements.
pub struct BatchSystem {
    pub blocks: usize,
    pub segments: Arc<ProvingSystem>,
    pub datahash: Arc<DataHashCircuit>,
    pub join: JoinCircuit,
    pub aggregation: Aggregation<BatchLayout>,
    /// Seconds spent building or loading the batch-level circuits (the segment level excluded).
    pub setup_seconds: f64,
    /// Whether the join and batch aggregation came from the disk cache.
    pub from_cache: bool,
}

impl BatchSystem {
    /// Builds (or loads from `cache`, storing when absent) the batch level over `segments`.
    pub fn new(segments: Arc<ProvingSystem>, blocks: usize, cache: Option<&Path>) -> Result<Self> {
        let start = Instant::now();
        let datahash = datahash::circuit(blocks)?;
        let folder = cache.map(|root| cache_folder(root, segments.k).join(format!("data{blocks}")));
        if let Some(folder) = &folder {
            match Self::load(&segments, &datahash, folder) {
                Ok(Some((join, aggregation))) => {
                    let setup_seconds = start.elapsed().as_secs_f64();
                    return Ok(Self { blocks, segments, datahash, join, aggregation, setup_seconds, from_cache: true });
                }
                Ok(None) => {}
                Err(_) => {
                    let _ = fs::remove_dir_all(folder);
                }
            }
        }
        let join = JoinCircuit::build(&segments.aggregation, &datahash)?;
        let aggregation = Aggregation::<BatchLayout>::build(&join.data)?;
        if let Some(folder) = &folder {
            fs::create_dir_all(folder)?;
            write_atomic(&folder.join("join.bin"), &serialize(&join.data)?)?;
            write_atomic(&folder.join("normalizer.bin"), &serialize(&aggregation.normalizer.data)?)?;
            write_atomic(&folder.join("aggregator.bin"), &serialize(&aggregation.aggregator.data)?)?;
        }
        Ok(Self { blocks, segments, datahash, join, aggregation, setup_seconds: start.elapsed().as_secs_f64(), from_cache: false })
    }

    fn load(segments: &ProvingSystem, datahash: &DataHashCircuit, folder: &Path) -> Result<Option<(JoinCircuit, Aggregation<BatchLayout>)>> {
        let aggregator_path = folder.join("aggregator.bin");
        if !aggregator_path.exists() {
            return Ok(None);
        }
        let shape = deserialize(&fs::read(&aggregator_path)?)?.common;
        let mut load = |name: &str, _: CircuitBuilder<F, D>| deserialize(&fs::read(folder.join(format!("{name}.bin")))?);
        let join = JoinCircuit::define(&segments.aggregation, datahash, &mut load)?;
        let aggregation = Aggregation::<BatchLayout>::load(&join.data, &shape, &mut load)?;
        Ok(Some((join, aggregation)))
    }

    /// Proves that `data` (a batch as posted) hashes to L1's values from `start`.
    pub fn prove_data(&self, data: &[u8], start: &BatchStart, threads: usize) -> Result<Vec<u8>> {
        self.datahash.prove(data, start, threads)
    }

    /// Joins a batch's segments proof (an aggregate, or one normalized segment proof) with its data
    /// proof, and normalizes the join: the result is a batch-level leaf of the aggregator's shape.
    pub fn join(&self, segments: (&[u8], bool), data_proof: &[u8], threads: usize) -> Result<Vec<u8>> {
        let joined = self.join.prove(&self.segments.aggregation, &self.datahash, segments, data_proof, threads)?;
        self.aggregation.normalizer.prove(&self.join.data, &joined, threads)
    }

    /// Aggregates two adjacent batch-level proofs (each with whether it is an aggregate).
    pub fn aggregate(&self, left: (&[u8], bool), right: (&[u8], bool), threads: usize) -> Result<Vec<u8>> {
        self.aggregation.aggregator.prove(&self.aggregation.normalizer, left, right, threads)
    }

    /// Verifies a batch-level proof (a normalized join, or an aggregate) and returns its statement.
    pub fn verify(&self, proof: &[u8], is_aggregate: bool) -> Result<BatchStatement> {
        BatchStatement::from_public_inputs(&self.aggregation.verify(proof, is_aggregate)?)
    }
}

type BatchSystems = Mutex<HashMap<(usize, usize), Arc<BatchSystem>>>;

/// The process-wide batch level for `(k, blocks)`, built (or loaded from `cache`) on first use.
pub fn batch_system(k: usize, blocks: usize, cache: Option<&Path>) -> Result<Arc<BatchSystem>> {
    static SYSTEMS: OnceLock<BatchSystems> = OnceLock::new();
    let segments = system(k, cache)?;
    let systems = SYSTEMS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = systems.lock().map_err(|_| Error::ProvingFailed("batch system lock poisoned".into()))?;
    if let Some(found) = guard.get(&(k, blocks)) {
        return Ok(found.clone());
    }
    let built = Arc::new(BatchSystem::new(segments, blocks, cache)?);
    guard.insert((k, blocks), built.clone());
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuits::segment::empty_segment_witness;

    #[test]
    fn cached_circuits_load_and_prove_like_fresh_ones() {
        let cache = std::env::temp_dir().join(format!("zkpipe-cache-test-{}", std::process::id()));
        let fresh = ProvingSystem::new(8, Some(&cache)).unwrap();
        assert!(!fresh.from_cache);
        let warm = ProvingSystem::new(8, Some(&cache)).unwrap();
        assert!(warm.from_cache);
        assert_eq!(fresh.digests(), warm.digests());
        eprintln!("cold {:.1}s warm {:.1}s degrees {:?}", fresh.setup_seconds, warm.setup_seconds, warm.degree_bits());
        // The aggregation shape is a verifier of two standard-gate proofs (ADR 35): 2^13 rows, and no
        // custom gate of the segment leaks into it, so the signature gates cost the layers nothing.
        assert_eq!(warm.degree_bits(), (12, 13));
        let ids: Vec<String> = warm.aggregation.aggregator.data.common.gates.iter().map(|g| g.0.id()).collect();
        assert!(ids.iter().all(|id| !id.starts_with("EcStepGate") && !id.starts_with("Fp5MulGate")), "{ids:?}");

        let (tree, witness) = empty_segment_witness();
        let proof = warm.prove_segment(&witness, 0).unwrap();
        // Proofs from the loaded circuits verify under the freshly built ones, and vice versa.
        assert_eq!(fresh.verify(&proof, false).unwrap().root_after, tree.root());
        let doubled = fresh.aggregate((&proof, false), (&proof, false), 0).unwrap();
        assert_eq!(warm.verify(&doubled, true).unwrap().fee_total, 0);
        // A corrupt cache is rebuilt rather than trusted.
        fs::write(cache_folder(&cache, 8).join("segment.bin"), b"garbage").unwrap();
        assert!(!ProvingSystem::new(8, Some(&cache)).unwrap().from_cache);
        fs::remove_dir_all(&cache).unwrap();
    }
}
