//! A custom gate for ECgFp5 double-scalar multiplication: each row runs `steps` steps of
//! `acc ← 2·acc + b1·P1 + b2·P2` (Shamir's trick, one bit of each scalar per step).
//!
//! Routed wires: the incoming accumulator, P1, P2, the step bits and the outgoing accumulator;
//! the doubled point, the selected points `b·P`, the partial sums and the accumulators between
//! steps are private wires of the row. Every point relation is the complete affine addition law
//! of [`add_constraints`] (degree 5), so doubling, the neutral element and `P + P` need no case
//! split; bits are boolean and a selected point is `b·P` coordinate-wise (the neutral element is
//! (0, 0)). Two steps fill 134 of a standard recursion row's 135 wires.

use plonky2::field::extension::Extendable;
use plonky2::gates::gate::Gate;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::algebra::{Algebra, Targets, Values};
use crate::circuits::ecgfp5::arith::{add_constraints, add_native, Affine};
use crate::circuits::{D, F};

/// First wire of the incoming accumulator (x then u, five coefficients each).
pub const WIRE_ACC: usize = 0;
/// First wire of the first base point.
pub const WIRE_P1: usize = 10;
/// First wire of the second base point.
pub const WIRE_P2: usize = 20;
const WIRE_BITS: usize = 30;
const ADVICE_PER_STEP: usize = 50;

/// Wire of step `j`'s bit for `P1` (`which = 0`) or `P2` (`which = 1`).
pub const fn wire_bit(j: usize, which: usize) -> usize {
    WIRE_BITS + 2 * j + which
}

/// The gate.
#[derive(Clone, Copy, Debug)]
pub struct EcStepGate {
    pub steps: usize,
}

impl EcStepGate {
    pub const fn new(steps: usize) -> Self {
        Self { steps }
    }

    /// First wire of the outgoing accumulator.
    pub const fn wire_out(&self) -> usize {
        WIRE_BITS + 2 * self.steps
    }

    const fn advice(&self, j: usize) -> usize {
        self.wire_out() + 10 + ADVICE_PER_STEP * j
    }

    /// First wires of step `j`'s doubled point, selected P1, partial sum and selected P2.
    const fn step_wires(&self, j: usize) -> [usize; 4] {
        let a = self.advice(j);
        [a, a + 10, a + 20, a + 30]
    }

    /// First wire of the accumulator entering step `j`.
    const fn acc_in(&self, j: usize) -> usize {
        if j == 0 {
            WIRE_ACC
        } else {
            self.advice(j - 1) + 40
        }
    }

    /// First wire of the accumulator leaving step `j`.
    const fn acc_out(&self, j: usize) -> usize {
        if j + 1 == self.steps {
            self.wire_out()
        } else {
            self.advice(j) + 40
        }
    }

    /// Every wire the gate constrains.
    pub const fn wires(&self) -> usize {
        self.wire_out() + 10 + ADVICE_PER_STEP * self.steps - 10
    }
}

fn point<V: Copy>(w: &[V], start: usize) -> Affine<V> {
    (core::array::from_fn(|i| w[start + i]), core::array::from_fn(|i| w[start + 5 + i]))
}

fn constraints<A: Algebra>(gate: &EcStepGate, alg: &mut A, w: &[A::V]) -> Vec<A::V> {
    let one = alg.constant(1);
    let mut out = Vec::with_capacity(52 * gate.steps);
    let (p1, p2) = (point(w, WIRE_P1), point(w, WIRE_P2));
    for j in 0..gate.steps {
        let [dbl, q1, sum, q2] = gate.step_wires(j).map(|c| point(w, c));
        let acc = point(w, gate.acc_in(j));
        let next = point(w, gate.acc_out(j));
        for (which, (p, q)) in [(p1, q1), (p2, q2)].into_iter().enumerate() {
            let b = w[wire_bit(j, which)];
            let b_minus_one = alg.sub(b, one);
            out.push(alg.mul(b, b_minus_one));
            for i in 0..5 {
                let bx = alg.mul(b, p.0[i]);
                out.push(alg.sub(q.0[i], bx));
                let bu = alg.mul(b, p.1[i]);
                out.push(alg.sub(q.1[i], bu));
            }
        }
        out.extend(add_constraints(alg, acc, acc, dbl));
        out.extend(add_constraints(alg, dbl, q1, sum));
        out.extend(add_constraints(alg, sum, q2, next));
    }
    out
}

impl Gate<F, D> for EcStepGate {
    fn id(&self) -> String {
        format!("EcStepGate({})", self.steps)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.steps)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { steps: src.read_usize()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<<F as Extendable<D>>::Extension> {
        constraints(self, &mut Values::new(), vars.local_wires)
    }

    fn eval_unfiltered_base_one(&self, vars: EvaluationVarsBase<F>, mut yield_constr: StridedConstraintConsumer<F>) {
        let wires: Vec<F> = (0..self.wires()).map(|i| vars.local_wires[i]).collect();
        yield_constr.many(constraints(self, &mut Values::new(), &wires));
    }

    fn eval_unfiltered_circuit(&self, builder: &mut CircuitBuilder<F, D>, vars: EvaluationTargets<D>) -> Vec<ExtensionTarget<D>> {
        constraints(self, &mut Targets(builder), vars.local_wires)
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(EcStepGenerator { row, gate: *self }.adapter())]
    }

    fn num_wires(&self) -> usize {
        self.wires()
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        5
    }

    fn num_constraints(&self) -> usize {
        52 * self.steps
    }
}

/// Fills one row: every step's intermediate points and the outgoing accumulator.
#[derive(Debug)]
pub struct EcStepGenerator {
    row: usize,
    gate: EcStepGate,
}

impl SimpleGenerator<F, D> for EcStepGenerator {
    fn id(&self) -> String {
        "EcStepGenerator".to_owned()
    }

    fn dependencies(&self) -> Vec<Target> {
        let mut wires: Vec<usize> = (0..WIRE_BITS).collect();
        wires.extend((0..self.gate.steps).flat_map(|j| [wire_bit(j, 0), wire_bit(j, 1)]));
        wires.into_iter().map(|c| Target::wire(self.row, c)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let row = self.row;
        let get_point = |start: usize| -> Affine<F> {
            let get = |c: usize| witness.get_target(Target::wire(row, c));
            (core::array::from_fn(|i| get(start + i)), core::array::from_fn(|i| get(start + 5 + i)))
        };
        let set_point = |out: &mut GeneratedValues<F>, start: usize, p: Affine<F>| -> anyhow::Result<()> {
            for i in 0..5 {
                out.set_target(Target::wire(row, start + i), p.0[i])?;
                out.set_target(Target::wire(row, start + 5 + i), p.1[i])?;
            }
            Ok(())
        };
        let (p1, p2) = (get_point(WIRE_P1), get_point(WIRE_P2));
        let mut acc = get_point(WIRE_ACC);
        for j in 0..self.gate.steps {
            let [dbl_w, q1_w, sum_w, q2_w] = self.gate.step_wires(j);
            let select = |which: usize, p: Affine<F>| -> Affine<F> {
                let b = witness.get_target(Target::wire(row, wire_bit(j, which)));
                (p.0.map(|v| v * b), p.1.map(|v| v * b))
            };
            let (q1, q2) = (select(0, p1), select(1, p2));
            let dbl = add_native(acc, acc);
            let sum = add_native(dbl, q1);
            acc = add_native(sum, q2);
            set_point(out, dbl_w, dbl)?;
            set_point(out, q1_w, q1)?;
            set_point(out, sum_w, sum)?;
            set_point(out, q2_w, q2)?;
            set_point(out, self.gate.acc_out(j), acc)?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.gate.steps)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, gate: EcStepGate::new(src.read_usize()?) })
    }
}

#[cfg(test)]
mod tests {
    use goldilocks_crypto::{Point, ScalarField};
    use plonky2::field::extension::FieldExtension;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::hash::hash_types::HashOut;
    use plonky2::field::types::{Field, Sample};
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;

    use super::*;
    use crate::circuits::ecgfp5::arith::affine_of;
    use crate::circuits::C;

    type FE = <F as Extendable<D>>::Extension;

    #[test]
    fn two_steps_fit_a_row_have_degree_five_and_agree_in_recursion() {
        let gate = EcStepGate::new(2);
        assert!(gate.wires() <= CircuitConfig::standard_recursion_config().num_wires);
        assert!(gate.wire_out() + 10 <= CircuitConfig::standard_recursion_config().num_routed_wires);
        test_low_degree::<F, _, D>(gate);
        test_eval_fns::<F, C, _, D>(gate).unwrap();
    }

    /// A row generated by the gate itself for acc, P1, P2 and bits (b1, b2) per step.
    fn honest_row(acc: &Point, p1: &Point, p2: &Point, bits: &[(u64, u64)]) -> Vec<F> {
        let gate = EcStepGate::new(bits.len());
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let row = builder.add_gate(gate, vec![]);
        let mut pw = PartialWitness::new();
        for (start, p) in [(WIRE_ACC, acc), (WIRE_P1, p1), (WIRE_P2, p2)] {
            let (x, u) = affine_of(p);
            for i in 0..5 {
                pw.set_target(Target::wire(row, start + i), x[i]).unwrap();
                pw.set_target(Target::wire(row, start + 5 + i), u[i]).unwrap();
            }
        }
        for (j, &(b1, b2)) in bits.iter().enumerate() {
            pw.set_target(Target::wire(row, wire_bit(j, 0)), F::from_canonical_u64(b1)).unwrap();
            pw.set_target(Target::wire(row, wire_bit(j, 1)), F::from_canonical_u64(b2)).unwrap();
        }
        builder.register_public_input(Target::wire(row, gate.wire_out()));
        let data = builder.build::<C>();
        let witness = generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
        (0..gate.wires()).map(|c| witness.try_get_target(Target::wire(row, c)).unwrap_or(F::ZERO)).collect()
    }

    fn holds(gate: &EcStepGate, wires: &[F]) -> bool {
        let ext: Vec<FE> = wires.iter().map(|&v| <FE as FieldExtension<D>>::from_basefield(v)).collect();
        let hash = HashOut::rand();
        let vars = EvaluationVars { local_constants: &[], local_wires: &ext, public_inputs_hash: &hash };
        gate.eval_unfiltered(vars).iter().all(|c| *c == FE::ZERO)
    }

    fn random_point() -> Point {
        Point::generator().mul(&ScalarField::sample_crypto())
    }

    #[test]
    fn rows_compute_two_shamir_steps_like_goldilocks_crypto() {
        let (acc, p1, p2) = (random_point(), random_point(), random_point());
        for bits in [[(0, 0), (0, 0)], [(1, 0), (0, 1)], [(1, 1), (1, 1)], [(0, 1), (1, 0)]] {
            let wires = honest_row(&acc, &p1, &p2, &bits);
            let mut expected = acc;
            for &(b1, b2) in &bits {
                expected = expected.double();
                if b1 == 1 {
                    expected = expected.add(&p1);
                }
                if b2 == 1 {
                    expected = expected.add(&p2);
                }
            }
            let gate = EcStepGate::new(2);
            let out = gate.wire_out();
            let (x, u) = affine_of(&expected);
            assert_eq!(&wires[out..out + 5], &x, "{bits:?}");
            assert_eq!(&wires[out + 5..out + 10], &u, "{bits:?}");
            assert!(holds(&gate, &wires));
        }
        // From the neutral accumulator with P1 = P2 (a doubling inside the step): still exact.
        let neutral = Point::neutral();
        let wires = honest_row(&neutral, &p1, &p1, &[(1, 1), (0, 0)]);
        let gate = EcStepGate::new(2);
        let (x, _) = affine_of(&p1.double().double());
        assert_eq!(&wires[gate.wire_out()..gate.wire_out() + 5], &x);
    }

    #[test]
    fn a_bit_that_is_not_boolean_breaks_only_its_booleanity_constraint() {
        // The row is generated consistently for the bit 2 (the selected point is 2·P coordinate-wise
        // and every addition follows from it), so the one constraint it violates is b·(b − 1) = 0.
        let gate = EcStepGate::new(2);
        for bits in [[(2, 0), (0, 0)], [(1, 1), (0, 2)]] {
            let wires = honest_row(&random_point(), &random_point(), &random_point(), &bits);
            let ext: Vec<FE> = wires.iter().map(|&v| <FE as FieldExtension<D>>::from_basefield(v)).collect();
            let hash = HashOut::rand();
            let vars = EvaluationVars { local_constants: &[], local_wires: &ext, public_inputs_hash: &hash };
            let violated: Vec<FE> = gate.eval_unfiltered(vars).into_iter().filter(|c| *c != FE::ZERO).collect();
            let two = <FE as FieldExtension<D>>::from_basefield(F::from_canonical_u64(2));
            assert_eq!(violated, vec![two], "{bits:?}: only b·(b − 1) = 2 may be violated");
        }
    }

    #[test]
    fn a_wrong_value_in_any_wire_is_rejected() {
        let gate = EcStepGate::new(2);
        let wires = honest_row(&random_point(), &random_point(), &random_point(), &[(1, 0), (0, 1)]);
        assert!(holds(&gate, &wires), "the honest row must satisfy the gate");
        for c in 0..gate.wires() {
            let mut bad = wires.clone();
            bad[c] += F::ONE;
            assert!(!holds(&gate, &bad), "wire {c} changed was accepted");
        }
    }
}
