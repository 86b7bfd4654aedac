//! Recursive aggregation: segment proofs are normalized to one shape, then folded two at a time.
//!
//! Two circuits per segment circuit:
//!
//! - the **normalizer** verifies one segment proof (its verifier key is a constant)
//!   and re-exposes the statement, padded so that its proofs have exactly the
//!   aggregator's shape (same gates, degree and number of public inputs);
//! - the **aggregator** verifies two children — each either a normalized segment
//!   proof or an aggregator proof — enforces continuity and exposes the combined
//!   statement. It is *cyclic*: it verifies proofs of itself, whose verifier key
//!   it carries in its public inputs; `verify_cyclic` checks that key against
//!   the real one. So any number of segments folds into one proof of constant size.
//!
//! Public inputs of both: the statement (`L::LEN` elements of a `Layout`), then the aggregator's
//! verifier key (circuit digest and constants/sigmas cap; zeros in normalizer proofs).
//!
//! The same pair folds two layouts: segment statements (`SegmentLayout`, the 36-element
//! `Statement`) within a batch, and batch statements (`BatchLayout`) over the joins of whole
//! batches (`join.rs`).

use plonky2::gates::noop::NoopGate;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitConfig, CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};

use std::marker::PhantomData;

use super::statement::{BatchStatementTarget, StatementTarget, BATCH_STATEMENT_LEN, STATEMENT_LEN};
use super::{parse_proof, prove_with_threads, C, D, F};
use crate::field::to_u64;
use crate::{Error, Result};

/// Rounds of shape fixing before giving up (it converges in two or three).
const MAX_SHAPE_ROUNDS: usize = 6;

/// A public-statement layout: its length and how two adjacent statements combine.
pub trait Layout {
    /// Field elements of a statement.
    const LEN: usize;
    /// Constrains `left` to end where `right` starts; returns the combined statement's targets.
    fn combine(builder: &mut CircuitBuilder<F, D>, left: &[Target], right: &[Target]) -> Vec<Target>;
}

/// Segment statements (`statement::Statement`), folded within a batch.
pub struct SegmentLayout;

impl Layout for SegmentLayout {
    const LEN: usize = STATEMENT_LEN;
    fn combine(builder: &mut CircuitBuilder<F, D>, left: &[Target], right: &[Target]) -> Vec<Target> {
        let (l, r) = (StatementTarget::from_targets(left), StatementTarget::from_targets(right));
        StatementTarget::combine(builder, &l, &r).to_targets()
    }
}

/// Batch statements (`statement::BatchStatement`), folded over joined batches.
pub struct BatchLayout;

impl Layout for BatchLayout {
    const LEN: usize = BATCH_STATEMENT_LEN;
    fn combine(builder: &mut CircuitBuilder<F, D>, left: &[Target], right: &[Target]) -> Vec<Target> {
        let (l, r) = (BatchStatementTarget::from_targets(left), BatchStatementTarget::from_targets(right));
        BatchStatementTarget::combine(builder, &l, &r).to_targets()
    }
}

/// The normalizer: one inner proof in, one aggregator-shaped proof out.
pub struct Normalizer<L: Layout = SegmentLayout> {
    pub data: CircuitData<F, C, D>,
    inner: ProofWithPublicInputsTarget<D>,
    layout: PhantomData<L>,
}

/// One child slot of the aggregator.
struct ChildTarget {
    proof: ProofWithPublicInputsTarget<D>,
    is_aggregate: BoolTarget,
}

/// The cyclic aggregator.
pub struct Aggregator<L: Layout = SegmentLayout> {
    pub data: CircuitData<F, C, D>,
    children: [ChildTarget; 2],
    own_vd: VerifierCircuitTarget,
    layout: PhantomData<L>,
}

/// The normalizer and aggregator built for one inner (segment or join) circuit.
pub struct Aggregation<L: Layout = SegmentLayout> {
    pub normalizer: Normalizer<L>,
    pub aggregator: Aggregator<L>,
}

fn vd_len(common: &CommonCircuitData<F, D>) -> usize {
    4 + 4 * common.config.fri_config.num_cap_elements()
}

/// Adds no-op rows until the circuit rounds up to `2^degree_bits` rows.
fn pad_to_degree(builder: &mut CircuitBuilder<F, D>, degree_bits: usize) {
    // Leave headroom for the rows `build` adds itself (constants, public-input hashing).
    let target = (1usize << (degree_bits - 1)) + 1;
    while builder.num_gates() < target {
        builder.add_gate(NoopGate, vec![]);
    }
}

/// Builds a circuit, or loads it when a cached copy is given.
pub type Finish<'a> = &'a mut dyn FnMut(&str, CircuitBuilder<F, D>) -> Result<CircuitData<F, C, D>>;

fn build_fresh(_: &str, builder: CircuitBuilder<F, D>) -> Result<CircuitData<F, C, D>> {
    Ok(builder.build::<C>())
}

impl<L: Layout> Normalizer<L> {
    fn build(
        segment: &CommonCircuitData<F, D>,
        segment_vd: &VerifierOnlyCircuitData<C, D>,
        shape: Option<&CommonCircuitData<F, D>>,
        degree_bits: usize,
        finish: Finish<'_>,
    ) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inner = builder.add_virtual_proof_with_pis(segment);
        // The segment verifier key is a constant: only this segment circuit's proofs are accepted.
        let vd = builder.constant_verifier_data(segment_vd);
        builder.verify_proof::<C>(&inner, &vd, segment);
        builder.register_public_inputs(&inner.public_inputs[..L::LEN]);
        let zero = builder.zero();
        let padding = shape.map_or(vd_len(segment), vd_len);
        builder.register_public_inputs(&vec![zero; padding]);
        if let Some(shape) = shape {
            for gate in &shape.gates {
                builder.add_gate_to_gate_set(gate.clone());
            }
        }
        pad_to_degree(&mut builder, degree_bits);
        Ok(Self { data: finish("normalizer", builder)?, inner, layout: PhantomData })
    }

    /// Normalizes a (verified) inner proof.
    pub fn prove(&self, segment: &CircuitData<F, C, D>, segment_proof: &[u8], threads: usize) -> Result<Vec<u8>> {
        let parsed = parse_proof(segment_proof, &segment.common)?;
        segment.verify(parsed.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.inner, &parsed).map_err(|e| Error::ProvingFailed(e.to_string()))?;
        prove_with_threads(&self.data, pw, threads)
    }
}

impl<L: Layout> Aggregator<L> {
    fn build(
        shape: &CommonCircuitData<F, D>,
        normalizer_vd: &VerifierOnlyCircuitData<C, D>,
        degree_bits: usize,
        finish: Finish<'_>,
    ) -> Result<Self> {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let mut statements = Vec::new();
        let mut children = Vec::new();
        let mut pending_checks = Vec::new();
        for _ in 0..2 {
            let proof = builder.add_virtual_proof_with_pis(shape);
            let is_aggregate = builder.add_virtual_bool_target_safe();
            statements.push(proof.public_inputs[..L::LEN].to_vec());
            children.push(ChildTarget { proof, is_aggregate });
        }
        let combined = L::combine(&mut builder, &statements[0], &statements[1]);
        builder.register_public_inputs(&combined);
        let own_vd = builder.add_verifier_data_public_inputs();
        let own_vd_targets: Vec<Target> =
            own_vd.circuit_digest.elements.iter().chain(own_vd.constants_sigmas_cap.0.iter().flat_map(|h| h.elements.iter())).copied().collect();
        let base_vd = builder.constant_verifier_data(normalizer_vd);
        for child in &children {
            // A child is verified against our own key (an aggregate) or the normalizer's (a segment) ...
            let vd = builder.select_verifier_data(child.is_aggregate, &own_vd, &base_vd);
            builder.verify_proof::<C>(&child.proof, &vd, shape);
            // ... and an aggregate child must carry our key too, so the whole tree uses one key.
            let tail = &child.proof.public_inputs[child.proof.public_inputs.len() - own_vd_targets.len()..];
            pending_checks.push((child.is_aggregate, tail.to_vec()));
        }
        for (is_aggregate, tail) in pending_checks {
            for (&theirs, &ours) in tail.iter().zip(&own_vd_targets) {
                builder.conditional_assert_eq(is_aggregate.target, theirs, ours);
            }
        }
        for gate in &shape.gates {
            builder.add_gate_to_gate_set(gate.clone());
        }
        pad_to_degree(&mut builder, degree_bits);
        let data = finish("aggregator", builder)?;
        let [left, right]: [ChildTarget; 2] = children.try_into().map_err(|_| Error::ProvingFailed("two children".into()))?;
        Ok(Self { data, children: [left, right], own_vd, layout: PhantomData })
    }

    /// Aggregates two children, each `(proof bytes, is_aggregate)`; both are verified first.
    pub fn prove(&self, normalizer: &Normalizer<L>, left: (&[u8], bool), right: (&[u8], bool), threads: usize) -> Result<Vec<u8>> {
        let mut pw = PartialWitness::new();
        for (slot, (bytes, is_aggregate)) in self.children.iter().zip([left, right]) {
            let proof = if is_aggregate { self.check(bytes)? } else { normalizer_check(normalizer, bytes)? };
            pw.set_proof_with_pis_target(&slot.proof, &proof).map_err(|e| Error::ProvingFailed(e.to_string()))?;
            pw.set_bool_target(slot.is_aggregate, is_aggregate).map_err(|e| Error::ProvingFailed(e.to_string()))?;
        }
        pw.set_verifier_data_target(&self.own_vd, &self.data.verifier_only)
            .map_err(|e| Error::ProvingFailed(e.to_string()))?;
        prove_with_threads(&self.data, pw, threads)
    }

    /// Parses and verifies an aggregate proof (including its embedded verifier key).
    pub fn check(&self, bytes: &[u8]) -> Result<ProofWithPublicInputs<F, C, D>> {
        let proof = parse_proof(bytes, &self.data.common)?;
        self.data.verify_cyclic(proof.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
        Ok(proof)
    }
}

fn normalizer_check<L: Layout>(normalizer: &Normalizer<L>, bytes: &[u8]) -> Result<ProofWithPublicInputs<F, C, D>> {
    let proof = parse_proof(bytes, &normalizer.data.common)?;
    normalizer.data.verify(proof.clone()).map_err(|e| Error::InvalidProof(e.to_string()))?;
    Ok(proof)
}

impl<L: Layout> Aggregation<L> {
    /// Builds normalizer and aggregator for an inner circuit, iterating until their shapes agree.
    pub fn build(segment: &CircuitData<F, C, D>) -> Result<Self> {
        let fresh: Finish<'_> = &mut build_fresh;
        let first = Normalizer::<L>::build(&segment.common, &segment.verifier_only, None, 2, fresh)?;
        let mut degree_bits = first.data.common.degree_bits();
        let mut shape = first.data.common.clone();
        for _ in 0..MAX_SHAPE_ROUNDS {
            shape.num_public_inputs = L::LEN + vd_len(&shape);
            let seg = (&segment.common, &segment.verifier_only);
            let normalizer = Normalizer::<L>::build(seg.0, seg.1, Some(&shape), degree_bits, &mut build_fresh)?;
            let aggregator = Aggregator::<L>::build(&shape, &normalizer.data.verifier_only, degree_bits, &mut build_fresh)?;
            let (n, a) = (&normalizer.data.common, &aggregator.data.common);
            if *n == shape && *a == shape {
                return Ok(Self { normalizer, aggregator });
            }
            degree_bits = degree_bits.max(n.degree_bits()).max(a.degree_bits());
            shape = a.clone();
        }
        Err(Error::ProvingFailed("aggregation circuit shapes did not converge".into()))
    }

    /// Rebuilds the circuit handles around cached circuit data (`load` returns the data by name).
    ///
    /// `shape` is the cached aggregator's common data; both circuits must come back with exactly it.
    pub fn load(segment: &CircuitData<F, C, D>, shape: &CommonCircuitData<F, D>, load: Finish<'_>) -> Result<Self> {
        let degree_bits = shape.degree_bits();
        let normalizer = Normalizer::<L>::build(&segment.common, &segment.verifier_only, Some(shape), degree_bits, load)?;
        let aggregator = Aggregator::<L>::build(shape, &normalizer.data.verifier_only, degree_bits, load)?;
        if normalizer.data.common != *shape || aggregator.data.common != *shape {
            return Err(Error::ProvingFailed("cached aggregation circuits do not share one shape".into()));
        }
        Ok(Self { normalizer, aggregator })
    }

    /// Verifies a proof of either kind and returns its statement's public inputs.
    pub fn verify(&self, bytes: &[u8], is_aggregate: bool) -> Result<Vec<u64>> {
        let proof = if is_aggregate { self.aggregator.check(bytes)? } else { normalizer_check(&self.normalizer, bytes)? };
        Ok(proof.public_inputs[..L::LEN].iter().copied().map(to_u64).collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::circuits::statement::Statement;

    /// A stand-in segment circuit for tests only: it proves whatever statement it is given.
    pub(crate) fn free_statement_circuit() -> (CircuitData<F, C, D>, Vec<Target>) {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let targets = builder.add_virtual_targets(STATEMENT_LEN);
        builder.range_check(targets[32], 62);
        builder.register_public_inputs(&targets);
        (builder.build::<C>(), targets)
    }

    fn statement(step: u64) -> Statement {
        Statement::sample(step, 3)
    }

    pub(crate) fn prove_free(circuit: &CircuitData<F, C, D>, targets: &[Target], s: &Statement) -> Vec<u8> {
        let mut pw = PartialWitness::new();
        for (t, v) in targets.iter().zip(s.to_vec()) {
            pw.set_target(*t, crate::field::to_field(v).unwrap()).unwrap();
        }
        prove_with_threads(circuit, pw, 0).unwrap()
    }

    #[test]
    fn three_segments_fold_into_one_constant_size_proof() {
        let (segment, targets) = free_statement_circuit();
        let agg = Aggregation::<SegmentLayout>::build(&segment).unwrap();
        let normalized: Vec<Vec<u8>> = (0..3)
            .map(|i| agg.normalizer.prove(&segment, &prove_free(&segment, &targets, &statement(i)), 0).unwrap())
            .collect();
        let ab = agg.aggregator.prove(&agg.normalizer, (&normalized[0], false), (&normalized[1], false), 0).unwrap();
        let abc = agg.aggregator.prove(&agg.normalizer, (&ab, true), (&normalized[2], false), 0).unwrap();
        assert_eq!(ab.len(), abc.len());
        assert_eq!(ab.len(), normalized[0].len());
        let s = Statement::from_public_inputs(&agg.verify(&abc, true).unwrap()).unwrap();
        assert_eq!(s.root_before, statement(0).root_before);
        assert_eq!(s.root_after, statement(2).root_after);
        assert_eq!(s.fee_total, 1 + 2 + 3);
        // Non-adjacent children cannot be aggregated.
        assert!(agg.aggregator.prove(&agg.normalizer, (&normalized[0], false), (&normalized[2], false), 0).is_err());
        // A segment proof is not an aggregate proof and vice versa.
        assert!(agg.verify(&normalized[0], true).is_err());
        assert!(agg.verify(&ab, false).is_err());
    }
}
