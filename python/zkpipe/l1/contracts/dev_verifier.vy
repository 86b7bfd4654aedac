# pragma version ~=0.4.3
"""
@title zkpipe development verifier -- INSECURE
@notice Accepts any proof of any public input from one address (the transaction's origin):
        the trust of a single key, for development and CI machines that have no Groth16 keys.
        A rollup deployed with it is only as safe as that key; a real deployment uses
        groth16_verifier.vy. See docs/l1.md.
"""

aggregator: public(immutable(address))


@deploy
def __init__(_aggregator: address):
    assert _aggregator != empty(address), "zero aggregator"
    aggregator = _aggregator


@external
@view
def verifyProof(proof: uint256[12], publicInput: uint256) -> bool:
    """
    @notice True when the transaction comes from the configured aggregator, whatever the proof.
    """
    assert tx.origin == aggregator, "insecure dev verifier: only its aggregator"
    return True
