//! Merkle membership: "the leaf at `index` is in the tree with root `root`", and a proof of that proof.
//!
//! Public inputs of both circuits: root (4), leaf (4), index (1).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::proof::ProofWithPublicInputsTarget;

use super::{parse_proof, prove_with_threads, verify_bytes, C, D, F};
use crate::field::to_field;
use crate::hash::{to_hash_out, Digest};
use crate::{Error, Result};

/// The membership circuit for one depth, with its witness targets.
pub struct MembershipCircuit {
    pub data: CircuitData<F, C, D>,
    leaf: HashOutTarget,
    index: Target,
    siblings: Vec<HashOutTarget>,
    root: HashOutTarget,
}

/// The one-level recursive wrapper that verifies a membership proof in-circuit.
pub struct WrapperCircuit {
    pub data: CircuitData<F, C, D>,
    inner: ProofWithPublicInputsTarget<D>,
}

impl MembershipCircuit {
    /// Builds the circuit for trees of `depth` levels.
    pub fn build(depth: usize) -> Result<Self> {
        if !(1..=32).contains(&depth) {
            return Err(Error::BadDepth(depth as u32));
        }
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let root = builder.add_virtual_hash();
        let leaf = builder.add_virtual_hash();
        let index = builder.add_virtual_target();
        let siblings: Vec<HashOutTarget> = (0..depth).map(|_| builder.add_virtual_hash()).collect();
        // Verify: the index fits in `depth` bits, and each bit picks the side of the path.
        let bits: Vec<BoolTarget> = builder.split_le(index, depth);
        let mut node = leaf;
        for (bit, sibling) in bits.iter().zip(&siblings) {
            let left: Vec<Target> =
                (0..4).map(|i| builder.select(*bit, sibling.elements[i], node.elements[i])).collect();
            let right: Vec<Target> =
                (0..4).map(|i| builder.select(*bit, node.elements[i], sibling.elements[i])).collect();
            node = builder.hash_n_to_hash_no_pad::<PoseidonHash>([left, right].concat());
        }
        builder.connect_hashes(node, root);
        builder.register_public_inputs(&root.elements);
        builder.register_public_inputs(&leaf.elements);
        builder.register_public_input(index);
        Ok(Self { data: builder.build::<C>(), leaf, index, siblings, root })
    }

    /// Proves membership; fails if the path does not lead to `root`.
    pub fn prove(&self, root: &Digest, index: u64, leaf: &Digest, siblings: &[Digest], threads: usize) -> Result<Vec<u8>> {
        if siblings.len() != self.siblings.len() {
            return Err(Error::WrongLength { expected: self.siblings.len(), got: siblings.len() });
        }
        let mut pw = PartialWitness::new();
        let set = |pw: &mut PartialWitness<F>, t: HashOutTarget, d: &Digest| -> Result<()> {
            pw.set_hash_target(t, to_hash_out(d)?).map_err(|e| Error::ProvingFailed(e.to_string()))
        };
        set(&mut pw, self.root, root)?;
        set(&mut pw, self.leaf, leaf)?;
        pw.set_target(self.index, to_field(index)?).map_err(|e| Error::ProvingFailed(e.to_string()))?;
        for (t, d) in self.siblings.iter().zip(siblings) {
            set(&mut pw, *t, d)?;
        }
        prove_with_threads(&self.data, pw, threads)
    }

    /// Verifies a membership proof; returns root, leaf and index.
    pub fn verify(&self, proof: &[u8]) -> Result<Vec<u64>> {
        verify_bytes(&self.data, proof)
    }
}

impl WrapperCircuit {
    /// Builds a circuit that verifies one proof of `inner` and re-exposes its public inputs.
    pub fn build(inner: &MembershipCircuit) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let proof = builder.add_virtual_proof_with_pis(&inner.data.common);
        // The inner verifier key is a constant of this circuit: no other circuit's proof is accepted.
        let vk = builder.constant_verifier_data(&inner.data.verifier_only);
        builder.verify_proof::<C>(&proof, &vk, &inner.data.common);
        builder.register_public_inputs(&proof.public_inputs);
        Self { data: builder.build::<C>(), inner: proof }
    }

    /// Proves that `inner_proof` is a valid membership proof.
    pub fn prove(&self, inner: &MembershipCircuit, inner_proof: &[u8], threads: usize) -> Result<Vec<u8>> {
        let parsed = parse_proof(inner_proof, &inner.data.common)?;
        inner.data.verify(parsed.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.inner, &parsed).map_err(|e| Error::ProvingFailed(e.to_string()))?;
        prove_with_threads(&self.data, pw, threads)
    }

    /// Verifies a wrapped proof; returns the inner public inputs.
    pub fn verify(&self, proof: &[u8]) -> Result<Vec<u64>> {
        verify_bytes(&self.data, proof)
    }
}

/// Both circuits for one depth, built once per process.
pub struct MembershipCircuits {
    pub membership: MembershipCircuit,
    pub wrapper: WrapperCircuit,
}

/// The circuits for `depth`, built on first use and then shared.
pub fn circuits(depth: usize) -> Result<Arc<MembershipCircuits>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<MembershipCircuits>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().expect("cache lock").get(&depth) {
        return Ok(found.clone());
    }
    let membership = MembershipCircuit::build(depth)?;
    let wrapper = WrapperCircuit::build(&membership);
    let built = Arc::new(MembershipCircuits { membership, wrapper });
    cache.lock().expect("cache lock").insert(depth, built.clone());
    Ok(built)
}
