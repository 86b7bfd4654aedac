//! The arithmetic a gate's constraints need, so they are written once for prover, verifier and recursion.

use std::marker::PhantomData;

use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;

/// Field operations over values (prover, verifier, witness generation) or targets (recursion).
pub trait Algebra {
    type V: Copy;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn scale(&mut self, c: u64, a: Self::V) -> Self::V;
    fn constant(&mut self, c: u64) -> Self::V;
}

/// Plain field values.
pub struct Values<T>(pub PhantomData<T>);

impl<T> Values<T> {
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for Values<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Field> Algebra for Values<T> {
    type V = T;
    fn add(&mut self, a: T, b: T) -> T {
        a + b
    }
    fn sub(&mut self, a: T, b: T) -> T {
        a - b
    }
    fn mul(&mut self, a: T, b: T) -> T {
        a * b
    }
    fn scale(&mut self, c: u64, a: T) -> T {
        T::from_canonical_u64(c) * a
    }
    fn constant(&mut self, c: u64) -> T {
        T::from_canonical_u64(c)
    }
}

/// Extension targets of a recursive verifier's circuit.
pub struct Targets<'a, F: RichField + Extendable<D>, const D: usize>(pub &'a mut CircuitBuilder<F, D>);

impl<F: RichField + Extendable<D>, const D: usize> Algebra for Targets<'_, F, D> {
    type V = ExtensionTarget<D>;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.add_extension(a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.sub_extension(a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.mul_extension(a, b)
    }
    fn scale(&mut self, c: u64, a: Self::V) -> Self::V {
        self.0.mul_const_extension(F::from_canonical_u64(c), a)
    }
    fn constant(&mut self, c: u64) -> Self::V {
        self.0.constant_extension(F::Extension::from_canonical_u64(c))
    }
}
