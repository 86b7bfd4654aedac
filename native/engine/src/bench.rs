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

/// Rows and proving figures for `zkpipe bench datahash`.
pub struct DataHashFigures {
    /// Rows of one SHA-256 compression (64 bytes) with plonky2's own gates.
    pub plain_sha256_block_rows: usize,
    /// Rows of one keccak-f[1600] (136 bytes of rate) with plonky2's own gates.
    pub plain_keccak_f_rows: usize,
    /// Rows of one SHA-256 compression with the custom gate.
    pub gate_sha256_block_rows: usize,
    /// Per capacity: (blocks, rows, degree bits, prove seconds, verify seconds, proof bytes).
    pub circuits: Vec<(usize, usize, usize, f64, f64, usize)>,
}

/// Measures the in-circuit hashes: plain gates against the custom gate, and a data proof for
/// each capacity in `blocks` (at least 2), proven with `threads` threads on a batch that fills it.
pub fn data_hash(blocks: &[usize], threads: usize) -> Result<DataHashFigures> {
    use crate::circuits::{datahash, plain_hash, sha256};
    let (plain_sha256_block_rows, plain_keccak_f_rows) = plain_hash::plain_rows();
    let gate_sha256_block_rows = plain_hash::rows_of(|b| {
        let state = sha256::iv(b);
        let block: [plonky2::iop::target::Target; 16] = core::array::from_fn(|_| b.add_virtual_target());
        sha256::compress(b, &state, &block);
    });
    let mut circuits = Vec::new();
    for &n in blocks {
        let circuit = datahash::DataHashCircuit::build(n)?;
        // A full batch whose header's queue counts are zero (they must stay below 2^62).
        let data: Vec<u8> = (0..datahash::batch_capacity(n)).map(|i| if i < 32 { 0 } else { (i * 131 + 7) as u8 }).collect();
        let batch = datahash::BatchStart { data_in: [0; 4], acc_in: [0; 32], chain_id: 1 };
        let start = Instant::now();
        let proof = circuit.prove(&data, &batch, threads)?;
        let prove_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        circuit.verify(&proof)?;
        let verify_s = start.elapsed().as_secs_f64();
        circuits.push((n, circuit.rows, circuit.data.common.degree_bits(), prove_s, verify_s, proof.len()));
    }
    Ok(DataHashFigures { plain_sha256_block_rows, plain_keccak_f_rows, gate_sha256_block_rows, circuits })
}

/// Rows and proving figures for `zkpipe bench signatures`.
pub struct SignatureFigures {
    /// Rows one more signature adds, per backend name (plain gates, GF(p^5) gate, point gate).
    pub rows_per_signature: Vec<(&'static str, usize)>,
    /// Per count (point gate): (signatures, rows, degree bits, build s, prove s, verify s, proof bytes).
    pub circuits: Vec<(usize, usize, usize, f64, f64, f64, usize)>,
}

/// Measures in-circuit signature verification: rows per signature for each backend, and a
/// signature circuit for each count in `counts`, proven with `threads` threads.
pub fn signatures(counts: &[usize], threads: usize) -> Result<SignatureFigures> {
    use crate::circuits::auth::{rows_per_signature, SignatureCircuit};
    use crate::circuits::ecgfp5::Backend;
    let rows_per_signature = Backend::ALL.iter().map(|&b| (b.name(), rows_per_signature(b))).collect();
    let mut circuits = Vec::new();
    for &n in counts {
        let items = (0..n)
            .map(|i| {
                let (sk, pk) = sig::keygen(Some(&[i as u8 + 1; 32]))?;
                let message = [i as u64, 1, 2, 3];
                Ok((pk.to_vec(), message, sig::sign(&sk, &message)?.to_vec()))
            })
            .collect::<Result<Vec<_>>>()?;
        let start = Instant::now();
        let circuit = SignatureCircuit::build(n, Backend::EcGate);
        let build_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let proof = circuit.prove(&items, threads)?;
        let prove_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        circuit.verify(&proof)?;
        let verify_s = start.elapsed().as_secs_f64();
        circuits.push((n, circuit.rows, circuit.data.common.degree_bits(), build_s, prove_s, verify_s, proof.len()));
    }
    Ok(SignatureFigures { rows_per_signature, circuits })
}
