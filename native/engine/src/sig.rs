//! Schnorr signatures over ECgFp5 with a Poseidon challenge the circuit can recompute.
//!
//! Curve arithmetic comes from `goldilocks-crypto`; the scheme around it is ours:
//!
//! - secret key `x`: a canonical non-zero scalar mod n (40 bytes, little-endian limbs);
//! - public key: the 40-byte encoding `w` of `P = x·G` (five canonical field elements);
//! - challenge: `e = Poseidon(encode(R) ‖ w ‖ m)` squeezed to five field elements, used
//!   as a scalar by reading them as a 320-bit integer (reduced mod n natively; the
//!   circuit multiplies by the bits directly, so it needs no reduction);
//! - signature: `(s, e)` with `s = k − e·x mod n`; verification recomputes
//!   `R' = s·G + e·P`, refuses the neutral `R'`, and checks `Poseidon(encode(R') ‖ w ‖ m) == e`.
//!
//! The nonce `k` is derived deterministically from the secret key and the message
//! (ten Poseidon outputs, 640 bits, reduced mod n so its bias is negligible).
//!
//! Verification computes `R'` with a fixed-base comb for `s·G` (a table built once, so `s·G`
//! needs no doubling) and a signed 5-bit window for `e·P`. A batch shares its inversions (every
//! key's window normalized in one, every `R'` encoded in one). The `(s, e)` form carries no `R`, so
//! a random linear combination over the batch cannot be checked with one multi-scalar
//! multiplication: each `R'` must be computed to hash it (ADR 30). Every result is therefore exact
//! per signature and a batch needs no one-by-one fallback.

use std::sync::OnceLock;

use goldilocks_crypto::{AffinePoint, Fp5Element, Point, ScalarField};
use num_bigint::BigUint;
use rayon::prelude::*;

use crate::field::P;
use crate::hash::{hash_to_many, Digest};
use crate::{Error, Result};

/// Length of a secret key, a public key and each half of a signature.
pub const ELEMENT_BYTES: usize = 40;
/// Length of a signature: `s ‖ e`.
pub const SIGNATURE_BYTES: usize = 80;

/// Domain tags keep challenge and nonce derivations apart.
const CHALLENGE_TAG: u64 = 0x7a6b_7369_675f_6368; // "zksig_ch"
const NONCE_TAG: u64 = 0x7a6b_7369_675f_6e6f; // "zksig_no"
const KEYGEN_TAG: u64 = 0x7a6b_7369_675f_6b67; // "zksig_kg"

/// The group order n.
pub(crate) fn order() -> BigUint {
    BigUint::parse_bytes(b"7ffffffd800000077ffffff1000000167fffffe6cfb80639e8885c39d724a09ce80fd996948bffe1", 16)
        .expect("curve order constant")
}

fn limbs_le(bytes: &[u8]) -> [u64; 5] {
    let mut limbs = [0u64; 5];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    }
    limbs
}

fn scalar_from_biguint(value: &BigUint) -> ScalarField {
    let mut bytes = value.to_bytes_le();
    bytes.resize(ELEMENT_BYTES, 0);
    ScalarField::new(limbs_le(&bytes))
}

fn scalar_to_biguint(value: &ScalarField) -> BigUint {
    BigUint::from_bytes_le(&value.to_bytes_le())
}

/// Reads a canonical scalar in [0, n).
fn parse_scalar(bytes: &[u8]) -> Option<ScalarField> {
    if bytes.len() != ELEMENT_BYTES {
        return None;
    }
    let value = BigUint::from_bytes_le(bytes);
    (value < order()).then(|| scalar_from_biguint(&value))
}

/// Reads five canonical field elements.
fn parse_fp5_limbs(bytes: &[u8]) -> Option<[u64; 5]> {
    if bytes.len() != ELEMENT_BYTES {
        return None;
    }
    let limbs = limbs_le(bytes);
    limbs.iter().all(|&l| l < P).then_some(limbs)
}

fn limbs_to_bytes(limbs: &[u64; 5]) -> [u8; ELEMENT_BYTES] {
    let mut out = [0u8; ELEMENT_BYTES];
    for (i, limb) in limbs.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

fn encode_point(point: &Point) -> [u64; 5] {
    let w = point.encode();
    let mut limbs = [0u64; 5];
    for (slot, e) in limbs.iter_mut().zip(w.0.iter()) {
        *slot = e.to_canonical_u64();
    }
    limbs
}

/// Decodes a public key into a curve point, refusing non-canonical encodings and the neutral point.
fn decode_public_key(public_key: &[u8]) -> Result<Point> {
    if public_key.len() != ELEMENT_BYTES {
        return Err(Error::InvalidPublicKey("must be 40 bytes"));
    }
    let limbs = parse_fp5_limbs(public_key).ok_or(Error::InvalidPublicKey("non-canonical field element"))?;
    if limbs == [0; 5] {
        return Err(Error::InvalidPublicKey("the neutral point is not a public key"));
    }
    Point::decode(&Fp5Element::from_uint64_array(limbs)).ok_or(Error::InvalidPublicKey("not a curve point"))
}

/// The challenge `Poseidon(R ‖ w ‖ m)` as five field elements.
pub(crate) fn challenge(r: &[u64; 5], public_key: &[u64; 5], message: &Digest) -> [u64; 5] {
    let mut input = Vec::with_capacity(15);
    input.push(CHALLENGE_TAG % P);
    input.extend_from_slice(r);
    input.extend_from_slice(public_key);
    input.extend_from_slice(message);
    let out = hash_to_many(&input, 5).expect("canonical inputs");
    [out[0], out[1], out[2], out[3], out[4]]
}

fn challenge_scalar(e: &[u64; 5]) -> ScalarField {
    ScalarField::from_fp5_element(&Fp5Element::from_uint64_array(*e))
}

/// Reduces ten field elements (640 bits) mod n.
fn wide_scalar(elements: &[u64]) -> ScalarField {
    let mut bytes = Vec::with_capacity(elements.len() * 8);
    for e in elements {
        bytes.extend_from_slice(&e.to_le_bytes());
    }
    scalar_from_biguint(&(BigUint::from_bytes_le(&bytes) % order()))
}

fn bytes_to_elements(tag: u64, bytes: &[u8]) -> Vec<u64> {
    // 4-byte chunks are always canonical field elements; the length is bound in too.
    let mut elements = vec![tag % P, bytes.len() as u64];
    elements.extend(bytes.chunks(4).map(|c| {
        let mut buf = [0u8; 4];
        buf[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(buf) as u64
    }));
    elements
}

fn check_message(message: &Digest) -> Result<()> {
    match message.iter().find(|&&m| m >= P) {
        Some(&m) => Err(Error::NonCanonicalField(m)),
        None => Ok(()),
    }
}

fn secret_scalar(secret_key: &[u8]) -> Result<ScalarField> {
    if secret_key.len() != ELEMENT_BYTES {
        return Err(Error::InvalidSecretKey("must be 40 bytes"));
    }
    let x = parse_scalar(secret_key).ok_or(Error::InvalidSecretKey("not a canonical scalar"))?;
    if x.is_zero() {
        return Err(Error::InvalidSecretKey("zero"));
    }
    Ok(x)
}

/// A key pair from 32+ bytes of seed (deterministic), or from the OS RNG when `seed` is `None`.
pub fn keygen(seed: Option<&[u8]>) -> Result<([u8; ELEMENT_BYTES], [u8; ELEMENT_BYTES])> {
    let x = match seed {
        Some(seed) => {
            if seed.len() < 32 {
                return Err(Error::InvalidSecretKey("seed must be at least 32 bytes"));
            }
            wide_scalar(&hash_to_many(&bytes_to_elements(KEYGEN_TAG, seed), 10)?)
        }
        None => ScalarField::sample_crypto(),
    };
    if x.is_zero() {
        return Err(Error::InvalidSecretKey("derived key is zero"));
    }
    let secret = x.to_bytes_le();
    let public = public_key(&secret)?;
    Ok((secret, public))
}

/// The public key of a secret key.
pub fn public_key(secret_key: &[u8]) -> Result<[u8; ELEMENT_BYTES]> {
    let x = secret_scalar(secret_key)?;
    Ok(limbs_to_bytes(&encode_point(&Point::generator().mul(&x))))
}

/// Checks that `public_key` encodes a valid non-neutral curve point.
pub fn validate_public_key(public_key: &[u8]) -> Result<()> {
    decode_public_key(public_key).map(|_| ())
}

/// Signs a message digest; deterministic for a given key and message.
pub fn sign(secret_key: &[u8], message: &Digest) -> Result<[u8; SIGNATURE_BYTES]> {
    check_message(message)?;
    let x = secret_scalar(secret_key)?;
    let w = encode_point(&Point::generator().mul(&x));
    let mut nonce_input = bytes_to_elements(NONCE_TAG, secret_key);
    nonce_input.extend_from_slice(message);
    let mut k = wide_scalar(&hash_to_many(&nonce_input, 10)?);
    if k.is_zero() {
        k = ScalarField::from_u64(1); // unreachable in practice (probability ~2^-319)
    }
    let r = encode_point(&Point::generator().mul(&k));
    let e = challenge(&r, &w, message);
    let n = order();
    let ex = (scalar_to_biguint(&challenge_scalar(&e)) * scalar_to_biguint(&x)) % &n;
    let s = (scalar_to_biguint(&k) + &n - ex) % &n;
    let mut signature = [0u8; SIGNATURE_BYTES];
    signature[..ELEMENT_BYTES].copy_from_slice(&scalar_from_biguint(&s).to_bytes_le());
    signature[ELEMENT_BYTES..].copy_from_slice(&limbs_to_bytes(&e));
    Ok(signature)
}

/// Width of the signed digits both scalar multiplications use.
const WINDOW: usize = 5;
/// Multiples in a window: digits lie in [-15, 16].
const WINDOW_POINTS: usize = 1 << (WINDOW - 1);

/// `table[j][i] = (i + 1)·32^j·G`, affine: `s·G` is one affine addition per non-zero signed digit.
fn generator_table() -> &'static [Vec<AffinePoint>] {
    static TABLE: OnceLock<Vec<Vec<AffinePoint>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut base = Point::generator();
        (0..(319 + WINDOW) / WINDOW)
            .map(|_| {
                let window = base.make_window_affine();
                base = base.set_m_double(WINDOW as u32);
                window
            })
            .collect()
    })
}

/// `1·p … 16·p`, projective (normalized later, with the rest of the batch).
fn window_projective(p: &Point) -> [Point; WINDOW_POINTS] {
    let mut window = [*p; WINDOW_POINTS];
    for i in 1..WINDOW_POINTS {
        // window[i] = (i + 1)·p: a doubling of window[i / 2] when i + 1 is even, else one addition.
        window[i] = if i % 2 == 1 { window[i / 2].double() } else { window[i - 1].add(p) };
    }
    window
}

fn lookup(window: &[AffinePoint], digit: i32) -> AffinePoint {
    Point::lookup_var_time(window, digit)
}

/// `s·G + e·P` given `P`'s affine window.
fn double_mul(window: &[AffinePoint], s: &ScalarField, e: &ScalarField) -> Point {
    let digits = e.recode_signed(WINDOW);
    let top = digits.iter().rposition(|&d| d != 0).unwrap_or(0);
    let mut acc = lookup(window, digits[top]).to_point();
    for &d in digits[..top].iter().rev() {
        acc = acc.set_m_double(WINDOW as u32);
        if d != 0 {
            acc = acc.add_affine(&lookup(window, d));
        }
    }
    for (table, d) in generator_table().iter().zip(s.recode_signed(WINDOW)) {
        if d != 0 {
            acc = acc.add_affine(&lookup(table, d));
        }
    }
    acc
}

/// Inverts every non-zero element with one field inversion (Montgomery's trick); zero stays zero.
fn batch_invert(values: &[Fp5Element]) -> Vec<Fp5Element> {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = Fp5Element::one();
    for v in values {
        prefix.push(acc);
        if !v.is_zero() {
            acc = acc.mul(v);
        }
    }
    let mut inv = acc.inverse();
    let mut out = vec![Fp5Element::zero(); values.len()];
    for (i, v) in values.iter().enumerate().rev() {
        if !v.is_zero() {
            out[i] = inv.mul(&prefix[i]);
            inv = inv.mul(v);
        }
    }
    out
}

/// A signature parsed as the verifier reads it: the key's point and encoding, `s` and `e`.
struct Parsed {
    key: Point,
    w: [u64; 5],
    s: ScalarField,
    e: [u64; 5],
}

/// Strict parsing: the message canonical, the key a non-neutral point, `s < n`, `e` canonical.
fn parse(public_key: &[u8], message: &Digest, signature: &[u8]) -> Result<Parsed> {
    check_message(message)?;
    let key = decode_public_key(public_key)?;
    if signature.len() != SIGNATURE_BYTES {
        return Err(Error::MalformedSignature("must be 80 bytes"));
    }
    let s = parse_scalar(&signature[..ELEMENT_BYTES]).ok_or(Error::MalformedSignature("s is not a canonical scalar"))?;
    let e = parse_fp5_limbs(&signature[ELEMENT_BYTES..])
        .ok_or(Error::MalformedSignature("e is not five canonical field elements"))?;
    let w = parse_fp5_limbs(public_key).expect("validated by decode_public_key");
    Ok(Parsed { key, w, s, e })
}

/// Verifies parsed signatures together: `R' = s·G + e·P` for each (inversions shared), then
/// `R'` not neutral and `Poseidon(encode(R') ‖ w ‖ m) == e`. Exact per signature.
fn verify_parsed(items: &[(&Parsed, &Digest)]) -> Vec<bool> {
    let projective: Vec<Point> = items.iter().flat_map(|(p, _)| window_projective(&p.key)).collect();
    let windows = Point::batch_to_affine(&projective);
    let rs: Vec<Point> = items
        .iter()
        .zip(windows.chunks(WINDOW_POINTS))
        .map(|((p, _), window)| double_mul(window, &p.s, &challenge_scalar(&p.e)))
        .collect();
    // encode(R) = t / u; u = 0 is the neutral R, refused (the circuit encodes R as 1/u).
    let inverses = batch_invert(&rs.iter().map(|r| r.u).collect::<Vec<_>>());
    items
        .iter()
        .zip(rs.iter().zip(inverses))
        .map(|((p, m), (r, inv))| {
            if r.is_neutral() {
                return false;
            }
            let encoded = r.t.mul(&inv);
            let limbs: [u64; 5] = core::array::from_fn(|i| encoded.0[i].to_canonical_u64());
            challenge(&limbs, &p.w, m) == p.e
        })
        .collect()
}

/// Verifies a signature; malformed keys or signatures are errors, a wrong signature is `Ok(false)`.
pub fn verify(public_key: &[u8], message: &Digest, signature: &[u8]) -> Result<bool> {
    let parsed = parse(public_key, message, signature)?;
    Ok(verify_parsed(&[(&parsed, message)])[0])
}

/// Signatures verified together on one thread (inversions shared); each entry is judged on its
/// own, exactly as [`verify`] judges it (errors count as invalid).
pub fn verify_together(items: &[(Vec<u8>, Digest, Vec<u8>)]) -> Vec<bool> {
    let parsed: Vec<Option<Parsed>> = items.iter().map(|(pk, m, sig)| parse(pk, m, sig).ok()).collect();
    let well_formed: Vec<(&Parsed, &Digest)> =
        parsed.iter().zip(items).filter_map(|(p, (_, m, _))| p.as_ref().map(|p| (p, m))).collect();
    let mut results = verify_parsed(&well_formed).into_iter();
    parsed.iter().map(|p| p.is_some() && results.next().expect("one result per parsed item")).collect()
}

/// Signatures per [`verify_together`] call in [`batch_verify`]: enough to amortize the shared
/// inversions, few enough to keep every core busy.
pub const BATCH_CHUNK: usize = 32;

/// Verifies many signatures on every core of the current rayon pool, in chunks verified
/// together (`chunk` 1 verifies one by one); each entry is judged on its own.
pub fn batch_verify_chunked(items: &[(Vec<u8>, Digest, Vec<u8>)], chunk: usize) -> Vec<bool> {
    let per_thread = items.len().div_ceil(rayon::current_num_threads().max(1));
    let chunk = chunk.clamp(1, per_thread.max(1));
    items.par_chunks(chunk).flat_map_iter(verify_together).collect()
}

/// Verifies many signatures in parallel, [`BATCH_CHUNK`] at a time; each entry is judged on its
/// own (errors count as invalid).
pub fn batch_verify(items: &[(Vec<u8>, Digest, Vec<u8>)]) -> Vec<bool> {
    batch_verify_chunked(items, BATCH_CHUNK)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_tampering() {
        let (sk, pk) = keygen(Some(&[7u8; 32])).unwrap();
        let m = [1, 2, 3, 4];
        let sig = sign(&sk, &m).unwrap();
        assert!(verify(&pk, &m, &sig).unwrap());
        assert!(!verify(&pk, &[1, 2, 3, 5], &sig).unwrap());
        let (_, other) = keygen(Some(&[8u8; 32])).unwrap();
        assert!(!verify(&other, &m, &sig).unwrap());
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!verify(&pk, &m, &bad).unwrap_or(false));
    }

    /// A signature whose R is the neutral element: s = -e·x with e the challenge of R = 0.
    pub(crate) fn neutral_r_signature(secret: &[u8], public: &[u8], m: &Digest) -> [u8; SIGNATURE_BYTES] {
        let w = parse_fp5_limbs(public).unwrap();
        let e = challenge(&[0; 5], &w, m);
        let x = BigUint::from_bytes_le(secret);
        let n = order();
        let ex = (scalar_to_biguint(&challenge_scalar(&e)) * x) % &n;
        let s = (&n - ex) % &n;
        let mut signature = [0u8; SIGNATURE_BYTES];
        signature[..ELEMENT_BYTES].copy_from_slice(&scalar_from_biguint(&s).to_bytes_le());
        signature[ELEMENT_BYTES..].copy_from_slice(&limbs_to_bytes(&e));
        signature
    }

    #[test]
    fn a_neutral_r_is_refused() {
        let (sk, pk) = keygen(Some(&[3u8; 32])).unwrap();
        let m = [9, 8, 7, 6];
        let sig = neutral_r_signature(&sk, &pk, &m);
        let (s, e) = (parse_scalar(&sig[..40]).unwrap(), challenge_scalar(&parse_fp5_limbs(&sig[40..]).unwrap()));
        let p = decode_public_key(&pk).unwrap();
        assert!(Point::mul_add2(&Point::generator(), &p, &s, &e).is_neutral());
        assert!(!verify(&pk, &m, &sig).unwrap());
    }

    /// The verification equation as the curve library computes it (Shamir's trick), for reference.
    fn verify_reference(public_key: &[u8], message: &Digest, signature: &[u8]) -> Result<bool> {
        let p = parse(public_key, message, signature)?;
        let r = Point::mul_add2(&Point::generator(), &p.key, &p.s, &challenge_scalar(&p.e));
        Ok(!r.is_neutral() && challenge(&encode_point(&r), &p.w, message) == p.e)
    }

    #[test]
    fn batches_judge_each_signature_as_the_reference_does() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let keys: Vec<_> = (0..4u8).map(|i| keygen(Some(&[i + 20; 32])).unwrap()).collect();
        let mut items = Vec::new();
        for i in 0..40 {
            let (sk, pk) = &keys[i % keys.len()];
            let m: Digest = core::array::from_fn(|_| rng.gen_range(0..P));
            let mut sig = sign(sk, &m).unwrap().to_vec();
            let mut pk = pk.to_vec();
            match rng.gen_range(0..6) {
                0 => sig[rng.gen_range(0..SIGNATURE_BYTES)] ^= 1 << rng.gen_range(0..8),
                1 => pk = keys[(i + 1) % keys.len()].1.to_vec(),
                2 => sig = neutral_r_signature(sk, &pk, &m).to_vec(),
                _ => {}
            }
            items.push((pk, m, sig));
        }
        let reference: Vec<bool> =
            items.iter().map(|(pk, m, sig)| verify_reference(pk, m, sig).unwrap_or(false)).collect();
        assert!(reference.iter().filter(|&&ok| ok).count() > 10 && reference.contains(&false));
        assert_eq!(verify_together(&items), reference);
        for chunk in [1, 3, BATCH_CHUNK] {
            assert_eq!(batch_verify_chunked(&items, chunk), reference, "chunk {chunk}");
        }
        for (pk, m, sig) in &items {
            assert_eq!(verify(pk, m, sig).ok(), verify_reference(pk, m, sig).ok());
        }
    }

    #[test]
    fn a_batch_with_one_bad_signature_refuses_exactly_that_one() {
        let (sk, pk) = keygen(Some(&[31u8; 32])).unwrap();
        let mut items: Vec<_> = (0..9u64).map(|i| (pk.to_vec(), [i, 1, 2, 3], sign(&sk, &[i, 1, 2, 3]).unwrap().to_vec())).collect();
        items[4].1[0] += 100; // signed another message
        items[6].2[79] = 0xff; // e not canonical: malformed, judged invalid
        let expected: Vec<bool> = (0..9).map(|i| i != 4 && i != 6).collect();
        assert_eq!(verify_together(&items), expected);
        assert_eq!(batch_verify(&items), expected);
    }

    #[test]
    fn s_below_the_group_order_is_the_only_scalar_accepted() {
        use plonky2::iop::target::Target;
        use plonky2::iop::witness::{PartialWitness, WitnessWrite};
        use plonky2::plonk::circuit_builder::CircuitBuilder;
        use plonky2::plonk::circuit_data::CircuitConfig;

        use crate::circuits::ecgfp5::scalar_from_limbs;
        use crate::circuits::{prove_with_threads, C, D, F};

        // The circuit's rule (tested here, outside `circuits/`, so the circuit cache's source hash
        // stays). Each case isolates one part of it: n itself only the final `eq = 0`, 2^319 only
        // the per-bit check (its top bit is set where n's is clear, and its next bit is clear
        // where n's is set, so equality with n ends there).
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let limbs: [Target; 10] = core::array::from_fn(|_| builder.add_virtual_target());
        let bits = scalar_from_limbs(&mut builder, &limbs);
        builder.register_public_inputs(&bits.iter().map(|b| b.target).collect::<Vec<_>>());
        let data = builder.build::<C>();
        let prove = |s: &BigUint| {
            let mut bytes = s.to_bytes_le();
            bytes.resize(40, 0);
            let mut pw = PartialWitness::new();
            for (t, chunk) in limbs.iter().zip(bytes.chunks(4)) {
                let limb = u64::from(u32::from_le_bytes(chunk.try_into().unwrap()));
                pw.set_target(*t, crate::field::to_field(limb).unwrap()).unwrap();
            }
            prove_with_threads(&data, pw, 1)
        };
        let n = order();
        assert!(prove(&(&n - 1u32)).is_ok(), "n - 1 is canonical");
        assert!(prove(&BigUint::from(0u32)).is_ok());
        assert!(prove(&n).is_err(), "s = n was accepted");
        assert!(prove(&(BigUint::from(1u32) << 319)).is_err(), "s = 2^319 > n was accepted");
    }

    #[test]
    fn non_canonical_s_is_malformed() {
        let (sk, pk) = keygen(Some(&[9u8; 32])).unwrap();
        let m = [5, 6, 7, 8];
        let mut sig = sign(&sk, &m).unwrap();
        // s + n has the same value mod n but must be refused.
        let s = BigUint::from_bytes_le(&sig[..40]) + order();
        let mut bytes = s.to_bytes_le();
        bytes.resize(40, 0);
        sig[..40].copy_from_slice(&bytes);
        assert!(matches!(verify(&pk, &m, &sig), Err(Error::MalformedSignature(_))));
    }
}
