//! Tight native loops for `zkpipe bench primitives`: one thread, no Python in the loop.

use std::hint::black_box;
use std::time::Instant;

use crate::hash::{self, ZERO_DIGEST};
use crate::smt::SparseMerkleTree;
use crate::{sig, Error, Result};

/// Runs `iterations` of the named primitive and returns the elapsed seconds.
///
/// Names: `poseidon_permute`, `poseidon_two_to_one`, `smt_update` (one leaf per
/// update in a depth-32 tree), `sig_sign`, `sig_verify`.
pub fn run(name: &str, iterations: u64) -> Result<f64> {
    match name {
        "poseidon_permute" => {
            let mut state = [0u64; 12];
            let start = Instant::now();
            for _ in 0..iterations {
                state = hash::permute(black_box(&state))?;
            }
            black_box(state);
            Ok(start.elapsed().as_secs_f64())
        }
        "poseidon_two_to_one" => {
            let mut digest = ZERO_DIGEST;
            let start = Instant::now();
            for _ in 0..iterations {
                digest = hash::two_to_one(black_box(&digest), &ZERO_DIGEST)?;
            }
            black_box(digest);
            Ok(start.elapsed().as_secs_f64())
        }
        "smt_update" => {
            let mut tree = SparseMerkleTree::new(32)?;
            let leaves: Vec<(u64, [u64; 4])> =
                (0..iterations).map(|i| (i.wrapping_mul(2_654_435_761) % (1 << 32), [i + 1, 0, 0, 0])).collect();
            let start = Instant::now();
            for leaf in &leaves {
                tree.update(std::slice::from_ref(leaf))?;
            }
            Ok(start.elapsed().as_secs_f64())
        }
        "sig_sign" | "sig_verify" => {
            let (sk, pk) = sig::keygen(Some(&[42u8; 32]))?;
            let message = [1, 2, 3, 4];
            let signature = sig::sign(&sk, &message)?;
            let start = Instant::now();
            for _ in 0..iterations {
                if name == "sig_sign" {
                    black_box(sig::sign(&sk, black_box(&message))?);
                } else if !sig::verify(&pk, black_box(&message), &signature)? {
                    return Err(Error::MalformedSignature("benchmark signature did not verify"));
                }
            }
            Ok(start.elapsed().as_secs_f64())
        }
        _ => Err(Error::UnknownBenchmark(name.to_owned())),
    }
}
