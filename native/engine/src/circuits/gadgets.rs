//! Small circuit gadgets: u64 values as two u32 limbs, conditional checks, Merkle leaf updates.
//!
//! u64 arithmetic is done on 32-bit limbs so that no intermediate value comes near
//! the field modulus (p ≈ 2^64): a wrapped sum could otherwise pass a range check.

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::hash::poseidon::{PoseidonHash, PoseidonPermutation};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::config::AlgebraicHasher;

use super::{D, F};

/// A u64 as (low 32 bits, high 32 bits), each range-checked.
#[derive(Clone, Copy, Debug)]
pub struct U64Target {
    pub lo: Target,
    pub hi: Target,
}

impl U64Target {
    /// Wraps two limbs and range-checks them to 32 bits.
    pub fn from_limbs(builder: &mut CircuitBuilder<F, D>, lo: Target, hi: Target) -> Self {
        builder.range_check(lo, 32);
        builder.range_check(hi, 32);
        Self { lo, hi }
    }

    /// The constant zero.
    pub fn zero(builder: &mut CircuitBuilder<F, D>) -> Self {
        let zero = builder.zero();
        Self { lo: zero, hi: zero }
    }

    /// `a + b`, constrained not to overflow 64 bits.
    pub fn add(builder: &mut CircuitBuilder<F, D>, a: Self, b: Self) -> Self {
        let lo_sum = builder.add(a.lo, b.lo); // < 2^33
        let (lo, carry) = builder.split_low_high(lo_sum, 32, 33);
        let hi_sum = builder.add(a.hi, b.hi);
        let hi = builder.add(hi_sum, carry); // < 2^33 + 1
        builder.range_check(hi, 32);
        Self { lo, hi }
    }

    /// Whether `a + b` exceeds 64 bits (no constraint on the sum itself).
    pub fn overflows(builder: &mut CircuitBuilder<F, D>, a: Self, b: Self) -> BoolTarget {
        let lo_sum = builder.add(a.lo, b.lo); // < 2^33
        let (_, carry) = builder.split_low_high(lo_sum, 32, 33);
        let hi_sum = builder.add(a.hi, b.hi);
        let hi = builder.add(hi_sum, carry); // < 2^33
        let (_, over) = builder.split_low_high(hi, 32, 33); // one range-checked bit
        BoolTarget::new_unsafe(over)
    }

    /// `a - b`, constrained not to go below zero.
    pub fn sub(builder: &mut CircuitBuilder<F, D>, a: Self, b: Self) -> Self {
        // a.lo - b.lo + 2^32 is in [1, 2^33): its bit 32 is set exactly when no borrow is needed.
        let two_32 = builder.constant(F::from_canonical_u64(1 << 32));
        let shifted = builder.add(a.lo, two_32);
        let lo_diff = builder.sub(shifted, b.lo);
        let (lo, no_borrow) = builder.split_low_high(lo_diff, 32, 33);
        let one = builder.one();
        let borrow = builder.sub(one, no_borrow);
        let hi_diff = builder.sub(a.hi, b.hi);
        let hi = builder.sub(hi_diff, borrow);
        // A negative high limb wraps to a value near p and fails this check.
        builder.range_check(hi, 32);
        Self { lo, hi }
    }

    /// `if flag { a } else { 0 }`.
    pub fn gate(builder: &mut CircuitBuilder<F, D>, flag: BoolTarget, a: Self) -> Self {
        Self { lo: builder.mul(flag.target, a.lo), hi: builder.mul(flag.target, a.hi) }
    }

    /// Constrains `a == b` when `flag` holds.
    pub fn assert_eq_if(builder: &mut CircuitBuilder<F, D>, flag: BoolTarget, a: Self, b: Self) {
        builder.conditional_assert_eq(flag.target, a.lo, b.lo);
        builder.conditional_assert_eq(flag.target, a.hi, b.hi);
    }

    /// The value as one field element `lo + 2^32·hi` (exact only if it is below p).
    pub fn packed(&self, builder: &mut CircuitBuilder<F, D>) -> Target {
        builder.mul_const_add(F::from_canonical_u64(1 << 32), self.hi, self.lo)
    }
}

/// Constrains `value != 0` when `flag` holds (by inverting `value`, or 1 when the flag is off).
pub fn assert_nonzero_if(builder: &mut CircuitBuilder<F, D>, flag: BoolTarget, value: Target) {
    let one = builder.one();
    let checked = builder.select(flag, value, one);
    builder.inverse(checked);
}

/// Constrains `value == 0` when `flag` holds.
pub fn assert_zero_if(builder: &mut CircuitBuilder<F, D>, flag: BoolTarget, value: Target) {
    let zero = builder.zero();
    builder.conditional_assert_eq(flag.target, value, zero);
}

/// Root of the path from `leaf` up through `siblings`; `bits` are the index bits, leaf level first.
///
/// Each level is one Poseidon gate: the gate's own swap wire puts the node left or right by the
/// index bit, so the path costs no arithmetic rows. The result equals the native `two_to_one`.
pub fn merkle_root(
    builder: &mut CircuitBuilder<F, D>,
    bits: &[BoolTarget],
    leaf: HashOutTarget,
    siblings: &[HashOutTarget],
) -> HashOutTarget {
    let zero = builder.zero();
    let mut node = leaf;
    for (bit, sibling) in bits.iter().zip(siblings) {
        let mut inputs = PoseidonPermutation::<Target>::new(core::iter::repeat(zero));
        inputs.set_from_slice(&node.elements, 0);
        inputs.set_from_slice(&sibling.elements, 4);
        let outputs = <PoseidonHash as AlgebraicHasher<F>>::permute_swapped(inputs, *bit, builder);
        node = HashOutTarget { elements: core::array::from_fn(|i| outputs.squeeze()[i]) };
    }
    node
}

/// Writes `leaf_after` over `leaf_before` at `index` when `active`; returns the new root.
///
/// When active, `leaf_before` must sit at `index` under `root`, and the result is the root with
/// `leaf_after` there instead (one sibling list proves both). When inactive nothing is checked
/// and `root` is returned unchanged.
pub fn update_leaf(
    builder: &mut CircuitBuilder<F, D>,
    active: BoolTarget,
    root: HashOutTarget,
    index: Target,
    leaf_before: HashOutTarget,
    leaf_after: HashOutTarget,
    siblings: &[HashOutTarget],
) -> HashOutTarget {
    let bits = builder.split_le(index, siblings.len());
    let computed_before = merkle_root(builder, &bits, leaf_before, siblings);
    let computed_after = merkle_root(builder, &bits, leaf_after, siblings);
    for i in 0..4 {
        builder.conditional_assert_eq(active.target, computed_before.elements[i], root.elements[i]);
    }
    select_hash(builder, active, computed_after, root)
}

/// `if flag { a } else { b }` for digests.
pub fn select_hash(builder: &mut CircuitBuilder<F, D>, flag: BoolTarget, a: HashOutTarget, b: HashOutTarget) -> HashOutTarget {
    HashOutTarget { elements: core::array::from_fn(|i| builder.select(flag, a.elements[i], b.elements[i])) }
}
