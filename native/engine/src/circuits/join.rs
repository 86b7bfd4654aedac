//! The join (ADR 29): a batch's segment aggregate and its data-commitment proof, verified together.
//!
//! The segments show a state transition over a data chain `data_in → data_out` and a queue range
//! for a chain id; the data proof shows that the bytes L1 hashed chain `data_in → data_out` too,
//! with that queue range and chain id in their header, and computes L1's accumulated input hash
//! `acc_in → acc_out`. The join requires the five to be equal on both sides — so the proven
//! transactions are exactly the posted ones (equal Poseidon heads from one start mean equal
//! chunks) — and exposes the batch statement (`statement::BatchStatement`), which the batch
//! aggregator folds over consecutive batches with `acc_out(left) = acc_in(right)`.

use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::proof::ProofWithPublicInputsTarget;

use super::aggregate::{Aggregation, Finish};
use super::datahash::DataHashCircuit;
use super::statement::{BatchStatementTarget, StatementTarget, STATEMENT_LEN};
use super::{parse_proof, prove_with_threads, C, D, F};
use crate::{Error, Result};

/// Offsets of the data proof's public inputs (see `datahash.rs`).
const DATA_IN: usize = 9;
const DATA_OUT: usize = 13;
const ACC_IN: usize = 17;
const ACC_OUT: usize = 25;
const CHAIN_ID: usize = 33;
const QUEUE_IN: usize = 34;
const QUEUE_OUT: usize = 35;

/// The join circuit for one segment aggregation and one data-proof capacity.
pub struct JoinCircuit {
    pub data: CircuitData<F, C, D>,
    segments: ProofWithPublicInputsTarget<D>,
    is_aggregate: BoolTarget,
    data_proof: ProofWithPublicInputsTarget<D>,
}

impl JoinCircuit {
    /// Builds the join over `segments`' proofs and `datahash`'s proofs (both verifier keys are constants).
    pub fn build(segments: &Aggregation, datahash: &DataHashCircuit) -> Result<Self> {
        Self::define(segments, datahash, &mut |_, builder| Ok(builder.build::<C>()))
    }

    /// Defines the join; `finish` builds it or loads cached data (named "join").
    pub fn define(segments: &Aggregation, datahash: &DataHashCircuit, finish: Finish<'_>) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        // The batch's segments: one normalized segment proof or an aggregate of several.
        let shape = &segments.aggregator.data.common;
        let seg = builder.add_virtual_proof_with_pis(shape);
        let is_aggregate = builder.add_virtual_bool_target_safe();
        let aggregator_vd = builder.constant_verifier_data(&segments.aggregator.data.verifier_only);
        let normalizer_vd = builder.constant_verifier_data(&segments.normalizer.data.verifier_only);
        let vd = builder.select_verifier_data(is_aggregate, &aggregator_vd, &normalizer_vd);
        builder.verify_proof::<C>(&seg, &vd, shape);
        // An aggregate verified its children against the key it carries: it must be the aggregator's.
        let carried = &seg.public_inputs[STATEMENT_LEN..];
        let real: Vec<Target> = aggregator_vd
            .circuit_digest
            .elements
            .iter()
            .chain(aggregator_vd.constants_sigmas_cap.0.iter().flat_map(|h| h.elements.iter()))
            .copied()
            .collect();
        for (&theirs, &ours) in carried.iter().zip(&real) {
            builder.conditional_assert_eq(is_aggregate.target, theirs, ours);
        }
        // The batch's data proof.
        let data_proof = builder.add_virtual_proof_with_pis(&datahash.data.common);
        let data_vd = builder.constant_verifier_data(&datahash.data.verifier_only);
        builder.verify_proof::<C>(&data_proof, &data_vd, &datahash.data.common);
        let s = StatementTarget::from_targets(&seg.public_inputs);
        let d = data_proof.public_inputs.clone();
        // The join's five rules: one data chain, one queue range, one chain id.
        for i in 0..4 {
            builder.connect(s.data_in.elements[i], d[DATA_IN + i]);
            builder.connect(s.data_out.elements[i], d[DATA_OUT + i]);
        }
        builder.connect(s.queue_in, d[QUEUE_IN]);
        builder.connect(s.queue_out, d[QUEUE_OUT]);
        builder.connect(s.chain_id, d[CHAIN_ID]);
        let statement = BatchStatementTarget {
            root_before: s.root_before,
            root_after: s.root_after,
            acc_in: d[ACC_IN..ACC_IN + 8].to_vec(),
            acc_out: d[ACC_OUT..ACC_OUT + 8].to_vec(),
            withdrawals_in: s.withdrawals_in,
            withdrawals_out: s.withdrawals_out,
            deposits_in: s.deposits_in,
            deposits_out: s.deposits_out,
            fee_total: s.fee_total,
            queue_in: s.queue_in,
            queue_out: s.queue_out,
            chain_id: s.chain_id,
        };
        builder.register_public_inputs(&statement.to_targets());
        Ok(Self { data: finish("join", builder)?, segments: seg, is_aggregate, data_proof })
    }

    /// Joins a batch's segments proof (`is_aggregate`: an aggregate, else one normalized segment
    /// proof) with its data proof; both are verified first.
    pub fn prove(
        &self,
        segments: &Aggregation,
        datahash: &DataHashCircuit,
        (segments_proof, is_aggregate): (&[u8], bool),
        data_proof: &[u8],
        threads: usize,
    ) -> Result<Vec<u8>> {
        let fail = |e: anyhow::Error| Error::ProvingFailed(e.to_string());
        let seg = if is_aggregate {
            segments.aggregator.check(segments_proof)?
        } else {
            let proof = parse_proof(segments_proof, &segments.normalizer.data.common)?;
            segments.normalizer.data.verify(proof.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
            proof
        };
        let data = parse_proof(data_proof, &datahash.data.common)?;
        datahash.data.verify(data.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.segments, &seg).map_err(fail)?;
        pw.set_bool_target(self.is_aggregate, is_aggregate).map_err(fail)?;
        pw.set_proof_with_pis_target(&self.data_proof, &data).map_err(fail)?;
        prove_with_threads(&self.data, pw, threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuits::aggregate::tests::{free_statement_circuit, prove_free};
    use crate::circuits::aggregate::{Aggregation, BatchLayout};
    use crate::circuits::datachain;
    use crate::circuits::datahash::{BatchStart, HEADER_BYTES};
    use crate::circuits::statement::{BatchStatement, Statement};

    /// Batch `number`'s posted bytes: header (number, timestamp, queue `q..q + 1`) and two chunks.
    fn batch_data(number: u64, q: u64, salt: u8) -> Vec<u8> {
        let mut data = vec![0u8; HEADER_BYTES + 32];
        data[..8].copy_from_slice(&number.to_le_bytes());
        data[8..16].copy_from_slice(&(1000 + number).to_le_bytes());
        data[16..24].copy_from_slice(&q.to_le_bytes());
        data[24..32].copy_from_slice(&(q + 1).to_le_bytes());
        for (i, b) in data[HEADER_BYTES..].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31) ^ salt;
        }
        data
    }

    /// The segments' statement the spec would give batch `data` from `data_in`, roots `step`.
    fn segments_statement(data: &[u8], data_in: [u64; 4], step: u64, chain_id: u64) -> Statement {
        let mut s = Statement::sample(step, 1);
        s.data_in = data_in;
        s.data_out = datachain::chain(&data_in, &data[HEADER_BYTES..]).unwrap();
        s.queue_in = u64::from_le_bytes(data[16..24].try_into().unwrap());
        s.queue_out = u64::from_le_bytes(data[24..32].try_into().unwrap());
        s.chain_id = chain_id;
        s
    }

    #[test]
    fn a_join_binds_segments_to_l1s_data_and_batches_chain_l1s_hash() {
        let (segment, targets) = free_statement_circuit();
        let agg = Aggregation::build(&segment).unwrap();
        let datahash = DataHashCircuit::build(2).unwrap();
        let join = JoinCircuit::build(&agg, &datahash).unwrap();
        let batches = Aggregation::<BatchLayout>::build(&join.data).unwrap();
        let chain_id = 7;
        let start = BatchStart { data_in: [1, 2, 3, 4], acc_in: [9; 32], chain_id };
        let seg_proof = |s: &Statement| agg.normalizer.prove(&segment, &prove_free(&segment, &targets, s), 0).unwrap();
        let data1 = batch_data(1, 0, 0);
        let dp1 = datahash.prove(&data1, &start, 0).unwrap();
        let d1 = datahash.verify(&dp1).unwrap();
        let honest = segments_statement(&data1, start.data_in, 0, chain_id);
        // Honest: the batch statement has the segments' roots and chains and L1's hashes.
        let j1 = join.prove(&agg, &datahash, (&seg_proof(&honest), false), &dp1, 0).unwrap();
        let s1 = BatchStatement::from_public_inputs(&crate::circuits::verify_bytes(&join.data, &j1).unwrap()).unwrap();
        let words = |b: &[u8; 32]| -> [u64; 8] { core::array::from_fn(|i| u64::from(u32::from_be_bytes(b[4 * i..4 * i + 4].try_into().unwrap()))) };
        assert_eq!((s1.root_before, s1.root_after), (honest.root_before, honest.root_after));
        assert_eq!((s1.acc_in, s1.acc_out), (words(&start.acc_in), words(&d1.acc_out)));
        assert_eq!((s1.queue_in, s1.queue_out, s1.chain_id, s1.fee_total), (0, 1, chain_id, honest.fee_total));
        // Each case breaks exactly one join rule; every one must be refused.
        let mut refused_wrongly = Vec::new();
        let mut case = |name: &str, s: Statement, dp: &[u8]| {
            if join.prove(&agg, &datahash, (&seg_proof(&s), false), dp, 0).is_ok() {
                refused_wrongly.push(name.to_owned());
            }
        };
        let mut one_byte = data1.clone();
        one_byte[HEADER_BYTES + 3] ^= 1;
        case("data differing from L1's by one byte", honest, &datahash.prove(&one_byte, &start, 0).unwrap());
        let spliced = segments_statement(&data1, [5, 6, 7, 8], 0, chain_id);
        case("segments spliced from another data chain start", spliced, &dp1);
        let mut s = honest;
        s.queue_in += 1;
        case("another queue start", s, &dp1);
        let mut s = honest;
        s.queue_out += 1;
        case("another queue end", s, &dp1);
        let other_chain = BatchStart { chain_id: chain_id + 1, ..start.clone() };
        case("a data proof for another chain id", honest, &datahash.prove(&data1, &other_chain, 0).unwrap());
        assert!(refused_wrongly.is_empty(), "accepted: {refused_wrongly:?}");
        // Two consecutive batches fold; L1's hash chains from the first batch's to the last's.
        let start2 = BatchStart { data_in: honest.data_out, acc_in: d1.acc_out, chain_id };
        let data2 = batch_data(2, 1, 5);
        let dp2 = datahash.prove(&data2, &start2, 0).unwrap();
        let seg2 = segments_statement(&data2, honest.data_out, 1, chain_id);
        let j2 = join.prove(&agg, &datahash, (&seg_proof(&seg2), false), &dp2, 0).unwrap();
        let n1 = batches.normalizer.prove(&join.data, &j1, 0).unwrap();
        let n2 = batches.normalizer.prove(&join.data, &j2, 0).unwrap();
        let both = batches.aggregator.prove(&batches.normalizer, (&n1, false), (&n2, false), 0).unwrap();
        let s = BatchStatement::from_public_inputs(&batches.verify(&both, true).unwrap()).unwrap();
        assert_eq!((s.acc_in, s.acc_out), (words(&start.acc_in), words(&datahash.verify(&dp2).unwrap().acc_out)));
        assert_eq!((s.root_before, s.root_after, s.queue_in, s.queue_out), (honest.root_before, seg2.root_after, 0, 2));
        // A batch whose L1 hash does not continue the first's is refused (here: batch 2 from another acc_in).
        let off = BatchStart { acc_in: [8; 32], ..start2 };
        let j2_off = join.prove(&agg, &datahash, (&seg_proof(&seg2), false), &datahash.prove(&data2, &off, 0).unwrap(), 0).unwrap();
        let n2_off = batches.normalizer.prove(&join.data, &j2_off, 0).unwrap();
        assert!(batches.aggregator.prove(&batches.normalizer, (&n1, false), (&n2_off, false), 0).is_err());
    }
}
