//! GF(p^5) and ECgFp5 group arithmetic written once over [`Algebra`], plus native helpers for witnesses.
//!
//! GF(p^5) = GF(p)[z]/(z^5 - 3), as `goldilocks-crypto` uses. Points are the group's affine
//! `(x, u)` coordinates (u = x/y): every group element has finite coordinates and the neutral
//! element is `(0, 0)`. The addition law is the curve's complete one (`goldilocks-crypto`'s
//! projective formulas with Z = T = 1): its denominators never vanish for group elements, so it
//! also doubles and adds the neutral element; an affine result is pinned by `x3·Z3 = X3` and
//! `u3·T3 = U3`.

use goldilocks_crypto::{Fp5Element, Point};
use plonky2::field::types::{Field, PrimeField64};

use crate::circuits::gates::algebra::{Algebra, Values};
use crate::circuits::F;

/// The constant 3 in z^5 = 3.
const W: u64 = 3;
/// The curve's `a` (a base-field element).
pub const CURVE_A: u64 = 2;
/// The curve's `b` = 263·z.
pub const CURVE_B: [u64; 5] = [0, 263, 0, 0, 0];

/// An element of GF(p^5) over some algebra.
pub type Fp5<V> = [V; 5];
/// A group element `(x, u)` over some algebra.
pub type Affine<V> = (Fp5<V>, Fp5<V>);

pub fn fp5_add<A: Algebra>(alg: &mut A, a: Fp5<A::V>, b: Fp5<A::V>) -> Fp5<A::V> {
    core::array::from_fn(|i| alg.add(a[i], b[i]))
}

pub fn fp5_sub<A: Algebra>(alg: &mut A, a: Fp5<A::V>, b: Fp5<A::V>) -> Fp5<A::V> {
    core::array::from_fn(|i| alg.sub(a[i], b[i]))
}

/// `c·a` for a base-field constant `c`.
pub fn fp5_scale<A: Algebra>(alg: &mut A, c: u64, a: Fp5<A::V>) -> Fp5<A::V> {
    core::array::from_fn(|i| alg.scale(c, a[i]))
}

/// `b·a` with the curve constant b = 263·z: a shift of the coefficients (z·z^4 = 3).
pub fn fp5_mul_b<A: Algebra>(alg: &mut A, a: Fp5<A::V>) -> Fp5<A::V> {
    let shifted = [alg.scale(W, a[4]), a[0], a[1], a[2], a[3]];
    fp5_scale(alg, CURVE_B[1], shifted)
}

pub fn fp5_constant<A: Algebra>(alg: &mut A, c: [u64; 5]) -> Fp5<A::V> {
    core::array::from_fn(|i| alg.constant(c[i]))
}

/// Schoolbook product reduced by z^5 = 3.
pub fn fp5_mul<A: Algebra>(alg: &mut A, a: Fp5<A::V>, b: Fp5<A::V>) -> Fp5<A::V> {
    let zero = alg.constant(0);
    let mut low = [zero; 5];
    let mut high = [zero; 5];
    for i in 0..5 {
        for j in 0..5 {
            let p = alg.mul(a[i], b[j]);
            if i + j < 5 {
                low[i + j] = alg.add(low[i + j], p);
            } else {
                high[i + j - 5] = alg.add(high[i + j - 5], p);
            }
        }
    }
    core::array::from_fn(|k| {
        let wrapped = alg.scale(W, high[k]);
        alg.add(low[k], wrapped)
    })
}

/// GF(p^5) operations, so the group law is written once for gates (coefficient by coefficient)
/// and for gadgets (whole-element products on a custom gate).
pub trait Fp5Ops {
    type E: Copy;
    fn add(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn sub(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn mul(&mut self, a: Self::E, b: Self::E) -> Self::E;
    /// `c·a` for a base-field constant `c`.
    fn scale(&mut self, c: u64, a: Self::E) -> Self::E;
    /// `b·a` for the curve constant `b`.
    fn mul_b(&mut self, a: Self::E) -> Self::E;
    fn constant(&mut self, c: [u64; 5]) -> Self::E;
}

/// GF(p^5) over any base algebra, coefficient by coefficient.
pub struct Schoolbook<'a, A>(pub &'a mut A);

impl<A: Algebra> Fp5Ops for Schoolbook<'_, A> {
    type E = Fp5<A::V>;
    fn add(&mut self, a: Self::E, b: Self::E) -> Self::E {
        fp5_add(self.0, a, b)
    }
    fn sub(&mut self, a: Self::E, b: Self::E) -> Self::E {
        fp5_sub(self.0, a, b)
    }
    fn mul(&mut self, a: Self::E, b: Self::E) -> Self::E {
        fp5_mul(self.0, a, b)
    }
    fn scale(&mut self, c: u64, a: Self::E) -> Self::E {
        fp5_scale(self.0, c, a)
    }
    fn mul_b(&mut self, a: Self::E) -> Self::E {
        fp5_mul_b(self.0, a)
    }
    fn constant(&mut self, c: [u64; 5]) -> Self::E {
        fp5_constant(self.0, c)
    }
}

/// The projective sum `(X3, Z3, U3, T3)` of two affine group elements (seven products).
pub fn add_projective<O: Fp5Ops>(o: &mut O, p1: (O::E, O::E), p2: (O::E, O::E)) -> [O::E; 4] {
    let ((x1, u1), (x2, u2)) = (p1, p2);
    let x1x2 = o.mul(x1, x2);
    let u1u2 = o.mul(u1, u2);
    let x_sum = o.add(x1, x2);
    let u_sum = o.add(u1, u2);
    let b = o.constant(CURVE_B);
    let t7 = o.add(x1x2, b);
    // t9 = u1u2·(2b·(x1 + x2) + 2·t7)
    let bx = o.mul_b(x_sum);
    let inner = o.add(bx, t7);
    let inner = o.scale(2, inner);
    let t9 = o.mul(u1u2, inner);
    // t10 = (1 + 2·u1u2)·(x1 + x2 + t7)
    let one = o.constant([1, 0, 0, 0, 0]);
    let twice = o.scale(2, u1u2);
    let left = o.add(one, twice);
    let right = o.add(x_sum, t7);
    let t10 = o.mul(left, right);
    let diff = o.sub(t10, t7);
    let x3 = o.mul_b(diff);
    let z3 = o.sub(t7, t9);
    let b_minus = o.sub(b, x1x2);
    let u3 = o.mul(u_sum, b_minus);
    let t3 = o.add(t7, t9);
    [x3, z3, u3, t3]
}

/// The ten constraints `x3·Z3 - X3`, `u3·T3 - U3` that make `p3 = p1 + p2`.
pub fn add_constraints<A: Algebra>(alg: &mut A, p1: Affine<A::V>, p2: Affine<A::V>, p3: Affine<A::V>) -> Vec<A::V> {
    let mut o = Schoolbook(alg);
    let [x, z, u, t] = add_projective(&mut o, p1, p2);
    let xz = o.mul(p3.0, z);
    let ut = o.mul(p3.1, t);
    let mut out = o.sub(xz, x).to_vec();
    out.extend(o.sub(ut, u));
    out
}

// ---------------------------------------------------------------- native values

/// A field value as five canonical u64s.
pub fn to_limbs(a: Fp5<F>) -> [u64; 5] {
    a.map(|v| v.to_canonical_u64())
}

/// Five u64s (reduced mod p) as a field value.
pub fn from_limbs(a: [u64; 5]) -> Fp5<F> {
    a.map(F::from_noncanonical_u64)
}

fn to_crypto(a: Fp5<F>) -> Fp5Element {
    Fp5Element::from_uint64_array(to_limbs(a))
}

fn from_crypto(a: &Fp5Element) -> Fp5<F> {
    core::array::from_fn(|i| F::from_canonical_u64(a.0[i].to_canonical_u64()))
}

/// `a / b` (zero when `b` is zero, which no honest witness divides by).
pub fn fp5_div(a: Fp5<F>, b: Fp5<F>) -> Fp5<F> {
    let inv = from_crypto(&to_crypto(b).inverse_or_zero());
    fp5_mul(&mut Values::new(), a, inv)
}

/// A square root when one exists.
pub fn fp5_sqrt(a: Fp5<F>) -> Option<Fp5<F>> {
    to_crypto(a).sqrt().map(|r| from_crypto(&r))
}

/// `p1 + p2` natively.
pub fn add_native(p1: Affine<F>, p2: Affine<F>) -> Affine<F> {
    let [x, z, u, t] = add_projective(&mut Schoolbook(&mut Values::new()), p1, p2);
    (fp5_div(x, z), fp5_div(u, t))
}

/// The affine coordinates of a `goldilocks-crypto` point.
pub fn affine_of(point: &Point) -> Affine<F> {
    (fp5_div(from_crypto(&point.x), from_crypto(&point.z)), fp5_div(from_crypto(&point.u), from_crypto(&point.t)))
}

/// The generator's affine coordinates.
pub fn generator() -> Affine<F> {
    affine_of(&Point::generator())
}

/// The neutral element.
pub fn neutral() -> Affine<F> {
    ([F::ZERO; 5], [F::ZERO; 5])
}

/// The encoding w = 1/u of a group element (0 for the neutral element).
pub fn encode_native(p: Affine<F>) -> Fp5<F> {
    fp5_div([F::ONE, F::ZERO, F::ZERO, F::ZERO, F::ZERO], p.1)
}

/// Decodes `w` as `goldilocks-crypto` does: the point whose `x` is the non-square root of
/// `x^2 - (w^2 - a)·x + b`, or `None` when that quadratic has no root (or w = 0).
pub fn decode_native(w: Fp5<F>) -> Option<Affine<F>> {
    if w == [F::ZERO; 5] {
        return None;
    }
    Point::decode(&to_crypto(w)).map(|p| affine_of(&p))
}

#[cfg(test)]
mod tests {
    use goldilocks_crypto::ScalarField;
    use plonky2::field::types::Sample;

    use super::*;

    fn random_point() -> Point {
        Point::generator().mul(&ScalarField::sample_crypto())
    }

    #[test]
    fn products_match_goldilocks_crypto() {
        for _ in 0..100 {
            let (a, b): (Fp5<F>, Fp5<F>) = (F::rand_array(), F::rand_array());
            let ours = fp5_mul(&mut Values::new(), a, b);
            assert_eq!(ours, from_crypto(&to_crypto(a).mul(&to_crypto(b))));
            let by_b = fp5_mul_b(&mut Values::new(), a);
            assert_eq!(by_b, fp5_mul(&mut Values::new(), a, from_limbs(CURVE_B)));
        }
    }

    #[test]
    fn b_is_not_a_square() {
        // Decoding picks x by x·r^2 = b; that singles out the non-square root only if b is not a square.
        assert!(fp5_sqrt(from_limbs(CURVE_B)).is_none());
        assert!(fp5_sqrt(fp5_mul(&mut Values::new(), from_limbs(CURVE_B), from_limbs(CURVE_B))).is_some());
    }

    #[test]
    fn the_affine_law_matches_goldilocks_crypto_including_doubling_and_the_neutral_element() {
        for _ in 0..20 {
            let (p, q) = (random_point(), random_point());
            let (ap, aq) = (affine_of(&p), affine_of(&q));
            assert_eq!(add_native(ap, aq), affine_of(&p.add(&q)));
            assert_eq!(add_native(ap, ap), affine_of(&p.double()));
            assert_eq!(add_native(ap, neutral()), ap);
            assert_eq!(add_native(neutral(), ap), ap);
            let minus = (ap.0, ap.1.map(|v| -v));
            assert_eq!(add_native(ap, minus), neutral());
            // Encoding and decoding round-trip through goldilocks-crypto's encoding.
            let w = encode_native(ap);
            assert_eq!(w, from_crypto(&p.encode()));
            assert_eq!(decode_native(w), Some(ap));
        }
        assert_eq!(add_native(neutral(), neutral()), neutral());
    }
}
