//! Poseidon over Goldilocks, exactly the permutation plonky2 uses inside circuits.

use plonky2::hash::hash_types::HashOut;
use plonky2::hash::hashing::hash_n_to_m_no_pad;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash, PoseidonPermutation, SPONGE_WIDTH};
use plonky2::plonk::config::Hasher;

use crate::field::{to_field, to_fields, to_u64, F};
use crate::{Error, Result};

/// A Poseidon digest: four canonical field elements.
pub type Digest = [u64; 4];

/// The digest of nothing: the empty leaf of the state tree.
pub const ZERO_DIGEST: Digest = [0; 4];

/// The Poseidon permutation on a width-12 state.
pub fn permute(state: &[u64]) -> Result<[u64; SPONGE_WIDTH]> {
    if state.len() != SPONGE_WIDTH {
        return Err(Error::WrongLength { expected: SPONGE_WIDTH, got: state.len() });
    }
    let mut input = [F::default(); SPONGE_WIDTH];
    for (slot, &v) in input.iter_mut().zip(state) {
        *slot = to_field(v)?;
    }
    Ok(F::poseidon(input).map(to_u64))
}

/// Hash of n field elements (plonky2's `hash_no_pad`).
pub fn hash(inputs: &[u64]) -> Result<Digest> {
    Ok(from_hash_out(PoseidonHash::hash_no_pad(&to_fields(inputs)?)))
}

/// Sponge hash of n field elements squeezed to m outputs.
pub fn hash_to_many(inputs: &[u64], outputs: usize) -> Result<Vec<u64>> {
    let elements = to_fields(inputs)?;
    Ok(hash_n_to_m_no_pad::<F, PoseidonPermutation<F>>(&elements, outputs)
        .into_iter()
        .map(to_u64)
        .collect())
}

/// The two-to-one compression used for Merkle nodes.
pub fn two_to_one(left: &Digest, right: &Digest) -> Result<Digest> {
    Ok(from_hash_out(two_to_one_out(to_hash_out(left)?, to_hash_out(right)?)))
}

/// Two-to-one on already-validated digests (the tree's inner loop).
pub fn two_to_one_out(left: HashOut<F>, right: HashOut<F>) -> HashOut<F> {
    PoseidonHash::two_to_one(left, right)
}

/// Validates a digest and converts it to plonky2's form.
pub fn to_hash_out(digest: &Digest) -> Result<HashOut<F>> {
    Ok(HashOut { elements: [to_field(digest[0])?, to_field(digest[1])?, to_field(digest[2])?, to_field(digest[3])?] })
}

/// Converts plonky2's digest to canonical u64s.
pub fn from_hash_out(out: HashOut<F>) -> Digest {
    out.elements.map(to_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_rejects_non_canonical_input() {
        let mut state = [0u64; 12];
        state[3] = crate::field::P;
        assert!(matches!(permute(&state), Err(Error::NonCanonicalField(_))));
    }

    #[test]
    fn two_to_one_is_order_sensitive() {
        let a = hash(&[1]).unwrap();
        let b = hash(&[2]).unwrap();
        assert_ne!(two_to_one(&a, &b).unwrap(), two_to_one(&b, &a).unwrap());
    }
}
