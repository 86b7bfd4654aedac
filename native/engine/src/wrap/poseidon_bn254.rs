//! Poseidon over BN254 as a plonky2 hasher, for the outer layer that gnark verifies.
//!
//! The permutation is iden3's (circom's) Poseidon of width 4 with x^5, 8 full and
//! 56 partial rounds; the constants come from `light-poseidon`, which publishes
//! the circom parameters. How Goldilocks elements are packed into BN254 elements
//! (three 64-bit limbs per element, a rate of three elements, overwrite mode,
//! digest in state[0]) is what gnark-plonky2-verifier's `BN254Chip` computes, so
//! the Go circuit recomputes exactly these Merkle caps and paths.
//!
//! Fiat-Shamir runs on the same BN254 permutation (`Bn254Permutation`): a Goldilocks-Poseidon
//! transcript costs the gnark circuit emulated Goldilocks arithmetic for every permutation,
//! which was the largest part of that circuit; BN254 is its native field. BN254 digests are
//! still observed as 7-byte chunks, as the gnark verifier reads them.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::PoseidonParameters;
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::PrimeField64;
use plonky2::hash::hash_types::BytesHash;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::{GenericConfig, Hasher};

/// State width of the BN254 permutation.
pub const WIDTH: usize = 4;
/// Goldilocks elements packed into one BN254 element.
const LIMBS_PER_ELEMENT: usize = 3;
/// Goldilocks elements absorbed per permutation (three BN254 rate elements).
const GOLDILOCKS_RATE: usize = (WIDTH - 1) * LIMBS_PER_ELEMENT;

fn params() -> &'static PoseidonParameters<Fr> {
    static PARAMS: OnceLock<PoseidonParameters<Fr>> = OnceLock::new();
    PARAMS.get_or_init(|| get_poseidon_parameters::<Fr>(WIDTH as u8).expect("circom publishes width 4"))
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The Poseidon permutation (width 4, x^5) over BN254's scalar field.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let p = params();
    let half_full = p.full_rounds / 2;
    let rounds = p.full_rounds + p.partial_rounds;
    for round in 0..rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[round * WIDTH + i];
        }
        if round < half_full || round >= half_full + p.partial_rounds {
            state.iter_mut().for_each(|s| *s = sbox(*s));
        } else {
            state[0] = sbox(state[0]);
        }
        let before = *state;
        for (i, s) in state.iter_mut().enumerate() {
            *s = before.iter().zip(&p.mds[i]).fold(Fr::ZERO, |acc, (a, m)| acc + *a * *m);
        }
    }
}

/// A BN254 digest as plonky2 carries it: the field element's 32 little-endian bytes.
pub type Bn254Hash = BytesHash<32>;

/// Digest bytes of a BN254 element.
pub fn to_hash(x: Fr) -> Bn254Hash {
    let bytes = x.into_bigint().to_bytes_le();
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    BytesHash(out)
}

/// The BN254 element of a digest (digests are always canonical: they come from `to_hash`).
pub fn from_hash(h: &Bn254Hash) -> Fr {
    Fr::from_le_bytes_mod_order(&h.0)
}

/// Packs up to three Goldilocks elements into one BN254 element, little-endian in 64-bit limbs.
fn pack(limbs: &[GoldilocksField]) -> Fr {
    let shift = Fr::from(2u8).pow([64]);
    limbs.iter().rev().fold(Fr::ZERO, |acc, l| acc * shift + Fr::from(l.to_canonical_u64()))
}

/// Goldilocks elements of the challenger's sponge state (rate 8, capacity 4, as plonky2's).
const SPONGE_WIDTH: usize = 12;
const SPONGE_RATE: usize = 8;

/// The challenger's pseudo-permutation of twelve Goldilocks elements: each three are packed
/// into one BN254 element (64-bit limbs, as `pack`), the four are permuted by Poseidon-BN254,
/// and each output yields its three low 64-bit limbs, reduced mod p. (Not one-to-one, which a
/// sponge does not need; a reduced 64-bit limb is at most twice as likely as uniform, i.e. a
/// challenge loses at most one bit of soundness, and the proof-of-work response keeps its bits.)
/// The Go circuit (`wrap/challenger.go`) computes exactly this.
#[derive(Copy, Clone, Default, Debug, PartialEq, Eq)]
pub struct Bn254Permutation {
    state: [GoldilocksField; SPONGE_WIDTH],
}

impl AsRef<[GoldilocksField]> for Bn254Permutation {
    fn as_ref(&self) -> &[GoldilocksField] {
        &self.state
    }
}

impl PlonkyPermutation<GoldilocksField> for Bn254Permutation {
    const RATE: usize = SPONGE_RATE;
    const WIDTH: usize = SPONGE_WIDTH;

    fn new<I: IntoIterator<Item = GoldilocksField>>(elts: I) -> Self {
        let mut perm = Self::default();
        perm.set_from_iter(elts, 0);
        perm
    }

    fn set_elt(&mut self, elt: GoldilocksField, idx: usize) {
        self.state[idx] = elt;
    }

    fn set_from_slice(&mut self, elts: &[GoldilocksField], start_idx: usize) {
        self.state[start_idx..start_idx + elts.len()].copy_from_slice(elts);
    }

    fn set_from_iter<I: IntoIterator<Item = GoldilocksField>>(&mut self, elts: I, start_idx: usize) {
        for (s, e) in self.state[start_idx..].iter_mut().zip(elts) {
            *s = e;
        }
    }

    fn permute(&mut self) {
        let mut packed = [Fr::ZERO; WIDTH];
        for (p, limbs) in packed.iter_mut().zip(self.state.chunks(LIMBS_PER_ELEMENT)) {
            *p = pack(limbs);
        }
        permute(&mut packed);
        for (x, out) in packed.iter().zip(self.state.chunks_mut(LIMBS_PER_ELEMENT)) {
            let limbs = x.into_bigint().0;
            for (o, &limb) in out.iter_mut().zip(&limbs) {
                *o = <GoldilocksField as plonky2::field::types::Field>::from_noncanonical_u64(limb);
            }
        }
    }

    fn squeeze(&self) -> &[GoldilocksField] {
        &self.state[..Self::RATE]
    }
}

/// Poseidon-BN254 hashing of Goldilocks data, as gnark-plonky2-verifier computes it.
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub struct PoseidonBn254Hash;

impl PoseidonBn254Hash {
    /// Sponge over BN254, overwrite mode, digest in state[0] (no padding: fixed-length inputs only).
    pub fn sponge(input: &[GoldilocksField]) -> Fr {
        let mut state = [Fr::ZERO; WIDTH];
        for chunk in input.chunks(GOLDILOCKS_RATE) {
            for (j, limbs) in chunk.chunks(LIMBS_PER_ELEMENT).enumerate() {
                state[j + 1] = pack(limbs);
            }
            permute(&mut state);
        }
        state[0]
    }

    /// Two digests compressed into one: the permutation of [0, 0, left, right], first element.
    pub fn compress(left: Fr, right: Fr) -> Fr {
        let mut state = [Fr::ZERO, Fr::ZERO, left, right];
        permute(&mut state);
        state[0]
    }
}

impl Hasher<GoldilocksField> for PoseidonBn254Hash {
    const HASH_SIZE: usize = 32;
    type Hash = Bn254Hash;
    type Permutation = Bn254Permutation;

    fn hash_no_pad(input: &[GoldilocksField]) -> Self::Hash {
        to_hash(Self::sponge(input))
    }

    /// A leaf of at most three elements is its packing (the gnark verifier's `HashOrNoop`);
    /// longer leaves are hashed. Every Merkle tree of a proof has one fixed leaf length,
    /// so a leaf can never be confused with an internal node of another length.
    fn hash_leaf(input: &[GoldilocksField]) -> Self::Hash {
        if input.len() <= LIMBS_PER_ELEMENT {
            to_hash(pack(input))
        } else {
            Self::hash_no_pad(input)
        }
    }

    fn two_to_one(left: Self::Hash, right: Self::Hash) -> Self::Hash {
        to_hash(Self::compress(from_hash(&left), from_hash(&right)))
    }
}

/// The outer layer's configuration: Merkle trees and challenges over Poseidon-BN254 (the public
/// inputs hash, which the circuit computes itself, stays Goldilocks Poseidon).
#[derive(Debug, Copy, Clone, Default, Eq, PartialEq)]
pub struct PoseidonBn254Config;

impl GenericConfig<2> for PoseidonBn254Config {
    type F = GoldilocksField;
    type FE = QuadraticExtension<GoldilocksField>;
    type Hasher = PoseidonBn254Hash;
    type InnerHasher = PoseidonHash;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(s: &str) -> Fr {
        s.parse().unwrap()
    }

    /// The permutation vectors of gnark-plonky2-verifier's poseidon/bn254_test.go.
    #[test]
    fn permutation_matches_the_gnark_verifiers_vectors() {
        let p_minus_1 = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        let cases: [([&str; 4], [&str; 4]); 3] = [
            (
                ["0", "0", "0", "0"],
                [
                    "5317387130258456662214331362918410991734007599705406860481038345552731150762",
                    "17768273200467269691696191901389126520069745877826494955630904743826040320364",
                    "19413739268543925182080121099097652227979760828059217876810647045303340666757",
                    "3717738800218482999400886888123026296874264026760636028937972004600663725187",
                ],
            ),
            (
                ["0", "1", "2", "3"],
                [
                    "6542985608222806190361240322586112750744169038454362455181422643027100751666",
                    "3478427836468552423396868478117894008061261013954248157992395910462939736589",
                    "1904980799580062506738911865015687096398867595589699208837816975692422464009",
                    "11971464497515232077059236682405357499403220967704831154657374522418385384151",
                ],
            ),
            (
                [p_minus_1, p_minus_1, p_minus_1, p_minus_1],
                [
                    "13055670547682322550638362580666986963569035646873545133474324633020685301274",
                    "19087936485076376314486368416882351797015004625427655501762827988254486144933",
                    "10391468779200270580383536396630001155994223659670674913170907401637624483385",
                    "17202557688472898583549180366140168198092766974201433936205272956998081177816",
                ],
            ),
        ];
        for (input, output) in cases {
            let mut state = input.map(fr);
            permute(&mut state);
            assert_eq!(state, output.map(fr));
        }
    }

    #[test]
    fn digests_round_trip_and_split_into_seven_byte_chunks() {
        use plonky2::plonk::config::GenericHashOut;
        let h = PoseidonBn254Hash::hash_no_pad(&[GoldilocksField(1), GoldilocksField(2), GoldilocksField(3), GoldilocksField(4)]);
        assert_eq!(from_hash(&h), from_hash(&to_hash(from_hash(&h))));
        assert_eq!(GenericHashOut::<GoldilocksField>::to_vec(&h).len(), 5);
        // Short leaves are packed, not hashed.
        let leaf = PoseidonBn254Hash::hash_leaf(&[GoldilocksField(7), GoldilocksField(1)]);
        assert_eq!(from_hash(&leaf), Fr::from(7u8) + Fr::from(2u8).pow([64]));
    }
}
