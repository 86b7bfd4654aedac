# pragma version ~=0.4.3
"""
@title Groth16 verifier over BN254 for zkpipe's wrap proofs
@notice Verifies a gnark (v0.9) Groth16 proof with one BSB22 commitment and one public
        input, using the EVM's BN254 precompiles. The verifying key is fixed at deployment
        (immutables): one deployment per wrap circuit, whose key digest the deployer pins.
@dev    The check is e(A, B) = e(alpha, beta) e(L, gamma) e(C, delta), where
        L = K0 + x K1 + h K2 + D and h is the commitment's hash to the field, together with
        the commitment's proof of knowledge e(D, G) e(P, G_root_sigma_neg) = 1. Both are
        batched into one pairing call with a random rho derived from the whole proof.
"""

# BN254 scalar field (public inputs) and base field (coordinates).
R: constant(uint256) = 21888242871839275222246405745257275088548364400416034343698204186575808495617
Q: constant(uint256) = 21888242871839275222246405745257275088696311157297823662689037894645226208583
# gnark's domain separation tag for hashing a commitment to the field.
COMMITMENT_DST: constant(Bytes[16]) = b"bsb22-commitment"
PAIRING: constant(address) = 0x0000000000000000000000000000000000000008

ALPHA: public(immutable(uint256[2]))
BETA: public(immutable(uint256[4]))
GAMMA: public(immutable(uint256[4]))
DELTA: public(immutable(uint256[4]))
K: public(immutable(uint256[2][3]))
COMMITMENT_G: public(immutable(uint256[4]))
COMMITMENT_G_ROOT_SIGMA_NEG: public(immutable(uint256[4]))


@deploy
def __init__(
    alpha: uint256[2],
    beta: uint256[4],
    gamma: uint256[4],
    delta: uint256[4],
    k: uint256[2][3],
    commitment_g: uint256[4],
    commitment_g_root_sigma_neg: uint256[4],
):
    ALPHA = alpha
    BETA = beta
    GAMMA = gamma
    DELTA = delta
    K = k
    COMMITMENT_G = commitment_g
    COMMITMENT_G_ROOT_SIGMA_NEG = commitment_g_root_sigma_neg


@internal
@pure
def _commitment_hash(dx: uint256, dy: uint256) -> uint256:
    """gnark's fr.Hash of the commitment point: expand_message_xmd (SHA-256) to 48 bytes, mod R."""
    dst_prime: Bytes[17] = concat(COMMITMENT_DST, b"\x10")
    b0: bytes32 = sha256(concat(empty(bytes32), empty(bytes32), convert(dx, bytes32), convert(dy, bytes32), b"\x00\x30\x00", dst_prime))
    b1: bytes32 = sha256(concat(b0, b"\x01", dst_prime))
    b2: bytes32 = sha256(concat(convert(convert(b0, uint256) ^ convert(b1, uint256), bytes32), b"\x02", dst_prime))
    # The 48 bytes b1 || b2[:16] as a big-endian number: b1 * 2^128 + (b2 >> 128).
    hi: uint256 = convert(b1, uint256)
    lo: uint256 = convert(b2, uint256) >> 128
    return uint256_addmod(uint256_mulmod(hi, 2**128, R), lo, R)


@external
@view
def verifyProof(proof: uint256[12], public_input: uint256) -> bool:
    """
    @notice Reverts unless `proof` is valid for `public_input`; returns True otherwise.
    @param proof A (2 words), B (4, imaginary parts first), C (2), commitment D (2), its proof of knowledge P (2).
    """
    assert public_input < R, "public input not in the field"
    # Why unrolled: a loop indexes with bounds checks and costs ~1k gas more for nothing.
    assert (
        proof[0] < Q and proof[1] < Q and proof[2] < Q and proof[3] < Q and proof[4] < Q and proof[5] < Q
        and proof[6] < Q and proof[7] < Q and proof[8] < Q and proof[9] < Q and proof[10] < Q and proof[11] < Q
    ), "proof coordinate not in the field"
    d: uint256[2] = [proof[8], proof[9]]
    # L = K0 + x K1 + h K2 + D: the key's constant term, the public input, the commitment's hash, the commitment.
    l: uint256[2] = ecadd(ecadd(K[0], ecmul(K[1], public_input)), ecadd(ecmul(K[2], self._commitment_hash(d[0], d[1])), d))
    rho: uint256 = convert(keccak256(abi_encode(proof, public_input)), uint256) % R
    # Why one abi_encode of every pair: concatenating parts copies the buffer once per part.
    data: Bytes[1152] = abi_encode(
        proof[0], (Q - proof[1]) % Q, proof[2], proof[3], proof[4], proof[5],
        ALPHA, BETA,
        l, GAMMA,
        proof[6], proof[7], DELTA,
        ecmul(d, rho), COMMITMENT_G,
        ecmul([proof[10], proof[11]], rho), COMMITMENT_G_ROOT_SIGMA_NEG,
    )  # fmt: skip
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(PAIRING, data, max_outsize=32, is_static_call=True, revert_on_failure=False)
    assert ok and len(out) == 32, "pairing precompile failed"
    assert convert(out, uint256) == 1, "invalid proof"
    return True
