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

use goldilocks_crypto::{Fp5Element, Point, ScalarField};
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

/// Verifies a signature; malformed keys or signatures are errors, a wrong signature is `Ok(false)`.
pub fn verify(public_key: &[u8], message: &Digest, signature: &[u8]) -> Result<bool> {
    check_message(message)?;
    let p = decode_public_key(public_key)?;
    if signature.len() != SIGNATURE_BYTES {
        return Err(Error::MalformedSignature("must be 80 bytes"));
    }
    let s = parse_scalar(&signature[..ELEMENT_BYTES]).ok_or(Error::MalformedSignature("s is not a canonical scalar"))?;
    let e = parse_fp5_limbs(&signature[ELEMENT_BYTES..])
        .ok_or(Error::MalformedSignature("e is not five canonical field elements"))?;
    let w = parse_fp5_limbs(public_key).expect("validated by decode_public_key");
    // One double-scalar multiplication (Shamir's trick) instead of two single ones.
    let r = Point::mul_add2(&Point::generator(), &p, &s, &challenge_scalar(&e));
    // A neutral R is refused: the circuit encodes R as 1/u, which the neutral element lacks.
    Ok(!r.is_neutral() && challenge(&encode_point(&r), &w, message) == e)
}

/// Verifies many signatures in parallel; each entry is judged on its own (errors count as invalid).
pub fn batch_verify(items: &[(Vec<u8>, Digest, Vec<u8>)]) -> Vec<bool> {
    items.par_iter().map(|(pk, m, sig)| verify(pk, m, sig).unwrap_or(false)).collect()
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
