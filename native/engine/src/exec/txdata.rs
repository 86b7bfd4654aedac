//! Per-transaction hashing done for a whole chunk at once: the transaction hash is Poseidon of a
//! domain element and the canonical encoding packed 7 little-endian bytes per element (the last
//! chunk zero-padded), exactly the spec's `compute_tx_hash`; the caller passes the spec's domain so
//! the constant has one home. Chunks are hashed in parallel on the current rayon pool.

use rayon::prelude::*;

use crate::hash::{self, Digest};
use crate::Result;

/// Bytes per packed field element (< 2^56 < p, so every element is canonical).
pub const PACKING_BYTES: usize = 7;

/// Poseidon(domain ‖ `data` packed 7 bytes per element).
pub fn packed_hash(domain: u64, data: &[u8]) -> Result<Digest> {
    let mut elements = Vec::with_capacity(1 + data.len().div_ceil(PACKING_BYTES));
    elements.push(domain);
    for chunk in data.chunks(PACKING_BYTES) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        elements.push(u64::from_le_bytes(word));
    }
    hash::hash(&elements)
}

/// Fewer encodings than this are hashed on the calling thread.
pub const PARALLEL_MIN: usize = 32;

/// [`packed_hash`] of each encoding, in order (in parallel when there are enough of them).
pub fn packed_hashes(domain: u64, encodings: &[Vec<u8>]) -> Result<Vec<Digest>> {
    if encodings.len() < PARALLEL_MIN {
        return encodings.iter().map(|e| packed_hash(domain, e)).collect();
    }
    encodings.par_iter().with_min_len(16).map(|e| packed_hash(domain, e)).collect()
}

/// Poseidon of each row of field elements, in order (in parallel when there are enough rows): the
/// spec's per-transaction digests (e.g. signing digests) for a whole chunk in one call.
pub fn hashes(rows: &[Vec<u64>]) -> Result<Vec<Digest>> {
    if rows.len() < PARALLEL_MIN {
        return rows.iter().map(|r| hash::hash(r)).collect();
    }
    rows.par_iter().with_min_len(16).map(|r| hash::hash(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_pads_the_last_chunk_and_prefixes_the_domain() {
        let data: Vec<u8> = (1..=9).collect();
        let expected = hash::hash(&[5, u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 0]), 8 | (9 << 8)]).unwrap();
        assert_eq!(packed_hash(5, &data).unwrap(), expected);
        let many: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; i as usize]).collect();
        let one_by_one: Vec<Digest> = many.iter().map(|e| packed_hash(7, e).unwrap()).collect();
        assert_eq!(packed_hashes(7, &many).unwrap(), one_by_one);
    }

    #[test]
    fn row_hashes_equal_one_hash_per_row_in_order() {
        let rows: Vec<Vec<u64>> = (0..50u64).map(|i| (0..i % 13).map(|j| i * 31 + j).collect()).collect();
        let one_by_one: Vec<Digest> = rows.iter().map(|r| hash::hash(r).unwrap()).collect();
        assert_eq!(hashes(&rows).unwrap(), one_by_one);
        assert_eq!(hashes(&rows[..3]).unwrap(), one_by_one[..3]);
    }
}
