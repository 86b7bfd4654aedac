//! ECgFp5 Schnorr verification in circuit: GF(p^5) values, group elements, key decoding, the
//! double-scalar multiplication `s·G + e·P` and the challenge, exactly as `crate::sig` verifies.
//!
//! A [`Backend`] chooses how the arithmetic is laid out, so the same gadget can be measured with
//! plonky2's plain arithmetic gates, with the GF(p^5) product gate, or with the point-step gate
//! (the default: two Shamir steps per row).

pub mod arith;

use plonky2::field::types::Field;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use self::arith::{add_projective, decode_native, fp5_div, fp5_sqrt, Fp5Ops, Schoolbook, CURVE_A, CURVE_B};
use super::gates::algebra::Algebra;
use super::gates::ecadd::{self, EcStepGate};
use super::gates::gfp5::{self, Fp5MulGate};
use super::{D, F};
use crate::field::P;

/// An element of GF(p^5) in circuit: five base-field targets.
pub type Fp5Target = [Target; 5];
/// A group element `(x, u)` in circuit.
pub type PointTarget = (Fp5Target, Fp5Target);

/// Bits of a scalar: e is five field elements (320 bits), s is below the group order (< 2^319).
pub const SCALAR_BITS: usize = 320;
/// Domain tag of the challenge (as in `crate::sig`).
const CHALLENGE_TAG: u64 = 0x7a6b_7369_675f_6368;
/// The group order n, little-endian u64 limbs.
const ORDER: [u64; 5] = [0xe80f_d996_948b_ffe1, 0xe888_5c39_d724_a09c, 0x7fff_ffe6_cfb8_0639, 0x7fff_fff1_0000_0016, 0x7fff_fffd_8000_0007];

/// How a signature's arithmetic is laid out in rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// plonky2's arithmetic gates only.
    Plain,
    /// GF(p^5) products on [`Fp5MulGate`], point additions as gadgets.
    Fp5Gate,
    /// Products on [`Fp5MulGate`], the scalar multiplication on [`EcStepGate`] rows.
    EcGate,
}

impl Backend {
    pub const ALL: [Self; 3] = [Self::Plain, Self::Fp5Gate, Self::EcGate];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Fp5Gate => "fp5_gate",
            Self::EcGate => "ec_gate",
        }
    }
}

/// Base-field arithmetic on the builder's plain gates.
struct Base<'a>(&'a mut CircuitBuilder<F, D>);

impl Algebra for Base<'_> {
    type V = Target;
    fn add(&mut self, a: Target, b: Target) -> Target {
        self.0.add(a, b)
    }
    fn sub(&mut self, a: Target, b: Target) -> Target {
        self.0.sub(a, b)
    }
    fn mul(&mut self, a: Target, b: Target) -> Target {
        self.0.mul(a, b)
    }
    fn scale(&mut self, c: u64, a: Target) -> Target {
        self.0.mul_const(F::from_canonical_u64(c), a)
    }
    fn constant(&mut self, c: u64) -> Target {
        self.0.constant(F::from_canonical_u64(c))
    }
}

/// GF(p^5) on the builder: linear operations on plain gates, products per the backend.
pub struct Fp5Builder<'a> {
    pub builder: &'a mut CircuitBuilder<F, D>,
    pub backend: Backend,
}

impl Fp5Ops for Fp5Builder<'_> {
    type E = Fp5Target;
    fn add(&mut self, a: Fp5Target, b: Fp5Target) -> Fp5Target {
        Schoolbook(&mut Base(self.builder)).add(a, b)
    }
    fn sub(&mut self, a: Fp5Target, b: Fp5Target) -> Fp5Target {
        Schoolbook(&mut Base(self.builder)).sub(a, b)
    }
    fn mul(&mut self, a: Fp5Target, b: Fp5Target) -> Fp5Target {
        if self.backend == Backend::Plain {
            return Schoolbook(&mut Base(self.builder)).mul(a, b);
        }
        let gate = Fp5MulGate::new_from_config(&self.builder.config);
        let (row, k) = self.builder.find_slot(gate, &[], &[]);
        for i in 0..5 {
            self.builder.connect(a[i], Target::wire(row, gfp5::wire_a(k, i)));
            self.builder.connect(b[i], Target::wire(row, gfp5::wire_b(k, i)));
        }
        core::array::from_fn(|i| Target::wire(row, gfp5::wire_c(k, i)))
    }
    fn scale(&mut self, c: u64, a: Fp5Target) -> Fp5Target {
        Schoolbook(&mut Base(self.builder)).scale(c, a)
    }
    fn mul_b(&mut self, a: Fp5Target) -> Fp5Target {
        Schoolbook(&mut Base(self.builder)).mul_b(a)
    }
    fn constant(&mut self, c: [u64; 5]) -> Fp5Target {
        c.map(|v| self.builder.constant(F::from_canonical_u64(v)))
    }
}

impl Fp5Builder<'_> {
    /// Constrains `a == b`.
    pub fn connect(&mut self, a: Fp5Target, b: Fp5Target) {
        for i in 0..5 {
            self.builder.connect(a[i], b[i]);
        }
    }

    /// A new element the prover fills with `num / den`; the caller constrains it.
    fn quotient(&mut self, num: Fp5Target, den: Fp5Target) -> Fp5Target {
        let out = core::array::from_fn(|_| self.builder.add_virtual_target());
        self.builder.add_simple_generator(QuotientGenerator { num, den, out });
        out
    }

    /// `1 / a`, constrained (so `a ≠ 0`).
    pub fn inverse(&mut self, a: Fp5Target) -> Fp5Target {
        let one = self.constant([1, 0, 0, 0, 0]);
        let inv = self.quotient(one, a);
        let product = self.mul(a, inv);
        self.connect(product, one);
        inv
    }

    /// `p1 + p2` with the complete law, as a gadget: the sum is a witness pinned by two products.
    pub fn point_add(&mut self, p1: PointTarget, p2: PointTarget) -> PointTarget {
        let [x, z, u, t] = add_projective(self, p1, p2);
        let x3 = self.quotient(x, z);
        let u3 = self.quotient(u, t);
        let xz = self.mul(x3, z);
        self.connect(xz, x);
        let ut = self.mul(u3, t);
        self.connect(ut, u);
        (x3, u3)
    }

    /// `b·p` coordinate-wise: p when the bit is set, the neutral element (0, 0) otherwise.
    fn select(&mut self, bit: BoolTarget, p: PointTarget) -> PointTarget {
        let sel = |b: &mut CircuitBuilder<F, D>, v: Fp5Target| v.map(|c| b.mul(bit.target, c));
        (sel(self.builder, p.0), sel(self.builder, p.1))
    }

    /// Decodes a public key `w` into its group element, refusing w = 0 and non-points (the
    /// validity flag of [`Self::key_validity`], constrained true).
    pub fn decode_key(&mut self, w: Fp5Target) -> PointTarget {
        let (valid, point) = self.key_validity(w);
        self.builder.assert_one(valid.target);
        point
    }

    /// Whether `w` is a valid public key (a non-zero encoding of a group element), as
    /// `crate::sig::validate_public_key` decides, and its point `(x, 1/w)` when it is (garbage
    /// when not): `x^2 - (w^2 - a)·x + b = 0` and `x·r^2 = b` for some r, so x is the non-square
    /// root `goldilocks-crypto`'s decoding picks (b is not a square).
    ///
    /// With `nz` = (w ≠ 0) pinned by `w·iw = nz` and `(1 - nz)·w = 0`, and `valid ≤ nz`: a valid
    /// key satisfies the decoding equations of [`Self::decode_key`]; a non-zero invalid key
    /// shows that `δ = (w^2 - a)^2 - 4b` is not a square by a root `t` of `t^2 = δ·b` (b is not a
    /// square). Exactly one of the two can be shown for any non-zero w, so the flag is forced.
    pub fn key_validity(&mut self, w: Fp5Target) -> (BoolTarget, PointTarget) {
        self.key_validity_claiming(w, None)
    }

    pub(crate) fn key_validity_claiming(&mut self, w: Fp5Target, claim: Option<bool>) -> (BoolTarget, PointTarget) {
        let b = &mut *self.builder;
        let nz = b.add_virtual_bool_target_safe();
        let valid = b.add_virtual_bool_target_safe();
        let fresh = |b: &mut CircuitBuilder<F, D>| -> Fp5Target { core::array::from_fn(|_| b.add_virtual_target()) };
        let (iw, x, r, t) = (fresh(b), fresh(b), fresh(b), fresh(b));
        b.add_simple_generator(KeyValidityGenerator { w, nz, valid, iw, x, r, t, claim });
        // nz: w·iw = nz and (1 - nz)·w = 0.
        let zero = b.zero();
        let nz5 = [nz.target, zero, zero, zero, zero];
        let prod = self.mul(w, iw);
        self.connect(prod, nz5);
        let not_nz = self.builder.not(nz);
        self.scaled_is_zero(not_nz.target, w);
        // valid ≤ nz.
        let v_not_nz = self.builder.mul(valid.target, not_nz.target);
        self.builder.connect(v_not_nz, zero);
        // valid: x^2 + b = (w^2 - a)·x and x·r^2 = b.
        let w2 = self.mul(w, w);
        let a = self.constant([CURVE_A, 0, 0, 0, 0]);
        let e = self.sub(w2, a);
        let ex = self.mul(e, x);
        let xx = self.mul(x, x);
        let bc = self.constant(CURVE_B);
        let lhs = self.add(xx, bc);
        let quadratic = self.sub(lhs, ex);
        self.scaled_is_zero(valid.target, quadratic);
        let rr = self.mul(r, r);
        let xrr = self.mul(x, rr);
        let root = self.sub(xrr, bc);
        self.scaled_is_zero(valid.target, root);
        // nz and not valid: t^2 = δ·b.
        let ee = self.mul(e, e);
        let four_b = self.scale(4, bc);
        let delta = self.sub(ee, four_b);
        let delta_b = self.mul_b(delta);
        let tt = self.mul(t, t);
        let non_square = self.sub(tt, delta_b);
        let invalid_nz = self.builder.sub(nz.target, valid.target);
        self.scaled_is_zero(invalid_nz, non_square);
        (valid, (x, iw))
    }

    /// Constrains `flag·a = 0` for a base-field `flag`.
    fn scaled_is_zero(&mut self, flag: Target, a: Fp5Target) {
        let zero = self.builder.zero();
        for c in a {
            let p = self.builder.mul(flag, c);
            self.builder.connect(p, zero);
        }
    }

    /// The encoding `w = 1/u` of a non-neutral group element (the neutral element is refused).
    pub fn encode_non_neutral(&mut self, p: PointTarget) -> Fp5Target {
        self.inverse(p.1)
    }

    /// `s·G + e·P` for scalars given as bits (least significant first, [`SCALAR_BITS`] each).
    pub fn double_mul(&mut self, s: &[BoolTarget], g: PointTarget, e: &[BoolTarget], p: PointTarget) -> PointTarget {
        let zero = self.builder.zero();
        let mut acc: PointTarget = ([zero; 5], [zero; 5]);
        if self.backend == Backend::EcGate {
            let gate = EcStepGate::new(2);
            for pair in (0..SCALAR_BITS).rev().collect::<Vec<_>>().chunks(gate.steps) {
                let row = self.builder.add_gate(gate, vec![]);
                let wire = |c: usize| Target::wire(row, c);
                for (start, point) in [(ecadd::WIRE_ACC, acc), (ecadd::WIRE_P1, g), (ecadd::WIRE_P2, p)] {
                    for i in 0..5 {
                        self.builder.connect(point.0[i], wire(start + i));
                        self.builder.connect(point.1[i], wire(start + 5 + i));
                    }
                }
                for (j, &bit) in pair.iter().enumerate() {
                    self.builder.connect(s[bit].target, wire(ecadd::wire_bit(j, 0)));
                    self.builder.connect(e[bit].target, wire(ecadd::wire_bit(j, 1)));
                }
                let out = gate.wire_out();
                acc = (core::array::from_fn(|i| wire(out + i)), core::array::from_fn(|i| wire(out + 5 + i)));
            }
            return acc;
        }
        for bit in (0..SCALAR_BITS).rev() {
            acc = self.point_add(acc, acc);
            let q = self.select(s[bit], g);
            acc = self.point_add(acc, q);
            let q = self.select(e[bit], p);
            acc = self.point_add(acc, q);
        }
        acc
    }

    /// The generator as constants.
    pub fn generator(&mut self) -> PointTarget {
        let (x, u) = arith::generator();
        (self.constant(arith::to_limbs(x)), self.constant(arith::to_limbs(u)))
    }
}

/// The 32 bits of a u32 limb (range-checking it), least significant first.
fn limb_bits(builder: &mut CircuitBuilder<F, D>, limb: Target) -> Vec<BoolTarget> {
    builder.split_le(limb, 32)
}

/// The challenge `e` from its ten u32 limbs: its five field elements and its 320 bits. Each pair
/// (lo, hi) must be a canonical element (below p: hi = 2^32 - 1 forces lo = 0), so `e` has one
/// encoding, as the native verifier demands.
pub fn challenge_from_limbs(builder: &mut CircuitBuilder<F, D>, limbs: &[Target; 10]) -> (Fp5Target, Vec<BoolTarget>) {
    let mut bits = Vec::with_capacity(SCALAR_BITS);
    let elements = core::array::from_fn(|j| {
        let (lo, hi) = (limbs[2 * j], limbs[2 * j + 1]);
        bits.extend(limb_bits(builder, lo));
        bits.extend(limb_bits(builder, hi));
        let max = builder.constant(F::from_canonical_u64(0xffff_ffff));
        let is_max = builder.is_equal(hi, max);
        let zero = builder.zero();
        builder.conditional_assert_eq(is_max.target, lo, zero);
        builder.mul_const_add(F::from_canonical_u64(1 << 32), hi, lo)
    });
    (elements, bits)
}

/// The bits of `s` from its ten u32 limbs, constrained to `s < n` (the canonical scalar).
pub fn scalar_from_limbs(builder: &mut CircuitBuilder<F, D>, limbs: &[Target; 10]) -> Vec<BoolTarget> {
    let bits: Vec<BoolTarget> = limbs.iter().flat_map(|&l| limb_bits(builder, l)).collect();
    // From the top: `eq` says every higher bit equals n's. Where n has a 0, a set bit while equal
    // would make s > n; where n has a 1, equality continues only if the bit is set. s < n iff
    // equality does not survive to the end.
    let mut eq = builder.one();
    let zero = builder.zero();
    for i in (0..SCALAR_BITS).rev() {
        let n_bit = (ORDER[i / 64] >> (i % 64)) & 1 == 1;
        let both = builder.mul(eq, bits[i].target);
        if n_bit {
            eq = both;
        } else {
            builder.connect(both, zero);
        }
    }
    builder.connect(eq, zero);
    bits
}

/// Constrains `signature` (twenty u32 limbs: s then e) to be a valid signature of `message`
/// under the public key `key` (five field elements), as `crate::sig::verify` accepts it: key
/// decodes to a non-neutral point, s < n, e canonical, R = s·G + e·P is not neutral and
/// `Poseidon(tag ‖ encode(R) ‖ key ‖ message)` squeezed to five elements equals e.
pub fn verify_signature(
    builder: &mut CircuitBuilder<F, D>,
    backend: Backend,
    key: Fp5Target,
    message: [Target; 4],
    signature: &[Target; 20],
) {
    let s_limbs: [Target; 10] = core::array::from_fn(|i| signature[i]);
    let e_limbs: [Target; 10] = core::array::from_fn(|i| signature[10 + i]);
    let s_bits = scalar_from_limbs(builder, &s_limbs);
    let (e, e_bits) = challenge_from_limbs(builder, &e_limbs);
    let mut fp5 = Fp5Builder { builder, backend };
    let p = fp5.decode_key(key);
    let g = fp5.generator();
    let r = fp5.double_mul(&s_bits, g, &e_bits, p);
    let r_enc = fp5.encode_non_neutral(r);
    let tag = builder.constant(F::from_canonical_u64(CHALLENGE_TAG % P));
    let mut input = vec![tag];
    input.extend(r_enc);
    input.extend(key);
    input.extend(message);
    let challenge = builder.hash_n_to_m_no_pad::<PoseidonHash>(input, 5);
    for i in 0..5 {
        builder.connect(challenge[i], e[i]);
    }
}

// ---------------------------------------------------------------- witness generators

fn read5(w: &PartitionWitness<F>, t: &Fp5Target) -> [F; 5] {
    t.map(|t| w.get_target(t))
}

fn write5(out: &mut GeneratedValues<F>, t: &Fp5Target, v: [F; 5]) -> anyhow::Result<()> {
    for i in 0..5 {
        out.set_target(t[i], v[i])?;
    }
    Ok(())
}

fn write_targets(dst: &mut Vec<u8>, ts: &[Target]) -> IoResult<()> {
    ts.iter().try_for_each(|&t| dst.write_target(t))
}

fn read_fp5(src: &mut Buffer) -> IoResult<Fp5Target> {
    let mut out = [Target::VirtualTarget { index: 0 }; 5];
    for t in &mut out {
        *t = src.read_target()?;
    }
    Ok(out)
}

/// Fills `out = num / den`.
#[derive(Debug, Default)]
pub(crate) struct QuotientGenerator {
    num: Fp5Target,
    den: Fp5Target,
    out: Fp5Target,
}

impl SimpleGenerator<F, D> for QuotientGenerator {
    fn id(&self) -> String {
        "Fp5QuotientGenerator".to_owned()
    }

    fn dependencies(&self) -> Vec<Target> {
        [self.num, self.den].concat()
    }

    fn run_once(&self, w: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        write5(out, &self.out, fp5_div(read5(w, &self.num), read5(w, &self.den)))
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.num, self.den, self.out].concat())
    }

    fn deserialize(src: &mut Buffer, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { num: read_fp5(src)?, den: read_fp5(src)?, out: read_fp5(src)? })
    }
}

/// Fills a key's validity flag and whichever witness shows it (`claim` overrides the flag in tests).
#[derive(Debug)]
pub(crate) struct KeyValidityGenerator {
    w: Fp5Target,
    nz: BoolTarget,
    valid: BoolTarget,
    iw: Fp5Target,
    x: Fp5Target,
    r: Fp5Target,
    t: Fp5Target,
    claim: Option<bool>,
}

impl SimpleGenerator<F, D> for KeyValidityGenerator {
    fn id(&self) -> String {
        "EcgFp5KeyValidityGenerator".to_owned()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.w.to_vec()
    }

    fn run_once(&self, wit: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let w = read5(wit, &self.w);
        let zero = [F::ZERO; 5];
        let one = arith::from_limbs([1, 0, 0, 0, 0]);
        let b = arith::from_limbs(CURVE_B);
        let nz = w != zero;
        let decoded = decode_native(w);
        let valid = self.claim.unwrap_or(decoded.is_some());
        out.set_bool_target(self.nz, nz)?;
        out.set_bool_target(self.valid, valid)?;
        write5(out, &self.iw, if nz { fp5_div(one, w) } else { zero })?;
        let (x, r) = match decoded {
            Some((x, _)) => (x, fp5_sqrt(fp5_div(b, x)).unwrap_or(zero)),
            None => (zero, zero),
        };
        write5(out, &self.x, x)?;
        write5(out, &self.r, r)?;
        // t^2 = δ·b, solvable exactly for a non-zero invalid key.
        let mut v = arith::Schoolbook(&mut super::gates::algebra::Values::<F>::new());
        let w2 = v.mul(w, w);
        let e = v.sub(w2, arith::from_limbs([CURVE_A, 0, 0, 0, 0]));
        let (ee, four_b) = (v.mul(e, e), v.scale(4, b));
        let delta = v.sub(ee, four_b);
        let t = fp5_sqrt(v.mul_b(delta)).unwrap_or(zero);
        write5(out, &self.t, t)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        write_targets(dst, &[self.w, self.iw, self.x, self.r, self.t].concat())?;
        dst.write_target_bool(self.nz)?;
        dst.write_target_bool(self.valid)?;
        dst.write_usize(match self.claim {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        })
    }

    fn deserialize(src: &mut Buffer, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let (w, iw, x, r, t) = (read_fp5(src)?, read_fp5(src)?, read_fp5(src)?, read_fp5(src)?, read_fp5(src)?);
        let (nz, valid) = (src.read_target_bool()?, src.read_target_bool()?);
        let claim = match src.read_usize()? {
            0 => None,
            c => Some(c == 2),
        };
        Ok(Self { w, nz, valid, iw, x, r, t, claim })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;

    use super::*;
    use crate::circuits::{prove_with_threads, verify_bytes, C};

    /// Proves the validity flag of `key` (five limbs), optionally claiming a flag; returns it.
    fn flag(key: [u64; 5], claim: Option<bool>) -> crate::Result<bool> {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let w: Fp5Target = core::array::from_fn(|_| builder.add_virtual_target());
        let mut fp5 = Fp5Builder { builder: &mut builder, backend: Backend::EcGate };
        let (valid, _) = fp5.key_validity_claiming(w, claim);
        builder.register_public_input(valid.target);
        let data = builder.build::<C>();
        let mut pw = PartialWitness::new();
        for i in 0..5 {
            pw.set_target(w[i], F::from_canonical_u64(key[i])).unwrap();
        }
        let proof = prove_with_threads(&data, pw, 1)?;
        Ok(verify_bytes(&data, &proof)?[0] == 1)
    }

    fn limbs(key: &[u8]) -> [u64; 5] {
        core::array::from_fn(|i| u64::from_le_bytes(key[8 * i..8 * i + 8].try_into().unwrap()))
    }

    #[test]
    fn the_key_flag_is_what_the_native_check_says_and_cannot_be_flipped() {
        let (_, valid_key) = crate::sig::keygen(Some(&[5u8; 32])).unwrap();
        let invalid_key = (1u64..).map(|i| [i, 7, 0, 0, 0]).find(|k| decode_native(arith::from_limbs(*k)).is_none()).unwrap();
        assert!(flag(limbs(&valid_key), None).unwrap());
        assert!(!flag(invalid_key, None).unwrap());
        assert!(!flag([0; 5], None).unwrap(), "the neutral encoding is not a key");
        assert!(flag(limbs(&valid_key), Some(false)).is_err(), "a valid key was proven invalid");
        assert!(flag(invalid_key, Some(true)).is_err(), "an invalid key was proven valid");
        assert!(flag([0; 5], Some(true)).is_err(), "the neutral encoding was proven valid");
    }
}
