//! A standalone signature circuit: proves that each of `n` (public key, message, signature)
//! tuples is a valid ECgFp5 Schnorr signature, exactly as [`crate::sig::verify`] accepts it.
//!
//! Public inputs, per signature: the key (five elements), the message digest (four) and the
//! signature as twenty u32 limbs (s then e), the form the data chain absorbs.

use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::ecgfp5::{verify_signature, Backend, Fp5Target};
use super::{prove_with_threads, verify_bytes, C, D, F};
use crate::hash::Digest;
use crate::sig::{ELEMENT_BYTES, SIGNATURE_BYTES};
use crate::{Error, Result};

/// Public inputs per signature.
pub const INPUTS_PER_SIGNATURE: usize = 5 + 4 + 20;

/// One signature's targets.
#[derive(Clone, Copy, Debug)]
pub struct SignatureTargets {
    pub key: Fp5Target,
    pub message: [Target; 4],
    pub signature: [Target; 20],
}

impl SignatureTargets {
    /// New public targets, constrained to a valid signature.
    pub fn define(builder: &mut CircuitBuilder<F, D>, backend: Backend) -> Self {
        let key = core::array::from_fn(|_| builder.add_virtual_public_input());
        let message = core::array::from_fn(|_| builder.add_virtual_public_input());
        let signature = core::array::from_fn(|_| builder.add_virtual_public_input());
        verify_signature(builder, backend, key, message, &signature);
        Self { key, message, signature }
    }

    /// Assigns one tuple; keys and signatures of the wrong length or with a non-canonical key
    /// element are refused here (the circuit cannot even represent them).
    pub fn set(&self, pw: &mut PartialWitness<F>, key: &[u8], message: &Digest, signature: &[u8]) -> Result<()> {
        if key.len() != ELEMENT_BYTES {
            return Err(Error::InvalidPublicKey("must be 40 bytes"));
        }
        if signature.len() != SIGNATURE_BYTES {
            return Err(Error::MalformedSignature("must be 80 bytes"));
        }
        let set = |pw: &mut PartialWitness<F>, t: Target, v: u64| -> Result<()> {
            pw.set_target(t, crate::field::to_field(v)?).map_err(|e| Error::ProvingFailed(e.to_string()))
        };
        for (t, chunk) in self.key.iter().zip(key.chunks(8)) {
            set(pw, *t, u64::from_le_bytes(chunk.try_into().expect("8 bytes")))
                .map_err(|_| Error::InvalidPublicKey("non-canonical field element"))?;
        }
        for (t, &m) in self.message.iter().zip(message) {
            set(pw, *t, m)?;
        }
        for (t, chunk) in self.signature.iter().zip(signature.chunks(4)) {
            set(pw, *t, u64::from(u32::from_le_bytes(chunk.try_into().expect("4 bytes"))))?;
        }
        Ok(())
    }
}

/// The circuit for `n` signatures.
pub struct SignatureCircuit {
    pub data: CircuitData<F, C, D>,
    pub targets: Vec<SignatureTargets>,
    /// Rows placed before padding to a power of two.
    pub rows: usize,
}

impl SignatureCircuit {
    pub fn build(n: usize, backend: Backend) -> Self {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let targets = (0..n).map(|_| SignatureTargets::define(&mut builder, backend)).collect();
        let rows = builder.num_gates();
        Self { data: builder.build::<C>(), targets, rows }
    }

    /// Proves that every tuple verifies; fails (`ProvingFailed`) when one does not.
    pub fn prove(&self, items: &[(Vec<u8>, Digest, Vec<u8>)], threads: usize) -> Result<Vec<u8>> {
        if items.len() != self.targets.len() {
            return Err(Error::WrongLength { expected: self.targets.len(), got: items.len() });
        }
        let mut pw = PartialWitness::new();
        for (t, (key, message, signature)) in self.targets.iter().zip(items) {
            t.set(&mut pw, key, message, signature)?;
        }
        prove_with_threads(&self.data, pw, threads)
    }

    /// Verifies a proof and returns its public inputs.
    pub fn verify(&self, proof: &[u8]) -> Result<Vec<u64>> {
        verify_bytes(&self.data, proof)
    }
}

/// Rows one more signature adds to a circuit (gates placed by the gadget, before padding).
pub fn rows_per_signature(backend: Backend) -> usize {
    let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    SignatureTargets::define(&mut builder, backend);
    let before = builder.num_gates();
    SignatureTargets::define(&mut builder, backend);
    builder.num_gates() - before
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::proof::ProofWithPublicInputs;

    use super::*;
    use crate::circuits::ecgfp5::challenge_from_limbs;
    use crate::sig::tests::neutral_r_signature;
    use crate::sig::{keygen, order, sign, verify};

    fn item(seed: u8, message: Digest) -> (Vec<u8>, Vec<u8>, Digest, Vec<u8>) {
        let (sk, pk) = keygen(Some(&[seed; 32])).unwrap();
        let sig = sign(&sk, &message).unwrap();
        (sk.to_vec(), pk.to_vec(), message, sig.to_vec())
    }

    /// A key that is not a curve point (canonical, non-zero).
    fn not_a_point() -> Vec<u8> {
        (1u64..)
            .map(|i| {
                let mut key = vec![0u8; 40];
                key[..8].copy_from_slice(&i.to_le_bytes());
                key
            })
            .find(|k| crate::sig::validate_public_key(k).is_err())
            .unwrap()
    }

    #[test]
    fn proves_exactly_what_the_native_verifier_accepts() {
        let circuit = SignatureCircuit::build(1, Backend::EcGate);
        let (sk, pk, m, sig) = item(1, [11, 12, 13, 14]);
        let proof = circuit.prove(&[(pk.clone(), m, sig.clone())], 1).unwrap();
        let inputs = circuit.verify(&proof).unwrap();
        assert_eq!(inputs.len(), INPUTS_PER_SIGNATURE);
        assert_eq!(&inputs[5..9], &m);

        let (_, other_pk, _, _) = item(2, m);
        let mut flipped = sig.clone();
        flipped[3] ^= 0x10;
        let mut e_flipped = sig.clone();
        e_flipped[45] ^= 1;
        // s + n: the same point s·G, refused only because s is not canonical.
        let mut s_plus_n = sig.clone();
        let mut bytes = (BigUint::from_bytes_le(&sig[..40]) + order()).to_bytes_le();
        bytes.resize(40, 0);
        s_plus_n[..40].copy_from_slice(&bytes);
        let mut other_m = m;
        other_m[2] += 1;
        let neutral_r = neutral_r_signature(&sk, &pk, &m).to_vec();
        let cases: Vec<(&str, Vec<u8>, Digest, Vec<u8>)> = vec![
            ("another key", other_pk, m, sig.clone()),
            ("another message", pk.clone(), other_m, sig.clone()),
            ("a flipped bit of s", pk.clone(), m, flipped),
            ("a flipped bit of e", pk.clone(), m, e_flipped),
            ("s + n", pk.clone(), m, s_plus_n),
            ("a key that is not a point", not_a_point(), m, sig.clone()),
            ("the neutral key", vec![0; 40], m, sig.clone()),
            ("a neutral R", pk.clone(), m, neutral_r),
        ];
        for (name, key, message, signature) in cases {
            assert!(!verify(&key, &message, &signature).unwrap_or(false), "{name}: native verify must refuse");
            assert!(circuit.prove(&[(key, message, signature)], 1).is_err(), "{name}: was proven");
        }
    }

    #[test]
    fn a_non_canonical_challenge_element_is_refused() {
        // Limbs of p + 1 (lo = 2, hi = 2^32 - 1) would read as the element 1 but the bits of p + 1.
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let limbs: [Target; 10] = core::array::from_fn(|_| builder.add_virtual_target());
        let (elements, _) = challenge_from_limbs(&mut builder, &limbs);
        builder.register_public_inputs(&elements);
        let data = builder.build::<C>();
        let prove = |lo: u64, hi: u64| {
            let mut pw = PartialWitness::new();
            for (i, &t) in limbs.iter().enumerate() {
                let v = match i {
                    0 => lo,
                    1 => hi,
                    _ => 0,
                };
                pw.set_target(t, crate::field::to_field(v).unwrap()).unwrap();
            }
            prove_with_threads(&data, pw, 1)
        };
        assert!(prove(1, 0).is_ok());
        assert!(prove(0, 0xffff_ffff).is_ok(), "2^64 - 2^32 = p - 1 is canonical");
        assert!(prove(2, 0xffff_ffff).is_err(), "p + 1 was accepted");
    }

    #[test]
    fn the_product_gadgets_prove_too_and_the_gates_work_in_recursion() {
        let (_, pk, m, sig) = item(4, [1, 2, 3, 4]);
        let inner = SignatureCircuit::build(1, Backend::Fp5Gate);
        let proof = inner.prove(&[(pk.clone(), m, sig.clone())], 0).unwrap();
        inner.verify(&proof).unwrap();

        let inner = SignatureCircuit::build(1, Backend::EcGate);
        let proof = inner.prove(&[(pk, m, sig)], 0).unwrap();
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let target = builder.add_virtual_proof_with_pis(&inner.data.common);
        let vd = builder.constant_verifier_data(&inner.data.verifier_only);
        builder.verify_proof::<C>(&target, &vd, &inner.data.common);
        let outer = builder.build::<C>();
        let mut pw = PartialWitness::new();
        let parsed = ProofWithPublicInputs::<F, C, D>::from_bytes(proof, &inner.data.common).unwrap();
        pw.set_proof_with_pis_target(&target, &parsed).unwrap();
        let outer_proof = prove_with_threads(&outer, pw, 0).unwrap();
        verify_bytes(&outer, &outer_proof).unwrap();
    }

    #[test]
    fn a_signature_costs_at_most_1500_rows_with_the_gates() {
        let rows = rows_per_signature(Backend::EcGate);
        assert!(rows <= 1500, "{rows} rows");
        assert!(rows < rows_per_signature(Backend::Fp5Gate));
    }
}
