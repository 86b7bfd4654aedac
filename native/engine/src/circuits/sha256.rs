//! SHA-256 in circuit with [`Sha256Gate`] rows: compression, words to bytes, message padding.
//!
//! A compression is 48 schedule rows, 2 × 64 round rows and 3 feed-forward rows (179 rows per
//! 64-byte block); the round constants are gate constants, so no constant rows are needed.

use plonky2::field::types::Field;
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::gates::sha256::{wire_input, wire_output, wire_reduced, wire_value, Sha256Gate, Sha256Op, SLOTS};
use super::{D, F};

/// The initial hash value (FIPS 180-4, 5.3.3).
pub const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// The round constants (FIPS 180-4, 4.2.2).
pub const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Rows of one compression.
pub const ROWS_PER_BLOCK: usize = 48 + 2 * 64 + 3;

fn row(builder: &mut CircuitBuilder<F, D>, op: Sha256Op, constants: Vec<F>) -> usize {
    builder.add_gate(Sha256Gate::new(op), constants)
}

fn w(row: usize, column: usize) -> Target {
    Target::wire(row, column)
}

/// The initial hash value as constants.
pub fn iv(builder: &mut CircuitBuilder<F, D>) -> [Target; 8] {
    IV.map(|x| builder.constant(F::from_canonical_u32(x)))
}

/// One compression: `state` (eight words, each < 2^32) absorbs `block` (sixteen words, each
/// < 2^32 — the caller's duty, e.g. through [`word_bytes`]); returns the new state, reduced.
pub fn compress(builder: &mut CircuitBuilder<F, D>, state: &[Target; 8], block: &[Target; 16]) -> [Target; 8] {
    // Message schedule: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], reduced by slot 2.
    let mut words = block.to_vec();
    for t in 16..64 {
        let r = row(builder, Sha256Op::Schedule, vec![]);
        builder.connect(w(r, wire_value(0)), words[t - 2]);
        builder.connect(w(r, wire_value(1)), words[t - 15]);
        builder.connect(w(r, wire_input(0)), words[t - 7]);
        builder.connect(w(r, wire_input(1)), words[t - 16]);
        words.push(w(r, wire_reduced(2)));
    }
    // Rounds. `a` and `e` may be unreduced (the rows split them); d and h are always reduced.
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (t, word) in words.iter().enumerate() {
        let re = row(builder, Sha256Op::RoundE, vec![F::from_canonical_u32(K[t])]);
        for (k, v) in [e, f, g].into_iter().enumerate() {
            builder.connect(w(re, wire_value(k)), v);
        }
        builder.connect(w(re, wire_input(0)), h);
        builder.connect(w(re, wire_input(1)), *word);
        builder.connect(w(re, wire_input(2)), d);
        let ra = row(builder, Sha256Op::RoundA, vec![]);
        for (k, v) in [a, b, c].into_iter().enumerate() {
            builder.connect(w(ra, wire_value(k)), v);
        }
        builder.connect(w(ra, wire_input(0)), w(re, wire_output(0)));
        (h, g, f, e) = (w(re, wire_reduced(2)), w(re, wire_reduced(1)), w(re, wire_reduced(0)), w(re, wire_output(1)));
        (d, c, b, a) = (w(ra, wire_reduced(2)), w(ra, wire_reduced(1)), w(ra, wire_reduced(0)), w(ra, wire_output(0)));
    }
    // Feed-forward: state + working variables, reduced.
    let zero = builder.zero();
    let mut sums: Vec<(Target, Target)> = state.iter().copied().zip([a, b, c, d, e, f, g, h]).collect();
    sums.resize(sums.len().next_multiple_of(SLOTS), (zero, zero));
    let mut out = Vec::new();
    for chunk in sums.chunks(SLOTS) {
        let r = row(builder, Sha256Op::Add, vec![]);
        for (k, &(x, y)) in chunk.iter().enumerate() {
            builder.connect(w(r, wire_input(2 * k)), x);
            builder.connect(w(r, wire_input(2 * k + 1)), y);
            out.push(w(r, wire_reduced(k)));
        }
    }
    core::array::from_fn(|i| out[i])
}

/// Constrains each word below 2^32 and returns its bytes, most significant first (one row per
/// three words).
pub fn word_bytes(builder: &mut CircuitBuilder<F, D>, words: &[Target]) -> Vec<[Target; 4]> {
    let zero = builder.zero();
    let mut out = Vec::new();
    for chunk in words.chunks(SLOTS) {
        let r = row(builder, Sha256Op::Bytes, vec![]);
        for k in 0..SLOTS {
            builder.connect(w(r, wire_value(k)), chunk.get(k).copied().unwrap_or(zero));
        }
        out.extend((0..chunk.len()).map(|k| core::array::from_fn(|j| w(r, wire_output(4 * k + j)))));
    }
    out
}

/// The padded message (FIPS 180-4, 5.1.1) as big-endian words: data, 0x80, zeros, bit length.
pub fn padded_words(data: &[u8]) -> Vec<u32> {
    let mut bytes = data.to_vec();
    bytes.push(0x80);
    while bytes.len() % 64 != 56 {
        bytes.push(0);
    }
    bytes.extend_from_slice(&(8 * data.len() as u64).to_be_bytes());
    bytes.chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use sha2::Digest;

    use super::*;
    use crate::circuits::{prove_with_threads, verify_bytes};

    /// Proves `sha256(data)` for a message of fixed length with the gadget; returns the digest words.
    fn prove_fixed(data: &[u8]) -> Vec<u64> {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let words = builder.add_virtual_targets(padded_words(data).len());
        word_bytes(&mut builder, &words);
        let mut state = iv(&mut builder);
        for block in words.chunks(16) {
            state = compress(&mut builder, &state, block.try_into().unwrap());
        }
        builder.register_public_inputs(&state);
        let circuit = builder.build::<super::super::C>();
        let mut pw = PartialWitness::new();
        for (t, v) in words.iter().zip(padded_words(data)) {
            pw.set_target(*t, F::from_canonical_u32(v)).unwrap();
        }
        verify_bytes(&circuit, &prove_with_threads(&circuit, pw, 0).unwrap()).unwrap()
    }

    fn native(data: &[u8]) -> Vec<u64> {
        sha2::Sha256::digest(data).chunks(4).map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect()
    }

    #[test]
    fn fixed_length_digests_match_sha2() {
        for len in [0usize, 3, 64, 119] {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(prove_fixed(&data), native(&data), "length {len}");
        }
    }

    #[test]
    fn padding_matches_sha2_block_count() {
        for len in [0usize, 55, 56, 63, 64, 119, 120] {
            assert_eq!(padded_words(&vec![0; len]).len() * 4, (len + 9).div_ceil(64) * 64);
        }
    }
}
