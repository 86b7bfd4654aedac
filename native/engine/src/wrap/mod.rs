//! The wrap: the final aggregate re-proven in an outer layer whose Merkle trees use
//! Poseidon over BN254, exported as the JSON gnark-plonky2-verifier reads, so that a
//! Groth16 proof over BN254 (the Go program in `wrap/`) can attest it to the EVM.

pub mod export;
pub mod outer;
pub mod poseidon_bn254;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use outer::{Outer, OuterC, OuterFri};
use plonky2::plonk::circuit_data::CircuitData;
use plonky2::plonk::proof::ProofWithPublicInputs;

use crate::circuits::system::ProvingSystem;
use crate::circuits::{D, F};
use crate::{Error, Result};

/// Names of the three files the Go program reads.
pub const COMMON_FILE: &str = "common_circuit_data.json";
pub const VERIFIER_FILE: &str = "verifier_only_circuit_data.json";
pub const PROOF_FILE: &str = "proof_with_public_inputs.json";

/// What one re-proof in the outer layer took and exposed.
#[derive(Clone, Debug)]
pub struct Wrapped {
    /// Seconds spent building the outer circuit (0 when it was already built in this process).
    pub build_seconds: f64,
    pub prove_seconds: f64,
    /// The statement the outer proof exposes (the aggregate's statement).
    pub statement: Vec<u64>,
    pub degree_bits: usize,
    pub proof_bytes: usize,
}

/// The process-wide outer circuit of `system` for the default FRI parameters, built on first use.
pub fn outer_circuit(system: &ProvingSystem) -> (Arc<Outer>, f64) {
    static OUTERS: OnceLock<Mutex<HashMap<usize, Arc<Outer>>>> = OnceLock::new();
    let outers = OUTERS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = outers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = guard.get(&system.k) {
        return (found.clone(), 0.0);
    }
    let started = Instant::now();
    let built = Arc::new(Outer::build(&system.aggregation.aggregator, OuterFri::DEFAULT));
    guard.insert(system.k, built.clone());
    (built, started.elapsed().as_secs_f64())
}

/// Writes an outer-configuration circuit and proof as the gnark verifier's three JSON files into `dir`.
pub fn write_files(dir: &Path, data: &CircuitData<F, OuterC, D>, proof: &ProofWithPublicInputs<F, OuterC, D>) -> Result<()> {
    let io = |e: std::io::Error| Error::ProvingFailed(format!("cannot write the wrap files: {e}"));
    std::fs::create_dir_all(dir).map_err(io)?;
    let write = |name: &str, v: serde_json::Value| std::fs::write(dir.join(name), v.to_string()).map_err(io);
    write(COMMON_FILE, export::common_json(&data.common))?;
    write(VERIFIER_FILE, export::verifier_only_json(&data.verifier_only))?;
    write(PROOF_FILE, export::proof_json(proof))
}

/// Re-proves a final aggregate in the outer layer and writes the gnark verifier's three JSON files into `dir`.
pub fn wrap_aggregate(system: &ProvingSystem, aggregate: &[u8], dir: &Path, threads: usize) -> Result<Wrapped> {
    let (outer, build_seconds) = outer_circuit(system);
    let started = Instant::now();
    let proof = outer.prove(&system.aggregation.aggregator, aggregate, threads)?;
    let prove_seconds = started.elapsed().as_secs_f64();
    write_files(dir, &outer.data, &proof)?;
    Ok(Wrapped {
        build_seconds,
        prove_seconds,
        statement: Outer::statement(&proof),
        degree_bits: outer.data.common.degree_bits(),
        proof_bytes: proof.to_bytes().len(),
    })
}

/// FRI parameters of the sample outer proof: 4 queries, so gnark's test engine checks it in seconds.
/// It is a test object (about 28 bits of security), never a proof anything relies on.
pub const SAMPLE_FRI: OuterFri = OuterFri { rate_bits: 3, num_query_rounds: 4, proof_of_work_bits: 16 };

/// Proves a small circuit in the outer configuration and writes its three JSON files into `dir`.
///
/// The circuit uses the gates where qp-plonky2 and gnark-plonky2-verifier could disagree
/// (arithmetic, Poseidon, random access and coset interpolation), so `zkpipe-wrap check` on
/// it shows the Go verifier follows qp-plonky2; returns the public inputs.
pub fn write_sample_outer(dir: &Path) -> Result<Vec<u64>> {
    write_sample_outer_with(dir, 100)
}

/// The sample circuit with its random-access list starting at `first_constant`: another
/// `first_constant` is another circuit (constants cap, digest) of the very same shape
/// (common data), which a circuit per shape must refuse unless its digest is the pinned one.
pub fn write_sample_outer_with(dir: &Path, first_constant: u64) -> Result<Vec<u64>> {
    use plonky2::field::types::Field;
    use plonky2::gates::coset_interpolation::CosetInterpolationGate;
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;

    let fail = |e: &dyn std::fmt::Display| Error::ProvingFailed(format!("sample outer proof: {e}"));
    let mut builder = CircuitBuilder::<F, D>::new(SAMPLE_FRI.config());
    let x = builder.add_virtual_target();
    let y = builder.add_virtual_target();
    let z = builder.mul_add(x, y, x);
    let h = builder.hash_n_to_hash_no_pad::<PoseidonHash>(vec![x, y, z]);
    let list: Vec<Target> = (0..16).map(|i| builder.constant(F::from_canonical_u64(first_constant + i))).collect();
    let index = builder.add_virtual_target();
    let picked = builder.random_access(index, list);
    // A coset interpolation gate (its wires set directly): 4 points, shift and evaluation point free.
    let row = builder.add_gate(CosetInterpolationGate::<F, D>::new(2), vec![]);
    builder.register_public_input(z);
    builder.register_public_inputs(&h.elements[..2]);
    builder.register_public_input(picked);
    // 2^10 rows, so FRI folds twice by 16 as in the real outer proof.
    while builder.num_gates() < 1 << 10 {
        builder.add_gate(plonky2::gates::noop::NoopGate, vec![]);
    }
    let data = builder.build::<outer::OuterC>();

    let mut pw = PartialWitness::new();
    let set = |pw: &mut PartialWitness<F>, t: Target, v: u64| pw.set_target(t, F::from_canonical_u64(v)).map_err(|e| fail(&e));
    set(&mut pw, x, 3)?;
    set(&mut pw, y, 5)?;
    set(&mut pw, index, 9)?;
    set(&mut pw, Target::wire(row, 0), 7)?; // the coset shift
    for w in 1..1 + 2 * 4 + 2 {
        // the four values and the evaluation point (extension elements, two wires each)
        set(&mut pw, Target::wire(row, w), 1000 + w as u64)?;
    }
    let proof = data.prove(pw).map_err(|e| fail(&e))?;
    data.verify(proof.clone()).map_err(|e| fail(&e))?;
    write_files(dir, &data, &proof)?;
    Ok(Outer::statement(&proof))
}

#[cfg(test)]
mod tests {
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

    use super::outer::{Outer, OuterFri};
    use crate::circuits::aggregate::Aggregation;
    use crate::circuits::statement::{Statement, STATEMENT_LEN};
    use crate::circuits::{prove_with_threads, C, D, F};

    /// A stand-in segment circuit: it proves whatever statement it is given.
    fn free_statement_circuit() -> (CircuitData<F, C, D>, Vec<Target>) {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let targets = builder.add_virtual_targets(STATEMENT_LEN);
        builder.register_public_inputs(&targets);
        (builder.build::<C>(), targets)
    }

    fn statement(step: u64) -> Statement {
        Statement::sample(step, 10)
    }

    /// The sample outer proof proves and verifies natively; with ZKPIPE_WRAP_SMALL_DIR set its
    /// JSON files are written there, to check them against the gnark verifier (`zkpipe-wrap check`).
    #[test]
    fn a_sample_outer_proof_verifies_and_exports() {
        let dir = std::env::var("ZKPIPE_WRAP_SMALL_DIR").unwrap_or_default();
        let dir = if dir.is_empty() { std::env::temp_dir().join(format!("zkpipe-wrap-sample-{}", std::process::id())) } else { dir.into() };
        let statement = super::write_sample_outer(&dir).unwrap();
        assert_eq!(statement.len(), 4);
        for name in [super::COMMON_FILE, super::VERIFIER_FILE, super::PROOF_FILE] {
            assert!(dir.join(name).is_file());
        }
        let common: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(super::COMMON_FILE)).unwrap()).unwrap();
        let gates = common["gates"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect::<Vec<_>>();
        for gate in ["CosetInterpolationGate", "RandomAccessGate", "PoseidonGate", "ArithmeticGate"] {
            assert!(gates.iter().any(|g| g.starts_with(gate)), "{gate} missing from {gates:?}");
        }
        if std::env::var("ZKPIPE_WRAP_SMALL_DIR").is_err() {
            std::fs::remove_dir_all(&dir).unwrap();
            return;
        }
        // Only when writing the fixtures (one more proof): another circuit of the same shape,
        // the same common data with another verifier key, for the Go circuit per shape's tests.
        let other = dir.with_file_name(format!("{}_other", dir.file_name().unwrap().to_string_lossy()));
        super::write_sample_outer_with(&other, 200).unwrap();
        let read = |d: &std::path::Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read(&dir, super::COMMON_FILE), read(&other, super::COMMON_FILE));
        assert_ne!(read(&dir, super::VERIFIER_FILE), read(&other, super::VERIFIER_FILE));
    }

    /// Slow (minutes): run with `cargo test --release -- --ignored`.
    #[test]
    #[ignore]
    fn an_aggregate_rewraps_into_a_bn254_outer_proof() {
        let (segment, targets) = free_statement_circuit();
        let agg = Aggregation::build(&segment).unwrap();
        let normalized = |s: &Statement| {
            let mut pw = PartialWitness::new();
            for (t, v) in targets.iter().zip(s.to_vec()) {
                pw.set_target(*t, crate::field::to_field(v).unwrap()).unwrap();
            }
            agg.normalizer.prove(&segment, &prove_with_threads(&segment, pw, 0).unwrap(), 0).unwrap()
        };
        let (a, b) = (normalized(&statement(0)), normalized(&statement(1)));
        let aggregate = agg.aggregator.prove(&agg.normalizer, (&a, false), (&b, false), 0).unwrap();

        let started = std::time::Instant::now();
        let outer = Outer::build(&agg.aggregator, OuterFri::DEFAULT);
        let built = started.elapsed();
        let proof = outer.prove(&agg.aggregator, &aggregate, 0).unwrap();
        eprintln!(
            "outer: degree_bits {} build {:?} prove {:?} proof bytes {}",
            outer.data.common.degree_bits(),
            built,
            started.elapsed() - built,
            proof.to_bytes().len()
        );
        let s = Statement::from_public_inputs(&Outer::statement(&proof)).unwrap();
        assert_eq!(s.root_before, statement(0).root_before);
        assert_eq!(s.root_after, statement(1).root_after);
        // A normalized segment proof is not an aggregate: the outer layer refuses it.
        assert!(outer.prove(&agg.aggregator, &a, 0).is_err());

        if let Ok(dir) = std::env::var("ZKPIPE_WRAP_FIXTURE_DIR") {
            super::write_files(std::path::Path::new(&dir), &outer.data, &proof).unwrap();
            // Outer proofs of chosen aggregate statements (a JSON list of 36-element lists), one
            // directory each: what the rollup contract's tests consolidate (tests/wrap/fixtures).
            if let Ok(path) = std::env::var("ZKPIPE_WRAP_FIXTURE_STATEMENTS") {
                let wanted: Vec<Vec<u64>> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                for (i, values) in wanted.iter().enumerate() {
                    let whole = Statement::from_public_inputs(values).unwrap();
                    let (left, right) = split_statement(&whole);
                    let aggregate = agg.aggregator.prove(&agg.normalizer, (&normalized(&left), false), (&normalized(&right), false), 0).unwrap();
                    let proof = outer.prove(&agg.aggregator, &aggregate, 0).unwrap();
                    assert_eq!(Outer::statement(&proof), *values);
                    super::write_files(&std::path::Path::new(&dir).join(i.to_string()), &outer.data, &proof).unwrap();
                }
            }
        }
    }

    /// Two statements that join into `whole`: the left one ends at `whole`'s ends plus one element-wise.
    fn split_statement(whole: &Statement) -> (Statement, Statement) {
        let mid = |d: [u64; 4]| d.map(|x| x + 1);
        let left = Statement {
            root_after: mid(whole.root_after),
            data_out: mid(whole.data_out),
            withdrawals_out: mid(whole.withdrawals_out),
            deposits_out: mid(whole.deposits_out),
            fee_total: 0,
            queue_out: whole.queue_in,
            ..*whole
        };
        let right = Statement {
            root_before: left.root_after,
            data_in: left.data_out,
            withdrawals_in: left.withdrawals_out,
            deposits_in: left.deposits_out,
            queue_in: whole.queue_in,
            ..*whole
        };
        (left, right)
    }
}
