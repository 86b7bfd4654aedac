//! The data-commitment proof: a batch's public-data bytes hash to the SHA-256 value the L1
//! contract chains, and to a Poseidon commitment the other proofs can be checked against.
//!
//! One circuit per capacity (`blocks` SHA-256 blocks, so up to `64·blocks - 9` bytes). Witness:
//! the length `L` and the padded message as big-endian words. Per byte a flag says "before
//! `L`"; the flags are monotone and sum to `L`, so the circuit knows, without comparisons, where
//! the 0x80 byte, the zeros and the bit length must be and which block is the last one; the
//! digest is the chaining value after that block.
//!
//! Public inputs: `L`, the digest as eight big-endian u32 words (the 32 bytes the contract sees),
//! and the Poseidon commitment (four elements):
//!
//! ```text
//! c₀ = [L, 0, 0, 0];  c_{b+1} = Poseidon(c_b ‖ elements of block b)  for each block b the
//! padded message uses;  commitment = c_m
//! ```
//!
//! where a block's 64 data bytes (zero past `L`) are packed `bytes_per_element` (1, 2 or 4) to
//! an element, big-endian. The packing is a parameter until the spec fixes one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::sha256::{compress, iv, padded_words, word_bytes};
use super::{prove_with_threads, verify_bytes, C, D, F};
use crate::{hash, Error, Result};

/// Public inputs: length, eight digest words, four commitment elements.
pub const PUBLIC_INPUTS: usize = 1 + 8 + 4;

/// What a data-commitment proof shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataHashStatement {
    pub length: u64,
    pub sha256: [u8; 32],
    pub commitment: [u64; 4],
}

/// The circuit for one capacity and packing.
pub struct DataHashCircuit {
    pub data: CircuitData<F, C, D>,
    pub blocks: usize,
    pub bytes_per_element: usize,
    /// Gates the circuit places (before plonky2 rounds up to a power of two).
    pub rows: usize,
    inputs: DataHashTargets,
}

/// The witness targets of a data circuit.
pub struct DataHashTargets {
    pub length: Target,
    pub words: Vec<Target>,
    /// `before[i]` is `i < length`.
    pub before: Vec<BoolTarget>,
}

fn check_packing(bytes_per_element: usize) -> Result<()> {
    if matches!(bytes_per_element, 1 | 2 | 4) {
        Ok(())
    } else {
        Err(Error::BadParameter(format!("bytes per element must be 1, 2 or 4, not {bytes_per_element}")))
    }
}

/// The largest length a circuit of `blocks` blocks hashes.
pub fn capacity(blocks: usize) -> usize {
    (64 * blocks).saturating_sub(9)
}

/// The Poseidon commitment of `data`, computed natively (what the circuit exposes).
pub fn commitment(data: &[u8], bytes_per_element: usize) -> Result<[u64; 4]> {
    check_packing(bytes_per_element)?;
    let blocks = (data.len() + 9).div_ceil(64);
    let mut padded = data.to_vec();
    padded.resize(64 * blocks, 0);
    let mut c = [data.len() as u64, 0, 0, 0];
    for block in padded.chunks(64) {
        let mut inputs = c.to_vec();
        inputs.extend(block.chunks(bytes_per_element).map(|e| e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))));
        c = hash::hash(&inputs)?;
    }
    Ok(c)
}

impl DataHashCircuit {
    /// Builds the circuit for `blocks` SHA-256 blocks, packing `bytes_per_element` bytes.
    pub fn build(blocks: usize, bytes_per_element: usize) -> Result<Self> {
        check_packing(bytes_per_element)?;
        if blocks == 0 {
            return Err(Error::BadParameter("a data circuit needs at least one block".into()));
        }
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs = Self::define(&mut builder, blocks, bytes_per_element);
        let rows = builder.num_gates();
        Ok(Self { data: builder.build::<C>(), blocks, bytes_per_element, rows, inputs })
    }

    /// Adds the circuit to `builder`; returns its witness targets.
    pub fn define(builder: &mut CircuitBuilder<F, D>, blocks: usize, bytes_per_element: usize) -> DataHashTargets {
        let n = 64 * blocks;
        let length = builder.add_virtual_target();
        let words = builder.add_virtual_targets(16 * blocks);
        let bytes: Vec<Target> = word_bytes(builder, &words).into_iter().flatten().collect();
        // before[i] = (i < L): boolean, monotone, summing to L, and L ≤ 64·blocks - 9.
        let before: Vec<BoolTarget> = (0..n).map(|_| builder.add_virtual_bool_target_safe()).collect();
        for pair in before.windows(2) {
            let both = builder.mul(pair[0].target, pair[1].target);
            builder.connect(both, pair[1].target);
        }
        let count = builder.add_many(before.iter().map(|b| b.target));
        builder.connect(count, length);
        let zero = builder.zero();
        let one = builder.one();
        builder.connect(before[capacity(blocks)].target, zero);
        let flag = |i: isize| if i < 0 { one } else { before[i as usize].target };
        // last[b]: the padded message ends in block b, i.e. 64b - 9 < L ≤ 64b + 55.
        let last: Vec<Target> = (0..blocks as isize).map(|b| builder.sub(flag(64 * b - 9), flag(64 * b + 55))).collect();
        let bit_length = builder.mul_const(F::from_canonical_u64(8), length);
        let length_bytes = word_bytes(builder, &[bit_length])[0];
        // Past L each byte is padding: 0x80 at L, the bit length at the end of the last block, else 0.
        let mut data = Vec::with_capacity(n);
        for (i, &byte) in bytes.iter().enumerate() {
            let (b, offset) = (i / 64, i % 64);
            let at_length = builder.sub(flag(i as isize - 1), before[i].target);
            let mut rest = builder.mul_const_add(-F::from_canonical_u64(0x80), at_length, byte);
            if offset >= 60 {
                let expected = builder.mul(last[b], length_bytes[offset - 60]);
                rest = builder.sub(rest, expected);
            }
            let outside = builder.arithmetic(-F::ONE, F::ONE, before[i].target, rest, rest);
            builder.connect(outside, zero);
            data.push(builder.mul(before[i].target, byte));
        }
        // The SHA-256 chain and the Poseidon chain, one step per block; keep the last block's.
        let mut state = iv(builder);
        let mut chain = vec![length, zero, zero, zero];
        let mut digest = [zero; 8];
        let mut commitment = [zero; 4];
        for b in 0..blocks {
            state = compress(builder, &state, words[16 * b..16 * (b + 1)].try_into().unwrap_or_else(|_| unreachable!()));
            let mut inputs = chain.clone();
            for element in data[64 * b..64 * (b + 1)].chunks(bytes_per_element) {
                let packed = element[1..].iter().fold(element[0], |acc, &x| builder.mul_const_add(F::from_canonical_u64(256), acc, x));
                inputs.push(packed);
            }
            let next: HashOutTarget = builder.hash_n_to_hash_no_pad::<PoseidonHash>(inputs);
            chain = next.elements.to_vec();
            for (d, &s) in digest.iter_mut().zip(&state) {
                *d = builder.mul_add(last[b], s, *d);
            }
            for (c, &s) in commitment.iter_mut().zip(&chain) {
                *c = builder.mul_add(last[b], s, *c);
            }
        }
        builder.register_public_input(length);
        builder.register_public_inputs(&digest);
        builder.register_public_inputs(&commitment);
        DataHashTargets { length, words, before }
    }

    /// Proves the statement for `data`.
    pub fn prove(&self, data: &[u8], threads: usize) -> Result<Vec<u8>> {
        if data.len() > capacity(self.blocks) {
            return Err(Error::WrongLength { expected: capacity(self.blocks), got: data.len() });
        }
        let before: Vec<bool> = (0..64 * self.blocks).map(|i| i < data.len()).collect();
        self.prove_padded(data.len() as u64, &padded_words(data), &before, threads)
    }

    /// Proves with a given length, message words (zero-extended to the capacity) and byte flags.
    fn prove_padded(&self, length: u64, message: &[u32], before: &[bool], threads: usize) -> Result<Vec<u8>> {
        let mut words = message.to_vec();
        words.resize(16 * self.blocks, 0);
        let mut pw = PartialWitness::new();
        let set = |pw: &mut PartialWitness<F>, t: Target, v: u64| pw.set_target(t, F::from_canonical_u64(v)).map_err(|e| Error::ProvingFailed(e.to_string()));
        set(&mut pw, self.inputs.length, length)?;
        for (&t, &v) in self.inputs.words.iter().zip(&words) {
            set(&mut pw, t, u64::from(v))?;
        }
        for (b, &value) in self.inputs.before.iter().zip(before) {
            set(&mut pw, b.target, u64::from(value))?;
        }
        prove_with_threads(&self.data, pw, threads)
    }

    /// Verifies a proof and returns its statement.
    pub fn verify(&self, proof: &[u8]) -> Result<DataHashStatement> {
        statement(&verify_bytes(&self.data, proof)?)
    }
}

/// The circuit for `blocks` and `bytes_per_element`, built once per process.
pub fn circuit(blocks: usize, bytes_per_element: usize) -> Result<Arc<DataHashCircuit>> {
    type Built = Mutex<HashMap<(usize, usize), Arc<DataHashCircuit>>>;
    static BUILT: OnceLock<Built> = OnceLock::new();
    let key = (blocks, bytes_per_element);
    if let Some(found) = BUILT.get_or_init(Default::default).lock().map_err(|_| poisoned())?.get(&key) {
        return Ok(Arc::clone(found));
    }
    // Built outside the lock: another thread may build the same one, and the first insert wins.
    let built = Arc::new(DataHashCircuit::build(blocks, bytes_per_element)?);
    let mut map = BUILT.get_or_init(Default::default).lock().map_err(|_| poisoned())?;
    Ok(Arc::clone(map.entry(key).or_insert(built)))
}

fn poisoned() -> Error {
    Error::ProvingFailed("the data circuit cache lock is poisoned".into())
}

/// Reads a statement from a proof's public inputs.
pub fn statement(inputs: &[u64]) -> Result<DataHashStatement> {
    if inputs.len() != PUBLIC_INPUTS {
        return Err(Error::WrongLength { expected: PUBLIC_INPUTS, got: inputs.len() });
    }
    let mut sha256 = [0u8; 32];
    for (chunk, &word) in sha256.chunks_mut(4).zip(&inputs[1..9]) {
        chunk.copy_from_slice(&(word as u32).to_be_bytes());
    }
    Ok(DataHashStatement { length: inputs[0], sha256, commitment: core::array::from_fn(|i| inputs[9 + i]) })
}

#[cfg(test)]
mod tests {
    use plonky2::plonk::circuit_data::CircuitConfig;
    use sha2::Digest;

    use super::*;

    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn digests_and_commitments_match_sha2_at_every_padding_edge() {
        let circuit = DataHashCircuit::build(3, 4).unwrap();
        let mut lengths = vec![0usize, 1, 55, 56, 63, 64, 119, 120, capacity(3)];
        lengths.extend((0..3).map(|i| (sample(1, 100 + i)[0] as usize * 7) % (capacity(3) + 1)));
        for (i, &len) in lengths.iter().enumerate() {
            let data = sample(len, i as u64);
            let s = circuit.verify(&circuit.prove(&data, 0).unwrap()).unwrap();
            assert_eq!(s.length, len as u64);
            assert_eq!(s.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&data)), "length {len}");
            assert_eq!(s.commitment, commitment(&data, 4).unwrap(), "length {len}");
        }
        assert!(matches!(circuit.prove(&sample(capacity(3) + 1, 0), 0), Err(Error::WrongLength { .. })));
    }

    #[test]
    fn commitment_depends_on_packing_and_every_byte() {
        let data = sample(70, 1);
        let mut other = data.clone();
        other[69] ^= 1;
        assert_ne!(commitment(&data, 4).unwrap(), commitment(&other, 4).unwrap());
        assert_ne!(commitment(&data, 4).unwrap(), commitment(&data, 2).unwrap());
        // Trailing zero bytes are data too: the length is committed.
        assert_ne!(commitment(&data, 4).unwrap(), commitment(&[data.clone(), vec![0]].concat(), 4).unwrap());
        let circuit = DataHashCircuit::build(2, 1).unwrap();
        assert_eq!(circuit.verify(&circuit.prove(&data, 0).unwrap()).unwrap().commitment, commitment(&data, 1).unwrap());
    }

    #[test]
    fn a_message_that_is_not_the_padding_of_its_length_is_refused() {
        let circuit = DataHashCircuit::build(2, 4).unwrap();
        let mut data = sample(60, 7); // 60 bytes: the padding spills into a second block
        data[10] = 0x80;
        let honest = padded_words(&data);
        let flags = |length: usize| -> Vec<bool> { (0..128).map(|i| i < length).collect() };
        assert!(circuit.prove_padded(60, &honest, &flags(60), 0).is_ok());
        // Flags with a hole at the 0x80 data byte and one more on the last length byte: every
        // padding check still holds and the count is L, but the committed data would lose byte
        // 10 and gain byte 127. Only monotonicity refuses it.
        let mut holed = flags(60);
        holed[10] = false;
        holed[127] = true;
        assert!(circuit.prove_padded(60, &honest, &holed, 0).is_err(), "non-monotone flags were accepted");
        let mut cases: Vec<(&str, u64, Vec<u32>)> = Vec::new();
        let mut w = honest.clone();
        w[15] ^= 0x80 << 24; // the 0x80 byte missing
        cases.push(("no 0x80", 60, w));
        let mut w = honest.clone();
        w[20] = 1; // a non-zero byte between the 0x80 and the length
        cases.push(("garbage in padding", 60, w));
        let mut w = honest.clone();
        w[31] += 8; // the bit length of 61 bytes
        cases.push(("wrong bit length", 60, w));
        cases.push(("length claimed shorter", 59, honest.clone()));
        cases.push(("length claimed longer", 61, honest.clone()));
        let mut w = honest.clone();
        w.truncate(16);
        w[14] = 0;
        w[15] = 480;
        cases.push(("length field in the wrong block", 60, w));
        for (name, length, words) in cases {
            assert!(circuit.prove_padded(length, &words, &flags(length as usize), 0).is_err(), "{name} was accepted");
        }
    }

    #[test]
    fn a_data_proof_verifies_inside_the_recursive_verifier() {
        let inner = DataHashCircuit::build(1, 4).unwrap();
        let data = sample(16, 3);
        let proof = crate::circuits::parse_proof(&inner.prove(&data, 0).unwrap(), &inner.data.common).unwrap();
        // As the normalizer does: the inner verifier key is a constant, the statement re-exposed.
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let target = builder.add_virtual_proof_with_pis(&inner.data.common);
        let vd = builder.constant_verifier_data(&inner.data.verifier_only);
        builder.verify_proof::<C>(&target, &vd, &inner.data.common);
        builder.register_public_inputs(&target.public_inputs);
        let outer = builder.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&target, &proof).unwrap();
        let outer_proof = prove_with_threads(&outer, pw, 0).unwrap();
        let s = statement(&verify_bytes(&outer, &outer_proof).unwrap()).unwrap();
        assert_eq!(s.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&data)));
        // A proof with a tampered public input is refused by the recursive verifier.
        let mut forged = proof.clone();
        forged.public_inputs[1] += F::ONE;
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&target, &forged).unwrap();
        assert!(prove_with_threads(&outer, pw, 0).is_err());
    }
}
