//! The Goldilocks field as the rest of the engine sees it: canonical u64s in, field elements out.

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};

use crate::{Error, Result};

/// The Goldilocks field, p = 2^64 - 2^32 + 1.
pub type F = GoldilocksField;

/// The field modulus.
pub const P: u64 = 0xFFFF_FFFF_0000_0001;

/// Converts a canonical u64 (< p) into a field element; anything else is refused.
pub fn to_field(value: u64) -> Result<F> {
    if value >= P {
        return Err(Error::NonCanonicalField(value));
    }
    Ok(F::from_canonical_u64(value))
}

/// Converts a slice of canonical u64s into field elements.
pub fn to_fields(values: &[u64]) -> Result<Vec<F>> {
    values.iter().map(|&v| to_field(v)).collect()
}

/// The canonical u64 of a field element.
pub fn to_u64(value: F) -> u64 {
    value.to_canonical_u64()
}
