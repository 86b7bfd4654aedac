//! The outer layer: one circuit, proven with Poseidon-BN254 Merkle trees, that verifies a final aggregate.
//!
//! It verifies the cyclic aggregator's proof against the aggregator's verifier key as
//! a constant (and checks that the key the proof carries in its public inputs is that
//! key, as `verify_cyclic` does), and exposes only the statement (36 elements today). Its own
//! verifier data is then a constant of the gnark circuit, so no other plonky2 circuit
//! of the same shape can pass.

use plonky2::field::types::PrimeField64;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use plonky2::iop::witness::WitnessWrite;

use super::poseidon_bn254::PoseidonBn254Config;
use crate::circuits::aggregate::Aggregator;
use crate::circuits::statement::STATEMENT_LEN;
use crate::circuits::{C, D, F};
use crate::{Error, Result};

/// The outer layer's configuration type.
pub type OuterC = PoseidonBn254Config;

/// FRI parameters of the outer proof: the gnark circuit's size follows the number of queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OuterFri {
    pub rate_bits: usize,
    pub num_query_rounds: usize,
    pub proof_of_work_bits: u32,
}

impl OuterFri {
    /// Rate 1/8, 28 queries and 16 bits of grinding: 3 * 28 + 16 = 100 bits of conjectured security.
    /// (A higher rate shrinks the gnark circuit but multiplies the outer prover's Merkle hashing
    /// over BN254, which dominates its time: rate 1/64 was over 15 min on this loaded machine.)
    pub const DEFAULT: Self = Self { rate_bits: 3, num_query_rounds: 28, proof_of_work_bits: 16 };

    /// Conjectured security bits (queries * rate bits + grinding).
    pub fn security_bits(&self) -> usize {
        self.rate_bits * self.num_query_rounds + self.proof_of_work_bits as usize
    }

    pub(crate) fn config(&self) -> CircuitConfig {
        // The gnark verifier range-checks the PoW witness to 64 − bits bits with a checker of
        // 16-bit limbs, which refuses (panics on) widths that are not a multiple of 16.
        assert!(self.proof_of_work_bits.is_multiple_of(16), "gnark needs proof-of-work bits that are a multiple of 16");
        let mut config = CircuitConfig::standard_recursion_config();
        config.fri_config.rate_bits = self.rate_bits;
        config.fri_config.num_query_rounds = self.num_query_rounds;
        config.fri_config.proof_of_work_bits = self.proof_of_work_bits;
        // The gnark verifier expects a cap of 16 digests.
        config.fri_config.cap_height = 4;
        config.security_bits = self.security_bits();
        config
    }
}

/// The outer circuit for one aggregator.
pub struct Outer {
    pub data: CircuitData<F, OuterC, D>,
    inner: ProofWithPublicInputsTarget<D>,
}

impl Outer {
    /// Builds the outer circuit around an aggregator (its verifier key becomes a constant).
    pub fn build(aggregator: &Aggregator, fri: OuterFri) -> Self {
        let common = &aggregator.data.common;
        let mut builder = CircuitBuilder::<F, D>::new(fri.config());
        let inner = builder.add_virtual_proof_with_pis(common);
        let vd = builder.constant_verifier_data(&aggregator.data.verifier_only);
        builder.verify_proof::<C>(&inner, &vd, common);
        // The key a cyclic proof carries must be the aggregator's own.
        let carried = &inner.public_inputs[STATEMENT_LEN..];
        let own = vd.circuit_digest.elements.iter().chain(vd.constants_sigmas_cap.0.iter().flat_map(|h| h.elements.iter()));
        for (&theirs, &ours) in carried.iter().zip(own) {
            builder.connect(theirs, ours);
        }
        assert_eq!(carried.len(), 4 + 4 * vd.constants_sigmas_cap.0.len(), "aggregate public inputs: statement then key");
        builder.register_public_inputs(&inner.public_inputs[..STATEMENT_LEN]);
        Self { data: builder.build::<OuterC>(), inner }
    }

    /// Re-proves a (verified) aggregate proof in the outer layer.
    pub fn prove(&self, aggregator: &Aggregator, aggregate_proof: &[u8], threads: usize) -> Result<ProofWithPublicInputs<F, OuterC, D>> {
        let proof = aggregator.check(aggregate_proof)?;
        let mut pw = PartialWitness::<F>::new();
        pw.set_proof_with_pis_target(&self.inner, &proof).map_err(|e| Error::ProvingFailed(e.to_string()))?;
        let run = || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.data.prove(pw)))
                .map_err(|_| Error::ProvingFailed("the outer prover panicked".into()))?
                .map_err(|e| Error::ProvingFailed(e.to_string()))
        };
        let outer = if threads == 0 {
            run()?
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::ProvingFailed(e.to_string()))?
                .install(run)?
        };
        self.data.verify(outer.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
        Ok(outer)
    }

    /// The statement an outer proof exposes, as canonical u64s.
    pub fn statement(proof: &ProofWithPublicInputs<F, OuterC, D>) -> Vec<u64> {
        proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect()
    }
}
