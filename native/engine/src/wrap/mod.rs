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

use outer::{Outer, OuterFri};

use crate::circuits::system::ProvingSystem;
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

/// Re-proves a final aggregate in the outer layer and writes the gnark verifier's three JSON files into `dir`.
pub fn wrap_aggregate(system: &ProvingSystem, aggregate: &[u8], dir: &Path, threads: usize) -> Result<Wrapped> {
    let (outer, build_seconds) = outer_circuit(system);
    let started = Instant::now();
    let proof = outer.prove(&system.aggregation.aggregator, aggregate, threads)?;
    let prove_seconds = started.elapsed().as_secs_f64();
    let io = |e: std::io::Error| Error::ProvingFailed(format!("cannot write the wrap files: {e}"));
    std::fs::create_dir_all(dir).map_err(io)?;
    let write = |name: &str, v: serde_json::Value| std::fs::write(dir.join(name), v.to_string()).map_err(io);
    write(COMMON_FILE, export::common_json(&outer.data.common))?;
    write(VERIFIER_FILE, export::verifier_only_json(&outer.data.verifier_only))?;
    write(PROOF_FILE, export::proof_json(&proof))?;
    Ok(Wrapped {
        build_seconds,
        prove_seconds,
        statement: Outer::statement(&proof),
        degree_bits: outer.data.common.degree_bits(),
        proof_bytes: proof.to_bytes().len(),
    })
}

#[cfg(test)]
mod tests {
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

    use super::export;
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
        let d = |x: u64| [x, x + 1, x + 2, x + 3];
        Statement {
            root_before: d(step * 100),
            root_after: d((step + 1) * 100),
            data_in: d(step * 100 + 10),
            data_out: d((step + 1) * 100 + 10),
            withdrawals_in: d(step * 100 + 20),
            withdrawals_out: d((step + 1) * 100 + 20),
            deposits_in: d(step * 100 + 30),
            deposits_out: d((step + 1) * 100 + 30),
            fee_total: step + 1,
            queue_in: step * 10,
            queue_out: (step + 1) * 10,
            chain_id: 7,
        }
    }

    /// Small circuits prove and verify in the outer configuration; with ZKPIPE_WRAP_SMALL_DIR set
    /// their JSON files are written there, to check them against the gnark verifier one by one.
    #[test]
    fn small_outer_circuits_export() {
        use plonky2::field::types::Field;
        use plonky2::hash::poseidon::PoseidonHash;
        use plonky2::plonk::circuit_data::CircuitConfig;
        let dir = std::env::var("ZKPIPE_WRAP_SMALL_DIR").ok();
        for with_poseidon in [false, true] {
            let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let x = builder.add_virtual_target();
            let y = builder.add_virtual_target();
            let z = builder.mul_add(x, y, x);
            builder.register_public_input(x);
            builder.register_public_input(z);
            if with_poseidon {
                let h = builder.hash_n_to_hash_no_pad::<PoseidonHash>(vec![x, y, z]);
                builder.register_public_inputs(&h.elements);
            }
            while builder.num_gates() < 1 << 10 {
                builder.add_gate(plonky2::gates::noop::NoopGate, vec![]);
            }
            let data = builder.build::<super::outer::OuterC>();
            let mut pw = PartialWitness::new();
            pw.set_target(x, F::from_canonical_u64(3)).unwrap();
            pw.set_target(y, F::from_canonical_u64(5)).unwrap();
            let proof = data.prove(pw).unwrap();
            data.verify(proof.clone()).unwrap();
            let Some(dir) = &dir else { continue };
            let sub = std::path::Path::new(dir).join(if with_poseidon { "poseidon" } else { "arith" });
            std::fs::create_dir_all(&sub).unwrap();
            let write = |name: &str, v: serde_json::Value| std::fs::write(sub.join(name), v.to_string()).unwrap();
            write(super::COMMON_FILE, export::common_json(&data.common));
            write(super::VERIFIER_FILE, export::verifier_only_json(&data.verifier_only));
            write(super::PROOF_FILE, export::proof_json(&proof));
        }
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
            let dir = std::path::Path::new(&dir);
            std::fs::create_dir_all(dir).unwrap();
            let write = |name: &str, v: serde_json::Value| std::fs::write(dir.join(name), v.to_string()).unwrap();
            write("common_circuit_data.json", export::common_json(&outer.data.common));
            write("verifier_only_circuit_data.json", export::verifier_only_json(&outer.data.verifier_only));
            write("proof_with_public_inputs.json", export::proof_json(&proof));
        }
    }
}
