//! The data chain (ADR 27): one Poseidon permutation per 16-byte chunk of a batch's posted
//! transaction bytes, `c' = Poseidon(c ‖ w0 ‖ w1 ‖ w2 ‖ w3)` with `w` the chunk's four
//! little-endian u32 words. The segment circuit builds the chunks from each slot's elements, the
//! data-commitment proof from the bytes L1 hashed; equal heads from a common start mean equal bytes.

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::{D, F};
use crate::hash::{self, Digest};
use crate::{Error, Result};

/// Bytes of one chunk.
pub const CHUNK_BYTES: usize = 16;
/// u32 words of one chunk.
pub const CHUNK_WORDS: usize = CHUNK_BYTES / 4;

/// The chain from `head` over `data` (a whole number of chunks), computed natively.
pub fn chain(head: &Digest, data: &[u8]) -> Result<Digest> {
    if !data.len().is_multiple_of(CHUNK_BYTES) {
        return Err(Error::BadParameter(format!("{} bytes are not whole {CHUNK_BYTES}-byte chunks", data.len())));
    }
    let mut c = *head;
    for chunk in data.chunks(CHUNK_BYTES) {
        let mut inputs = c.to_vec();
        inputs.extend(chunk.chunks(4).map(|w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))));
        c = hash::hash(&inputs)?;
    }
    Ok(c)
}

/// One step in circuit: `head` absorbs one chunk's four words (each < 2^32, the caller's duty).
pub fn step(builder: &mut CircuitBuilder<F, D>, head: HashOutTarget, words: &[Target]) -> HashOutTarget {
    debug_assert_eq!(words.len(), CHUNK_WORDS);
    let mut inputs = head.elements.to_vec();
    inputs.extend_from_slice(words);
    builder.hash_n_to_hash_no_pad::<PoseidonHash>(inputs)
}

/// `head` absorbs `words` (a multiple of four) when `when`, else stays.
pub fn step_if(builder: &mut CircuitBuilder<F, D>, when: BoolTarget, head: HashOutTarget, words: &[Target]) -> HashOutTarget {
    let next = step(builder, head, words);
    HashOutTarget { elements: core::array::from_fn(|i| builder.select(when, next.elements[i], head.elements[i])) }
}

/// The little-endian u32 word of four bytes (each < 2^8, the caller's duty).
pub fn le_word(builder: &mut CircuitBuilder<F, D>, bytes: [Target; 4]) -> Target {
    let mut word = bytes[3];
    for &b in bytes[..3].iter().rev() {
        word = builder.mul_const_add(F::from_canonical_u64(256), word, b);
    }
    word
}

/// The five little-endian u32 words of a 20-byte L1 address given as its three little-endian
/// 7-, 7- and 6-byte elements; constrains each element to its width.
pub fn l1_address_words(builder: &mut CircuitBuilder<F, D>, chunks: [Target; 3]) -> [Target; 5] {
    // Bytes B0..B19: chunks B0-6, B7-13, B14-19; words B0-3, B4-7, B8-11, B12-15, B16-19.
    let (w0, b4_6) = builder.split_low_high(chunks[0], 32, 56);
    let (b7, b8_13) = builder.split_low_high(chunks[1], 8, 56);
    let (w2, b12_13) = builder.split_low_high(b8_13, 32, 48);
    let (b14_15, w4) = builder.split_low_high(chunks[2], 16, 48);
    let w1 = builder.mul_const_add(F::from_canonical_u64(1 << 24), b7, b4_6);
    let w3 = builder.mul_const_add(F::from_canonical_u64(1 << 16), b14_15, b12_13);
    [w0, w1, w2, w3, w4]
}
