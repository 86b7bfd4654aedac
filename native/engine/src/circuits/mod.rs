//! Circuits built with plonky2: shared configuration and proving helpers.
//!
//! Only the Merkle-membership circuit and its recursive wrapper exist so far;
//! they retire the proving-library risk (real proofs, real recursion) before
//! the segment and aggregation circuits arrive.

pub mod aggregate;
pub mod auth;
pub mod datachain;
pub mod datahash;
pub mod ecgfp5;
pub mod gadgets;
pub mod gates;
pub mod join;
pub mod membership;
pub mod plain_hash;
pub mod segment;
pub mod serialize;
pub mod sha256;
pub mod statement;
pub mod system;

use plonky2::plonk::circuit_data::{CircuitData, CommonCircuitData};
use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::iop::witness::PartialWitness;

use crate::field::to_u64;
use crate::{Error, Result};

/// Extension degree used throughout.
pub const D: usize = 2;
/// Poseidon-hashed configuration: cheap to verify recursively.
pub type C = PoseidonGoldilocksConfig;
/// The base field.
pub type F = <C as GenericConfig<D>>::F;

/// Proves with a dedicated pool of `threads` threads (0 = rayon's default).
///
/// An unsatisfiable witness makes plonky2 either return an error or panic inside a
/// witness generator; both become `ProvingFailed`, so bad input never aborts the caller.
pub fn prove_with_threads(data: &CircuitData<F, C, D>, witness: PartialWitness<F>, threads: usize) -> Result<Vec<u8>> {
    let run = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| data.prove(witness)))
            .map_err(|panic| Error::ProvingFailed(panic_message(&panic)))?
            .map_err(|e| Error::ProvingFailed(e.to_string()))
    };
    let proof = if threads == 0 {
        run()?
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::ProvingFailed(e.to_string()))?;
        pool.install(run)?
    };
    Ok(proof.to_bytes())
}

/// Parses proof bytes against a circuit's common data.
pub fn parse_proof(bytes: &[u8], common: &CommonCircuitData<F, D>) -> Result<ProofWithPublicInputs<F, C, D>> {
    ProofWithPublicInputs::from_bytes(bytes.to_vec(), common).map_err(|e| Error::InvalidProof(format!("cannot parse: {e}")))
}

/// Verifies proof bytes and returns the public inputs as canonical u64s.
pub fn verify_bytes(data: &CircuitData<F, C, D>, bytes: &[u8]) -> Result<Vec<u64>> {
    let proof = parse_proof(bytes, &data.common)?;
    let inputs = proof.public_inputs.iter().copied().map(to_u64).collect();
    data.verify(proof).map_err(|e| Error::InvalidProof(e.to_string()))?;
    Ok(inputs)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the prover panicked".to_owned())
}
