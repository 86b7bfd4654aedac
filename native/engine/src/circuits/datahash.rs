//! The data-commitment proof: a batch's posted bytes hash to the SHA-256 value the L1 contract
//! chains, and to the data chain the segments expose (ADR 27); it computes L1's accumulated input
//! hash from them.
//!
//! One circuit per capacity (`blocks` SHA-256 blocks, so up to `64·blocks - 9` bytes). Witness:
//! the length `L`, the padded message as big-endian words, the data chain head and L1's
//! accumulated input hash before the batch, and the chain id. Per byte a flag says "before `L`";
//! the flags are monotone and sum to `L`, so the circuit knows, without comparisons, where the
//! 0x80 byte, the zeros and the bit length must be and which block is the last one; the digest
//! is the chaining value after that block.
//!
//! The data is a batch: its 68-byte header (`zkpipe.spec.batch`), then whole 16-byte chunks of
//! transactions (the flags of a chunk are all equal, so `L = 68 + 16m`). Public inputs, in order:
//!
//! | offset | field       | meaning                                                          |
//! |--------|-------------|------------------------------------------------------------------|
//! | 0      | `length`    | `L`                                                              |
//! | 1      | `sha256`    | `sha256(data)`, eight big-endian u32 words (what the contract sees) |
//! | 9      | `data_in`   | data chain head before the batch                                 |
//! | 13     | `data_out`  | the head after absorbing the transaction chunks                  |
//! | 17     | `acc_in`    | L1's accumulated input hash before, eight words                  |
//! | 25     | `acc_out`   | `sha256(acc_in ‖ sha256(data) ‖ chainId ‖ number ‖ ts ‖ queue start ‖ queue end)` (ADR 19) |
//! | 33     | `chain_id`  | < 2^32                                                           |
//! | 34     | `queue_in`  | the header's queue start (< 2^62)                                |
//! | 35     | `queue_out` | the header's queue end (< 2^62)                                  |

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::datachain::{self, le_word, CHUNK_BYTES};
use super::sha256::{compress, iv, padded_words, word_bytes};
use super::{prove_with_threads, verify_bytes, C, D, F};
use crate::hash::{to_hash_out, Digest};
use crate::{Error, Result};

/// Public inputs: see the module table.
pub const PUBLIC_INPUTS: usize = 36;
/// Bytes of a batch header; the transaction chunks start after it.
pub const HEADER_BYTES: usize = 68;
/// Bytes of L1's accumulated-input-hash preimage (two SHA-256 blocks once padded).
const INPUT_HASH_BYTES: u64 = 100;

/// What a data-commitment proof shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataHashStatement {
    pub length: u64,
    pub sha256: [u8; 32],
    pub data_in: Digest,
    pub data_out: Digest,
    pub acc_in: [u8; 32],
    pub acc_out: [u8; 32],
    pub chain_id: u64,
    pub queue_in: u64,
    pub queue_out: u64,
}

/// Where a batch starts: the data chain head, L1's accumulated input hash, the chain id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStart {
    pub data_in: Digest,
    pub acc_in: [u8; 32],
    pub chain_id: u64,
}

/// The circuit for one capacity.
pub struct DataHashCircuit {
    pub data: CircuitData<F, C, D>,
    pub blocks: usize,
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
    pub data_in: HashOutTarget,
    pub acc_in: Vec<Target>,
    pub chain_id: Target,
}

/// The largest length a circuit of `blocks` blocks hashes.
pub fn capacity(blocks: usize) -> usize {
    (64 * blocks).saturating_sub(9)
}

/// The largest batch (header and whole chunks) a circuit of `blocks` blocks proves.
pub fn batch_capacity(blocks: usize) -> usize {
    let cap = capacity(blocks);
    if cap < HEADER_BYTES {
        return 0;
    }
    HEADER_BYTES + (cap - HEADER_BYTES) / CHUNK_BYTES * CHUNK_BYTES
}

/// The SHA-256 message words of `data`, as the circuit's input (big-endian).
fn be_words(data: &[u8]) -> Vec<u32> {
    data.chunks(4).map(|w| u32::from_be_bytes(core::array::from_fn(|i| w.get(i).copied().unwrap_or(0)))).collect()
}

impl DataHashCircuit {
    /// Builds the circuit for `blocks` SHA-256 blocks (at least 2: a header is 68 bytes).
    pub fn build(blocks: usize) -> Result<Self> {
        if batch_capacity(blocks) == 0 {
            return Err(Error::BadParameter(format!("a data circuit needs at least 2 blocks, not {blocks}")));
        }
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs = Self::define(&mut builder, blocks);
        let rows = builder.num_gates();
        Ok(Self { data: builder.build::<C>(), blocks, rows, inputs })
    }

    /// Adds the circuit to `builder`; returns its witness targets.
    pub fn define(builder: &mut CircuitBuilder<F, D>, blocks: usize) -> DataHashTargets {
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
        // Verify the data holds a header and whole chunks after it: L = 68 + 16m.
        builder.connect(before[HEADER_BYTES - 1].target, one);
        for start in (HEADER_BYTES..n).step_by(CHUNK_BYTES) {
            let end = if start + CHUNK_BYTES <= n { before[start + CHUNK_BYTES - 1].target } else { zero };
            builder.connect(before[start].target, end);
        }
        let flag = |i: isize| if i < 0 { one } else { before[i as usize].target };
        // last[b]: the padded message ends in block b, i.e. 64b - 9 < L ≤ 64b + 55.
        let last: Vec<Target> = (0..blocks as isize).map(|b| builder.sub(flag(64 * b - 9), flag(64 * b + 55))).collect();
        let bit_length = builder.mul_const(F::from_canonical_u64(8), length);
        let length_bytes = word_bytes(builder, &[bit_length])[0];
        // Past L each byte is padding: 0x80 at L, the bit length at the end of the last block, else 0.
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
        }
        // The SHA-256 chain, one step per block; keep the last block's.
        let mut state = iv(builder);
        let mut digest = [zero; 8];
        for b in 0..blocks {
            state = compress(builder, &state, words[16 * b..16 * (b + 1)].try_into().unwrap_or_else(|_| unreachable!()));
            for (d, &s) in digest.iter_mut().zip(&state) {
                *d = builder.mul_add(last[b], s, *d);
            }
        }
        // The data chain over the transaction chunks before L.
        let le = |builder: &mut CircuitBuilder<F, D>, at: usize| le_word(builder, core::array::from_fn(|j| bytes[at + j]));
        let data_in = builder.add_virtual_hash();
        let mut chain = data_in;
        for start in (HEADER_BYTES..n - CHUNK_BYTES + 1).step_by(CHUNK_BYTES) {
            let chunk: Vec<Target> = (0..CHUNK_BYTES / 4).map(|j| le(builder, start + 4 * j)).collect();
            chain = datachain::step_if(builder, before[start], chain, &chunk);
        }
        // L1's accumulated input hash: the header's u64 fields (little-endian in the data) as
        // big-endian words (high word first), after the previous hash, the digest and the chain id.
        let acc_in = builder.add_virtual_targets(8);
        word_bytes(builder, &acc_in);
        let chain_id = builder.add_virtual_target();
        builder.range_check(chain_id, 32);
        let mut message: Vec<Target> = acc_in.iter().chain(&digest).copied().collect();
        message.push(chain_id);
        for field in 0..4 {
            let hi = le(builder, 8 * field + 4);
            let lo = le(builder, 8 * field);
            message.extend([hi, lo]);
        }
        message.push(builder.constant(F::from_canonical_u64(0x8000_0000)));
        message.resize(31, zero);
        message.push(builder.constant(F::from_canonical_u64(8 * INPUT_HASH_BYTES)));
        let mut acc = iv(builder);
        for block in message.chunks(16) {
            acc = compress(builder, &acc, block.try_into().unwrap_or_else(|_| unreachable!()));
        }
        // The queue range as field elements, below 2^62 as the segments' counts are.
        let two_32 = F::from_canonical_u64(1 << 32);
        let queue: Vec<Target> = [16, 24]
            .map(|at| {
                let lo = le(builder, at);
                let hi = le(builder, at + 4);
                builder.range_check(hi, 30);
                builder.mul_const_add(two_32, hi, lo)
            })
            .to_vec();
        builder.register_public_input(length);
        builder.register_public_inputs(&digest);
        builder.register_public_inputs(&data_in.elements);
        builder.register_public_inputs(&chain.elements);
        builder.register_public_inputs(&acc_in);
        builder.register_public_inputs(&acc);
        builder.register_public_input(chain_id);
        builder.register_public_inputs(&queue);
        DataHashTargets { length, words, before, data_in, acc_in, chain_id }
    }

    /// Proves the statement for the batch `data` starting at `start`.
    pub fn prove(&self, data: &[u8], start: &BatchStart, threads: usize) -> Result<Vec<u8>> {
        let fits = data.len() >= HEADER_BYTES && (data.len() - HEADER_BYTES).is_multiple_of(CHUNK_BYTES);
        if !fits || data.len() > batch_capacity(self.blocks) {
            return Err(Error::WrongLength { expected: batch_capacity(self.blocks), got: data.len() });
        }
        let before: Vec<bool> = (0..64 * self.blocks).map(|i| i < data.len()).collect();
        self.prove_padded(data.len() as u64, &padded_words(data), &before, start, threads)
    }

    /// Proves with a given length, message words (zero-extended to the capacity) and byte flags.
    fn prove_padded(&self, length: u64, message: &[u32], before: &[bool], start: &BatchStart, threads: usize) -> Result<Vec<u8>> {
        let mut words = message.to_vec();
        words.resize(16 * self.blocks, 0);
        let mut pw = PartialWitness::new();
        let fail = |e: anyhow::Error| Error::ProvingFailed(e.to_string());
        let set = |pw: &mut PartialWitness<F>, t: Target, v: u64| pw.set_target(t, F::from_canonical_u64(v)).map_err(fail);
        set(&mut pw, self.inputs.length, length)?;
        for (&t, &v) in self.inputs.words.iter().zip(&words) {
            set(&mut pw, t, u64::from(v))?;
        }
        for (b, &value) in self.inputs.before.iter().zip(before) {
            set(&mut pw, b.target, u64::from(value))?;
        }
        pw.set_hash_target(self.inputs.data_in, to_hash_out(&start.data_in)?).map_err(fail)?;
        for (&t, w) in self.inputs.acc_in.iter().zip(be_words(&start.acc_in)) {
            set(&mut pw, t, u64::from(w))?;
        }
        set(&mut pw, self.inputs.chain_id, start.chain_id)?;
        prove_with_threads(&self.data, pw, threads)
    }

    /// Verifies a proof and returns its statement.
    pub fn verify(&self, proof: &[u8]) -> Result<DataHashStatement> {
        statement(&verify_bytes(&self.data, proof)?)
    }
}

/// The circuit for `blocks`, built once per process.
pub fn circuit(blocks: usize) -> Result<Arc<DataHashCircuit>> {
    type Built = Mutex<HashMap<usize, Arc<DataHashCircuit>>>;
    static BUILT: OnceLock<Built> = OnceLock::new();
    if let Some(found) = BUILT.get_or_init(Default::default).lock().map_err(|_| poisoned())?.get(&blocks) {
        return Ok(Arc::clone(found));
    }
    // Built outside the lock: another thread may build the same one, and the first insert wins.
    let built = Arc::new(DataHashCircuit::build(blocks)?);
    let mut map = BUILT.get_or_init(Default::default).lock().map_err(|_| poisoned())?;
    Ok(Arc::clone(map.entry(blocks).or_insert(built)))
}

fn poisoned() -> Error {
    Error::ProvingFailed("the data circuit cache lock is poisoned".into())
}

fn word_bytes_of(words: &[u64]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, &word) in out.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&(word as u32).to_be_bytes());
    }
    out
}

/// Reads a statement from a proof's public inputs.
pub fn statement(inputs: &[u64]) -> Result<DataHashStatement> {
    if inputs.len() != PUBLIC_INPUTS {
        return Err(Error::WrongLength { expected: PUBLIC_INPUTS, got: inputs.len() });
    }
    let digest = |at: usize| -> Digest { core::array::from_fn(|i| inputs[at + i]) };
    Ok(DataHashStatement {
        length: inputs[0],
        sha256: word_bytes_of(&inputs[1..9]),
        data_in: digest(9),
        data_out: digest(13),
        acc_in: word_bytes_of(&inputs[17..25]),
        acc_out: word_bytes_of(&inputs[25..33]),
        chain_id: inputs[33],
        queue_in: inputs[34],
        queue_out: inputs[35],
    })
}

#[cfg(test)]
mod tests {
    use plonky2::plonk::circuit_data::CircuitConfig;
    use sha2::Digest as _;

    use super::*;

    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        // Queue start and end below 2^62, as the circuit requires.
        if len >= 32 {
            data[23] &= 0x3f;
            data[31] &= 0x3f;
        }
        data
    }

    fn start() -> BatchStart {
        BatchStart { data_in: [11, 12, 13, 14], acc_in: core::array::from_fn(|i| i as u8 * 7), chain_id: 0xfeed_beef }
    }

    /// L1's accumulated input hash (ADR 19), from the header fields in `data`.
    fn input_hash(acc: &[u8; 32], data: &[u8], chain_id: u32) -> [u8; 32] {
        let mut pre = acc.to_vec();
        pre.extend(sha2::Sha256::digest(data));
        pre.extend(chain_id.to_be_bytes());
        for field in data[..32].chunks(8) {
            pre.extend(u64::from_le_bytes(field.try_into().unwrap()).to_be_bytes());
        }
        sha2::Sha256::digest(&pre).into()
    }

    fn flags(length: usize, blocks: usize) -> Vec<bool> {
        (0..64 * blocks).map(|i| i < length).collect()
    }

    #[test]
    fn a_batch_proof_shows_l1s_hashes_and_the_segments_data_chain() {
        let circuit = DataHashCircuit::build(3).unwrap();
        let s0 = start();
        for (i, len) in [HEADER_BYTES, HEADER_BYTES + 16, HEADER_BYTES + 48, batch_capacity(3)].into_iter().enumerate() {
            let data = sample(len, i as u64);
            let s = circuit.verify(&circuit.prove(&data, &s0, 0).unwrap()).unwrap();
            assert_eq!(s.length, len as u64);
            assert_eq!(s.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&data)), "length {len}");
            assert_eq!((s.data_in, s.data_out), (s0.data_in, datachain::chain(&s0.data_in, &data[HEADER_BYTES..]).unwrap()));
            assert_eq!((s.acc_in, s.acc_out), (s0.acc_in, input_hash(&s0.acc_in, &data, s0.chain_id as u32)), "length {len}");
            let field = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
            assert_eq!((s.chain_id, s.queue_in, s.queue_out), (s0.chain_id, field(16), field(24)));
        }
        // Data differing from L1's by one byte: another digest, another chain, another L1 hash.
        let data = sample(batch_capacity(3), 9);
        let honest = circuit.verify(&circuit.prove(&data, &s0, 0).unwrap()).unwrap();
        let mut other = data.clone();
        other[HEADER_BYTES + 5] ^= 1;
        let s = circuit.verify(&circuit.prove(&other, &s0, 0).unwrap()).unwrap();
        assert!(s.data_out != honest.data_out && s.acc_out != honest.acc_out && s.sha256 != honest.sha256);
        for bad in [HEADER_BYTES - 1, HEADER_BYTES + 15, batch_capacity(3) + 16] {
            assert!(matches!(circuit.prove(&sample(bad, 0), &s0, 0), Err(Error::WrongLength { .. })), "length {bad}");
        }
        assert!(DataHashCircuit::build(1).is_err());
    }

    #[test]
    fn a_batch_that_is_not_a_header_and_whole_chunks_or_a_queue_count_of_2_62_is_refused() {
        let circuit = DataHashCircuit::build(2).unwrap();
        // Honest padding for every length: only the header and whole-chunk rules refuse these.
        for length in [HEADER_BYTES + 1, HEADER_BYTES + 15, HEADER_BYTES - 16] {
            let data = sample(length, 1);
            assert!(circuit.prove_padded(length as u64, &padded_words(&data), &flags(length, 2), &start(), 0).is_err(), "length {length}");
        }
        let mut data = sample(HEADER_BYTES, 2);
        data[31] = 0x40; // queue end ≥ 2^62
        assert!(circuit.prove(&data, &start(), 0).is_err());
    }

    #[test]
    fn a_message_that_is_not_the_padding_of_its_length_is_refused() {
        let circuit = DataHashCircuit::build(2).unwrap();
        let length = HEADER_BYTES + 48; // 116: the padding ends the second block
        let mut data = sample(length, 7);
        data[10] = 0x80;
        let honest = padded_words(&data);
        assert!(circuit.prove_padded(length as u64, &honest, &flags(length, 2), &start(), 0).is_ok());
        // Flags with a hole at the 0x80 data byte and one more on the last length byte: every
        // padding and chunk check still holds and the count is L, but byte 10 would leave the
        // data and byte 127 join it. Only monotonicity refuses it.
        let mut holed = flags(length, 2);
        holed[10] = false;
        holed[127] = true;
        assert!(circuit.prove_padded(length as u64, &honest, &holed, &start(), 0).is_err(), "non-monotone flags were accepted");
        let mut cases: Vec<(&str, usize, Vec<u32>)> = Vec::new();
        let mut w = honest.clone();
        w[29] ^= 0x80 << 24; // the 0x80 byte missing
        cases.push(("no 0x80", length, w));
        let mut w = honest.clone();
        w[29] |= 1 << 8; // a non-zero byte between the 0x80 and the length
        cases.push(("garbage in padding", length, w));
        let mut w = honest.clone();
        w[31] += 8; // the bit length of one more byte
        cases.push(("wrong bit length", length, w));
        cases.push(("length claimed a chunk shorter", length - 16, honest.clone()));
        for (name, length, words) in cases {
            assert!(circuit.prove_padded(length as u64, &words, &flags(length, 2), &start(), 0).is_err(), "{name} was accepted");
        }
    }

    #[test]
    fn a_data_proof_verifies_inside_the_recursive_verifier() {
        let inner = DataHashCircuit::build(2).unwrap();
        let data = sample(HEADER_BYTES + 16, 3);
        let proof = crate::circuits::parse_proof(&inner.prove(&data, &start(), 0).unwrap(), &inner.data.common).unwrap();
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
