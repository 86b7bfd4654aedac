//! A custom gate for SHA-256: one row splits three 32-bit words into bits and computes one step.
//!
//! Every row holds three *slots*. A slot takes a value `u` below 2^35 (a sum of up to seven
//! words, not yet reduced), splits it as `u = r + 2^32·carry` with 32 boolean bits of `r` and a
//! 3-bit carry, and exposes `r`, the value mod 2^32. The bits are the gate's private wires; the
//! step the row computes from them is its [`Sha256Op`]:
//!
//! - `RoundE`: slots (e, f, g) of a compression round, inputs (h, W, d); outputs
//!   `T1 = h + K + W + Σ1(e) + Ch(e,f,g)` and the next `e` (unreduced) `d + T1`. `K` is the
//!   gate's constant.
//! - `RoundA`: slots (a, b, c), input T1; output the next `a` (unreduced) `T1 + Σ0(a) + Maj(a,b,c)`.
//! - `Schedule`: slots (W[t-2], W[t-15], W[t]), inputs (W[t-7], W[t-16]); slot 2's value is
//!   `σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]`, reduced by the slot.
//! - `Add`: each slot's value is the sum of two inputs (the final feed-forward).
//! - `Bytes`: each slot's value must be below 2^32; its four bytes (big-endian) are outputs.
//!
//! All constraints have degree ≤ 3 and sums stay below 2^35, far from the field modulus, so a
//! split is unique. A round is two rows, a schedule word one, so a 64-byte compression is 179
//! rows.

use std::marker::PhantomData;

use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoError, IoResult, Read, Write};

use super::algebra::{Algebra, Targets, Values};

/// Slots per row.
pub const SLOTS: usize = 3;
/// Carry bits per slot: a slot's value may be up to 2^35 - 1.
pub const CARRY_BITS: usize = 3;
const NUM_INPUTS: usize = 6;
const NUM_OUTPUTS: usize = 12;

/// Wire of slot `k`'s unreduced value.
pub const fn wire_value(k: usize) -> usize {
    k
}
/// Wire of slot `k`'s value mod 2^32.
pub const fn wire_reduced(k: usize) -> usize {
    SLOTS + k
}
/// Wire of the row's `j`-th extra input.
pub const fn wire_input(j: usize) -> usize {
    2 * SLOTS + j
}
/// Wire of the row's `j`-th output.
pub const fn wire_output(j: usize) -> usize {
    2 * SLOTS + NUM_INPUTS + j
}
const START_BITS: usize = 2 * SLOTS + NUM_INPUTS + NUM_OUTPUTS;
const fn wire_bit(k: usize, i: usize) -> usize {
    START_BITS + 32 * k + i
}
const START_CARRIES: usize = START_BITS + 32 * SLOTS;
const fn wire_carry(k: usize, j: usize) -> usize {
    START_CARRIES + CARRY_BITS * k + j
}
const NUM_WIRES: usize = START_CARRIES + CARRY_BITS * SLOTS;

/// What a row computes from its three words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sha256Op {
    RoundE,
    RoundA,
    Schedule,
    Add,
    Bytes,
}

impl Sha256Op {
    /// Every op, in a fixed order (its serialization code is the index).
    pub const ALL: [Self; 5] = [Self::RoundE, Self::RoundA, Self::Schedule, Self::Add, Self::Bytes];

    fn code(self) -> usize {
        Self::ALL.iter().position(|&op| op == self).unwrap_or_default()
    }

    fn inputs(self) -> usize {
        match self {
            Self::RoundE => 3,
            Self::RoundA => 1,
            Self::Schedule => 2,
            Self::Add => 6,
            Self::Bytes => 0,
        }
    }

    fn outputs(self) -> usize {
        match self {
            Self::RoundE => 2,
            Self::RoundA => 1,
            Self::Schedule | Self::Add => 0,
            Self::Bytes => 12,
        }
    }

    /// Wires whose value this op constrains (every other wire of the row is unused).
    pub fn used_wires(self) -> Vec<usize> {
        let mut wires: Vec<usize> = (0..SLOTS).flat_map(|k| [wire_value(k), wire_reduced(k)]).collect();
        wires.extend((0..self.inputs()).map(wire_input));
        wires.extend((0..self.outputs()).map(wire_output));
        wires.extend(START_BITS..NUM_WIRES);
        wires
    }
}

/// The gate; one instance per op (so each op is its own gate type in the circuit).
#[derive(Clone, Copy, Debug)]
pub struct Sha256Gate {
    pub op: Sha256Op,
}

impl Sha256Gate {
    pub const fn new(op: Sha256Op) -> Self {
        Self { op }
    }
}

// ---------------------------------------------------------------- the constraints, written once

/// `a ⊕ b ⊕ c` for bits; `c` may be absent (a shifted-out bit).
fn xor3<A: Algebra>(alg: &mut A, a: A::V, b: A::V, c: Option<A::V>) -> A::V {
    // a ⊕ b = a + b - 2ab, then (a ⊕ b) ⊕ c the same way.
    let sum = alg.add(a, b);
    let prod = alg.mul(a, b);
    let ab = {
        let twice = alg.scale(2, prod);
        alg.sub(sum, twice)
    };
    match c {
        None => ab,
        Some(c) => {
            let sum = alg.add(ab, c);
            let prod = alg.mul(ab, c);
            let twice = alg.scale(2, prod);
            alg.sub(sum, twice)
        }
    }
}

/// Σ 2^i · term(i) over the 32 bit positions.
fn weighted<A: Algebra>(alg: &mut A, mut term: impl FnMut(&mut A, usize) -> A::V) -> A::V {
    let mut acc = alg.constant(0);
    for i in 0..32 {
        let t = term(alg, i);
        let t = alg.scale(1 << i, t);
        acc = alg.add(acc, t);
    }
    acc
}

/// Bit i of `rotr(x, r)` or, when `shift`, of `x >> r` (None past the top).
fn rotated<V: Copy>(bits: &[V], i: usize, r: usize, shift: bool) -> Option<V> {
    if shift && i + r >= 32 {
        None
    } else {
        Some(bits[(i + r) % 32])
    }
}

/// Σ 2^i · (bit i of rot(r0) ⊕ rot(r1) ⊕ rot-or-shift(r2)) — SHA-256's Σ and σ functions.
fn sigma<A: Algebra>(alg: &mut A, bits: &[A::V], r: [usize; 3], last_is_shift: bool) -> A::V {
    weighted(alg, |alg, i| {
        let a = bits[(i + r[0]) % 32];
        let b = bits[(i + r[1]) % 32];
        match rotated(bits, i, r[2], last_is_shift) {
            Some(c) => xor3(alg, a, b, Some(c)),
            None => xor3(alg, a, b, None),
        }
    })
}

fn sum<A: Algebra>(alg: &mut A, values: &[A::V]) -> A::V {
    let mut acc = alg.constant(0);
    for &v in values {
        acc = alg.add(acc, v);
    }
    acc
}

/// The op's constraints on one row's wires; zero exactly for a valid row.
fn constraints<A: Algebra>(op: Sha256Op, alg: &mut A, w: &[A::V], k_constant: A::V) -> Vec<A::V> {
    let one = alg.constant(1);
    let mut out = Vec::new();
    // Every bit and carry is boolean.
    for &b in &w[START_BITS..NUM_WIRES] {
        let b_minus_one = alg.sub(b, one);
        out.push(alg.mul(b, b_minus_one));
    }
    let bits = |k: usize| -> Vec<A::V> { (0..32).map(|i| w[wire_bit(k, i)]).collect() };
    // Each slot: reduced = its bits, value = reduced + 2^32·carry.
    for k in 0..SLOTS {
        let packed = weighted(alg, |_, i| w[wire_bit(k, i)]);
        out.push(alg.sub(w[wire_reduced(k)], packed));
        let mut carry = alg.constant(0);
        for j in 0..CARRY_BITS {
            let c = alg.scale(1 << j, w[wire_carry(k, j)]);
            carry = alg.add(carry, c);
        }
        let high = alg.scale(1 << 32, carry);
        let value = alg.add(w[wire_reduced(k)], high);
        out.push(alg.sub(w[wire_value(k)], value));
    }
    let (x, y, z) = (bits(0), bits(1), bits(2));
    let input = |j: usize| w[wire_input(j)];
    let output = |j: usize| w[wire_output(j)];
    match op {
        Sha256Op::RoundE => {
            let s1 = sigma(alg, &x, [6, 11, 25], false);
            // Ch(e, f, g) = e·(f - g) + g
            let ch = weighted(alg, |alg, i| {
                let d = alg.sub(y[i], z[i]);
                let p = alg.mul(x[i], d);
                alg.add(p, z[i])
            });
            let t1 = sum(alg, &[input(0), k_constant, input(1), s1, ch]);
            out.push(alg.sub(output(0), t1));
            let next_e = alg.add(input(2), output(0));
            out.push(alg.sub(output(1), next_e));
        }
        Sha256Op::RoundA => {
            let s0 = sigma(alg, &x, [2, 13, 22], false);
            // Maj(a, b, c) = ab + ac + bc - 2abc
            let maj = weighted(alg, |alg, i| {
                let ab = alg.mul(x[i], y[i]);
                let ac = alg.mul(x[i], z[i]);
                let bc = alg.mul(y[i], z[i]);
                let abc = alg.mul(ab, z[i]);
                let pairs = sum(alg, &[ab, ac, bc]);
                let twice = alg.scale(2, abc);
                alg.sub(pairs, twice)
            });
            let next_a = sum(alg, &[input(0), s0, maj]);
            out.push(alg.sub(output(0), next_a));
        }
        Sha256Op::Schedule => {
            let s1 = sigma(alg, &x, [17, 19, 10], true);
            let s0 = sigma(alg, &y, [7, 18, 3], true);
            let word = sum(alg, &[s1, input(0), s0, input(1)]);
            out.push(alg.sub(w[wire_value(2)], word));
        }
        Sha256Op::Add => {
            for k in 0..SLOTS {
                let s = alg.add(input(2 * k), input(2 * k + 1));
                out.push(alg.sub(w[wire_value(k)], s));
            }
        }
        Sha256Op::Bytes => {
            for k in 0..SLOTS {
                out.push(alg.sub(w[wire_value(k)], w[wire_reduced(k)]));
                for j in 0..4 {
                    let mut byte = alg.constant(0);
                    for i in 0..8 {
                        let b = alg.scale(1 << i, w[wire_bit(k, 8 * (3 - j) + i)]);
                        byte = alg.add(byte, b);
                    }
                    out.push(alg.sub(output(4 * k + j), byte));
                }
            }
        }
    }
    out
}

fn num_constraints(op: Sha256Op) -> usize {
    let common = (NUM_WIRES - START_BITS) + 2 * SLOTS;
    common
        + match op {
            Sha256Op::RoundE => 2,
            Sha256Op::RoundA | Sha256Op::Schedule => 1,
            Sha256Op::Add => SLOTS,
            Sha256Op::Bytes => 5 * SLOTS,
        }
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for Sha256Gate {
    fn id(&self) -> String {
        format!("Sha256Gate({:?})", self.op)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.op.code())
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let op = *Sha256Op::ALL.get(src.read_usize()?).ok_or(IoError)?;
        Ok(Self { op })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        let k = vars.local_constants.first().copied().unwrap_or(F::Extension::ZERO);
        constraints(self.op, &mut Values(PhantomData), vars.local_wires, k)
    }

    fn eval_unfiltered_base_one(&self, vars: EvaluationVarsBase<F>, mut yield_constr: StridedConstraintConsumer<F>) {
        // The prover's hot path: evaluate over the base field directly.
        let wires: Vec<F> = (0..NUM_WIRES).map(|i| vars.local_wires[i]).collect();
        let k = if self.op == Sha256Op::RoundE { vars.local_constants[0] } else { F::ZERO };
        yield_constr.many(constraints(self.op, &mut Values(PhantomData), &wires, k));
    }

    fn eval_unfiltered_circuit(&self, builder: &mut CircuitBuilder<F, D>, vars: EvaluationTargets<D>) -> Vec<ExtensionTarget<D>> {
        let k = match vars.local_constants.first() {
            Some(&k) if self.op == Sha256Op::RoundE => k,
            _ => builder.zero_extension(),
        };
        constraints(self.op, &mut Targets(builder), vars.local_wires, k)
    }

    fn generators(&self, row: usize, local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        let k = local_constants.first().map_or(0, |c| c.to_canonical_u64());
        vec![WitnessGeneratorRef::new(Sha256Generator { row, op: self.op, k, _f: PhantomData }.adapter())]
    }

    fn num_wires(&self) -> usize {
        NUM_WIRES
    }

    fn num_constants(&self) -> usize {
        usize::from(self.op == Sha256Op::RoundE)
    }

    fn degree(&self) -> usize {
        3
    }

    fn num_constraints(&self) -> usize {
        num_constraints(self.op)
    }
}

// ---------------------------------------------------------------- witness generation

/// SHA-256's Σ/σ on a native word.
fn sigma_native(x: u32, r: [u32; 3], last_is_shift: bool) -> u64 {
    let last = if last_is_shift { x >> r[2] } else { x.rotate_right(r[2]) };
    u64::from(x.rotate_right(r[0]) ^ x.rotate_right(r[1]) ^ last)
}

/// Fills one row: every slot's split, and the outputs.
#[derive(Debug)]
pub(crate) struct Sha256Generator<F> {
    row: usize,
    op: Sha256Op,
    k: u64,
    _f: PhantomData<F>,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for Sha256Generator<F> {
    fn id(&self) -> String {
        "Sha256Generator".to_owned()
    }

    fn dependencies(&self) -> Vec<Target> {
        let wires: Vec<usize> = match self.op {
            Sha256Op::Schedule => vec![wire_value(0), wire_value(1), wire_input(0), wire_input(1)],
            Sha256Op::Add => (0..NUM_INPUTS).map(wire_input).collect(),
            op => (0..SLOTS).map(wire_value).chain((0..op.inputs()).map(wire_input)).collect(),
        };
        wires.into_iter().map(|c| Target::wire(self.row, c)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let get = |c: usize| witness.get_target(Target::wire(self.row, c)).to_canonical_u64();
        let mut values: [u64; SLOTS] = core::array::from_fn(|k| match self.op {
            Sha256Op::Add => get(wire_input(2 * k)) + get(wire_input(2 * k + 1)),
            Sha256Op::Schedule if k == 2 => 0,
            _ => get(wire_value(k)),
        });
        if self.op == Sha256Op::Schedule {
            let (x, y) = (values[0] as u32, values[1] as u32);
            values[2] = sigma_native(x, [17, 19, 10], true) + get(wire_input(0)) + sigma_native(y, [7, 18, 3], true) + get(wire_input(1));
        }
        let set = |out: &mut GeneratedValues<F>, c: usize, v: u64| out.set_target(Target::wire(self.row, c), F::from_canonical_u64(v));
        for (k, &value) in values.iter().enumerate() {
            anyhow::ensure!(value < 1 << (32 + CARRY_BITS), "SHA-256 slot value {value} exceeds 2^35");
            anyhow::ensure!(self.op != Sha256Op::Bytes || value < 1 << 32, "SHA-256 word {value} exceeds 2^32");
            if matches!(self.op, Sha256Op::Add | Sha256Op::Schedule) {
                set(out, wire_value(k), value)?;
            }
            set(out, wire_reduced(k), value & 0xffff_ffff)?;
            for i in 0..32 {
                set(out, wire_bit(k, i), (value >> i) & 1)?;
            }
            for j in 0..CARRY_BITS {
                set(out, wire_carry(k, j), (value >> (32 + j)) & 1)?;
            }
        }
        let (x, y, z) = (values[0] as u32, values[1] as u32, values[2] as u32);
        match self.op {
            Sha256Op::RoundE => {
                let ch = u64::from((x & y) ^ (!x & z));
                let t1 = get(wire_input(0)) + self.k + get(wire_input(1)) + sigma_native(x, [6, 11, 25], false) + ch;
                set(out, wire_output(0), t1)?;
                set(out, wire_output(1), get(wire_input(2)) + t1)?;
            }
            Sha256Op::RoundA => {
                let maj = u64::from((x & y) ^ (x & z) ^ (y & z));
                set(out, wire_output(0), get(wire_input(0)) + sigma_native(x, [2, 13, 22], false) + maj)?;
            }
            Sha256Op::Bytes => {
                for (k, &value) in values.iter().enumerate() {
                    for j in 0..4 {
                        set(out, wire_output(4 * k + j), (value >> (8 * (3 - j))) & 0xff)?;
                    }
                }
            }
            Sha256Op::Schedule | Sha256Op::Add => {}
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.op.code())?;
        dst.write_usize(self.k as usize)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let row = src.read_usize()?;
        let op = *Sha256Op::ALL.get(src.read_usize()?).ok_or(IoError)?;
        Ok(Self { row, op, k: src.read_usize()? as u64, _f: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Sample;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::hash::hash_types::HashOut;
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;

    use super::*;
    use crate::circuits::{C, D, F};

    type FE = <F as Extendable<D>>::Extension;

    #[test]
    fn constraints_have_degree_three_and_agree_in_recursion() {
        for op in Sha256Op::ALL {
            test_low_degree::<F, _, D>(Sha256Gate::new(op));
            test_eval_fns::<F, C, _, D>(Sha256Gate::new(op)).unwrap();
        }
    }

    /// An honest row of `op` (inputs chosen so every slot has carries), generated by the gate itself.
    fn honest_row(op: Sha256Op) -> (Vec<FE>, Vec<FE>) {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let k = F::from_canonical_u32(0x428a2f98);
        let row = builder.add_gate(Sha256Gate::new(op), if op == Sha256Op::RoundE { vec![k] } else { vec![] });
        let mut pw = PartialWitness::new();
        let big = [0x6_9abc_def2u64, 0x3_1234_5678, 0x7_ffff_ffff];
        let word = [0xdead_beeeu64, 0x0123_4567, 0xffff_ffff];
        let bytes_only = op == Sha256Op::Bytes;
        for (j, v) in (0..NUM_INPUTS).map(|j| (j, [0x8765_4321u64, 0xfedc_ba99][j % 2])) {
            pw.set_target(Target::wire(row, wire_input(j)), F::from_canonical_u64(v)).unwrap();
        }
        if !matches!(op, Sha256Op::Add) {
            for k in 0..SLOTS {
                if op == Sha256Op::Schedule && k == 2 {
                    continue;
                }
                let v = if bytes_only { word[k] } else { big[k] };
                pw.set_target(Target::wire(row, wire_value(k)), F::from_canonical_u64(v)).unwrap();
            }
        }
        // Reference the row so the builder keeps it, then generate the witness.
        let out = Target::wire(row, wire_reduced(0));
        builder.register_public_input(out);
        let data = builder.build::<C>();
        let witness = generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
        let wires = (0..NUM_WIRES).map(|c| <FE as plonky2::field::extension::FieldExtension<D>>::from_basefield(witness.try_get_target(Target::wire(row, c)).unwrap_or(F::ZERO))).collect();
        let constants = if op == Sha256Op::RoundE { vec![<FE as plonky2::field::extension::FieldExtension<D>>::from_basefield(k)] } else { vec![] };
        (wires, constants)
    }

    fn holds(op: Sha256Op, wires: &[FE], constants: &[FE]) -> bool {
        let hash = HashOut::rand();
        let vars = EvaluationVars { local_constants: constants, local_wires: wires, public_inputs_hash: &hash };
        <Sha256Gate as Gate<F, D>>::eval_unfiltered(&Sha256Gate::new(op), vars).iter().all(|c| *c == FE::ZERO)
    }

    #[test]
    fn a_word_of_2_to_the_32_or_more_has_no_bytes() {
        let (mut wires, constants) = honest_row(Sha256Op::Bytes);
        wires[wire_value(0)] += FE::from_canonical_u64(1 << 32);
        wires[wire_carry(0, 0)] = FE::ONE;
        assert!(!holds(Sha256Op::Bytes, &wires, &constants));
    }

    #[test]
    fn a_wrong_value_in_any_used_wire_is_rejected() {
        for op in Sha256Op::ALL {
            let (wires, constants) = honest_row(op);
            // Bit 1 set and bit 0 clear in slot 0, so the non-boolean case below applies.
            assert!(wires[wire_bit(0, 1)] == FE::ONE && wires[wire_bit(0, 0)] == FE::ZERO, "{op:?}: sample must end in 0b10");
            assert!(holds(op, &wires, &constants), "{op:?}: the generated row must satisfy the gate");
            for c in op.used_wires() {
                for delta in [FE::ONE, FE::from_canonical_u64(1 << 32)] {
                    let mut bad = wires.clone();
                    bad[c] += delta;
                    assert!(!holds(op, &bad, &constants), "{op:?}: wire {c} changed by {delta:?} was accepted");
                }
            }
            // The same word from non-boolean bits: 2·b0 + ... packs like b1 = 1, b0 = 0.
            let mut bad = wires.clone();
            bad[wire_bit(0, 0)] += FE::TWO;
            bad[wire_bit(0, 1)] -= FE::ONE;
            assert!(!holds(op, &bad, &constants), "{op:?}: non-boolean bits were accepted");
            if op == Sha256Op::RoundE {
                let other_k = [constants[0] + FE::ONE];
                assert!(!holds(op, &wires, &other_k), "RoundE: another round constant was accepted");
            }
        }
    }
}
