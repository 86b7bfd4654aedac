//! SHA-256 and keccak-f built from plonky2's own gates only: the baseline the custom gate is
//! measured against (`zkpipe bench datahash`). Not used by any proof type.
//!
//! Words are little-endian bit vectors; XOR is `a + b - 2ab` (two arithmetic operations),
//! additions mod 2^32 pack the bits, add, and split the sum again.

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::sha256::K;
use super::{D, F};

type Word = Vec<BoolTarget>;

fn xor(builder: &mut CircuitBuilder<F, D>, a: BoolTarget, b: BoolTarget) -> BoolTarget {
    let sum = builder.add(a.target, b.target);
    BoolTarget::new_unsafe(builder.arithmetic(-F::TWO, F::ONE, a.target, b.target, sum))
}

fn xor_words(builder: &mut CircuitBuilder<F, D>, words: &[&Word]) -> Word {
    (0..words[0].len()).map(|i| words[1..].iter().fold(words[0][i], |acc, w| xor(builder, acc, w[i]))).collect()
}

/// Bits of `x` rotated right by `r` (or shifted right when `shift`).
fn rotr(builder: &mut CircuitBuilder<F, D>, x: &Word, r: usize, shift: bool) -> Word {
    let zero = builder._false();
    (0..32).map(|i| if shift && i + r >= 32 { zero } else { x[(i + r) % 32] }).collect()
}

fn sigma(builder: &mut CircuitBuilder<F, D>, x: &Word, r: [usize; 3], shift: bool) -> Word {
    let parts = [rotr(builder, x, r[0], false), rotr(builder, x, r[1], false), rotr(builder, x, r[2], shift)];
    xor_words(builder, &[&parts[0], &parts[1], &parts[2]])
}

/// The sum of `words` mod 2^32, as bits.
fn add_words(builder: &mut CircuitBuilder<F, D>, words: &[Target]) -> Word {
    let sum = builder.add_many(words);
    let bits = builder.split_le(sum, 35);
    bits[..32].to_vec()
}

fn pack(builder: &mut CircuitBuilder<F, D>, x: &Word) -> Target {
    builder.le_sum(x.iter())
}

/// One SHA-256 compression of 16 message words (bits) into a state of eight words (bits).
pub fn sha256_compress(builder: &mut CircuitBuilder<F, D>, state: &[Word; 8], block: &[Word]) -> [Word; 8] {
    let mut w: Vec<Word> = block.to_vec();
    for t in 16..64 {
        let s0 = sigma(builder, &w[t - 15].clone(), [7, 18, 3], true);
        let s1 = sigma(builder, &w[t - 2].clone(), [17, 19, 10], true);
        let terms = [pack(builder, &s1), pack(builder, &w[t - 7].clone()), pack(builder, &s0), pack(builder, &w[t - 16].clone())];
        w.push(add_words(builder, &terms));
    }
    let mut v = state.clone();
    for t in 0..64 {
        let [a, b, c, d, e, f, g, h] = v.clone();
        let s1 = sigma(builder, &e, [6, 11, 25], false);
        // Ch = e·(f - g) + g
        let ch: Word = (0..32)
            .map(|i| {
                let diff = builder.sub(f[i].target, g[i].target);
                BoolTarget::new_unsafe(builder.arithmetic(F::ONE, F::ONE, e[i].target, diff, g[i].target))
            })
            .collect();
        let s0 = sigma(builder, &a, [2, 13, 22], false);
        // Maj = (a ∧ b) ⊕ (c ∧ (a ⊕ b))
        let maj: Word = (0..32)
            .map(|i| {
                let ab = builder.and(a[i], b[i]);
                let axb = xor(builder, a[i], b[i]);
                let c_axb = builder.and(c[i], axb);
                BoolTarget::new_unsafe(builder.add(ab.target, c_axb.target))
            })
            .collect();
        let k = builder.constant(F::from_canonical_u32(K[t]));
        let t1 = [pack(builder, &h), pack(builder, &s1), pack(builder, &ch), k, pack(builder, &w[t].clone())];
        let t2 = [pack(builder, &s0), pack(builder, &maj)];
        let t1_sum = builder.add_many(t1);
        let t2_sum = builder.add_many(t2);
        let d_packed = pack(builder, &d);
        let new_e = add_words(builder, &[d_packed, t1_sum]);
        let new_a = add_words(builder, &[t1_sum, t2_sum]);
        v = [new_a, a, b, c, new_e, e, f, g];
    }
    core::array::from_fn(|i| {
        let x = pack(builder, &state[i]);
        let y = pack(builder, &v[i]);
        add_words(builder, &[x, y])
    })
}

/// The 24 round constants of keccak-f[1600], from its LFSR (FIPS 202, 3.2.5).
fn keccak_round_constants() -> [u64; 24] {
    let mut lfsr: u8 = 1;
    let mut bit = || {
        let out = lfsr & 1;
        lfsr = if lfsr & 0x80 != 0 { (lfsr << 1) ^ 0x71 } else { lfsr << 1 };
        out
    };
    core::array::from_fn(|_| (0..7).fold(0u64, |rc, j| rc | (u64::from(bit()) << ((1 << j) - 1))))
}

/// keccak-f[1600] over 25 lanes of 64 bits (lane `x + 5y`, bits little-endian).
pub fn keccak_f(builder: &mut CircuitBuilder<F, D>, state: &[Vec<BoolTarget>]) -> Vec<Vec<BoolTarget>> {
    // ρ offsets: walk (x, y) → (y, 2x + 3y) from (1, 0), offset (t + 1)(t + 2)/2 (FIPS 202, 3.2.2).
    let mut rho = [0usize; 25];
    let (mut x, mut y) = (1usize, 0usize);
    for t in 0..24 {
        rho[x + 5 * y] = ((t + 1) * (t + 2) / 2) % 64;
        (x, y) = (y, (2 * x + 3 * y) % 5);
    }
    let mut a: Vec<Vec<BoolTarget>> = state.to_vec();
    for rc in keccak_round_constants() {
        // θ
        let c: Vec<Vec<BoolTarget>> = (0..5).map(|x| xor_words(builder, &[&a[x], &a[x + 5], &a[x + 10], &a[x + 15], &a[x + 20]])).collect();
        let d: Vec<Vec<BoolTarget>> =
            (0..5).map(|x| (0..64).map(|z| xor(builder, c[(x + 4) % 5][z], c[(x + 1) % 5][(z + 63) % 64])).collect()).collect();
        for (i, lane) in a.iter_mut().enumerate() {
            for z in 0..64 {
                lane[z] = xor(builder, lane[z], d[i % 5][z]);
            }
        }
        // ρ and π: B[y, 2x + 3y] = rot(A[x, y], ρ[x, y])
        let mut b = a.clone();
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = (0..64).map(|z| a[x + 5 * y][(z + 64 - rho[x + 5 * y]) % 64]).collect();
            }
        }
        // χ: A = B ⊕ (¬B[x+1] ∧ B[x+2])
        for x in 0..5 {
            for y in 0..5 {
                a[x + 5 * y] = (0..64)
                    .map(|z| {
                        let (p, q) = (b[(x + 1) % 5 + 5 * y][z], b[(x + 2) % 5 + 5 * y][z]);
                        let not_p_and_q = BoolTarget::new_unsafe(builder.arithmetic(-F::ONE, F::ONE, p.target, q.target, q.target));
                        xor(builder, b[x + 5 * y][z], not_p_and_q)
                    })
                    .collect();
            }
        }
        // ι
        for (z, bit) in a[0].iter_mut().enumerate() {
            if (rc >> z) & 1 == 1 {
                *bit = builder.not(*bit);
            }
        }
    }
    a
}

/// Rows (gates) that `add` puts into a fresh circuit.
pub fn rows_of(add: impl FnOnce(&mut CircuitBuilder<F, D>)) -> usize {
    let mut builder = CircuitBuilder::<F, D>::new(plonky2::plonk::circuit_data::CircuitConfig::standard_recursion_config());
    let before = builder.num_gates();
    add(&mut builder);
    // Arithmetic operations are packed 20 to a row; count the row being filled as used.
    builder.num_gates() - before
}

/// Rows of one plain SHA-256 compression (64 bytes) and one plain keccak-f (136 bytes of rate).
pub fn plain_rows() -> (usize, usize) {
    let sha = rows_of(|b| {
        let state: [Word; 8] = core::array::from_fn(|_| (0..32).map(|_| b.add_virtual_bool_target_unsafe()).collect());
        let block: Vec<Word> = (0..16).map(|_| (0..32).map(|_| b.add_virtual_bool_target_unsafe()).collect()).collect();
        sha256_compress(b, &state, &block);
    });
    let keccak = rows_of(|b| {
        let state: Vec<Vec<BoolTarget>> = (0..25).map(|_| (0..64).map(|_| b.add_virtual_bool_target_unsafe()).collect()).collect();
        keccak_f(b, &state);
    });
    (sha, keccak)
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::PrimeField64;
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::{PartialWitness, Witness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use sha2::Digest;

    use super::*;
    use crate::circuits::C;

    fn bits_of(builder: &mut CircuitBuilder<F, D>, n: usize) -> Vec<BoolTarget> {
        (0..n).map(|_| builder.add_virtual_bool_target_unsafe()).collect()
    }

    fn set_bits(pw: &mut PartialWitness<F>, bits: &[BoolTarget], value: u64) {
        for (i, b) in bits.iter().enumerate() {
            pw.set_bool_target(*b, (value >> i) & 1 == 1).unwrap();
        }
    }

    /// Runs the witness generators (the gates compute as they constrain) and reads words back.
    fn evaluate(builder: CircuitBuilder<F, D>, pw: PartialWitness<F>, outputs: &[Vec<BoolTarget>]) -> Vec<u64> {
        let data = builder.build_prover::<C>();
        let witness = generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
        outputs.iter().map(|w| w.iter().enumerate().map(|(i, b)| witness.get_target(b.target).to_canonical_u64() << i).sum()).collect()
    }

    #[test]
    fn plain_sha256_compression_matches_sha2() {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let state: [Word; 8] = core::array::from_fn(|_| bits_of(&mut builder, 32));
        let block: Vec<Word> = (0..16).map(|_| bits_of(&mut builder, 32)).collect();
        let out = sha256_compress(&mut builder, &state, &block);
        let mut pw = PartialWitness::new();
        for (bits, v) in state.iter().zip(crate::circuits::sha256::IV) {
            set_bits(&mut pw, bits, u64::from(v));
        }
        let data = b"abc";
        for (bits, v) in block.iter().zip(crate::circuits::sha256::padded_words(data)) {
            set_bits(&mut pw, bits, u64::from(v));
        }
        let expected: Vec<u64> =
            sha2::Sha256::digest(data).chunks(4).map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect();
        assert_eq!(evaluate(builder, pw, &out), expected);
    }

    #[test]
    fn plain_keccak_f_matches_tiny_keccak() {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let state: Vec<Vec<BoolTarget>> = (0..25).map(|_| bits_of(&mut builder, 64)).collect();
        let out = keccak_f(&mut builder, &state);
        let mut lanes: [u64; 25] = core::array::from_fn(|i| (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut pw = PartialWitness::new();
        for (bits, &v) in state.iter().zip(&lanes) {
            set_bits(&mut pw, bits, v);
        }
        tiny_keccak::keccakf(&mut lanes);
        assert_eq!(evaluate(builder, pw, &out), lanes.to_vec());
    }
}
