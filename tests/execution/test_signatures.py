"""Signatures verified ahead of execution: the check must agree with the spec's rule in every case."""

from __future__ import annotations

import dataclasses

from tests.spec.helpers import funded_state, make_transfer, pk
from zkpipe.execution.signatures import VerifiedSignatures
from zkpipe.spec import AccountIndex, Amount, ChainId, PublicKey, Signature, State, is_valid_signature


def key_of(state: State):  # type: ignore[no-untyped-def]
    return lambda i: state.accounts[i].public_key if i in state.accounts else None


def test_verified_ahead_passes_under_the_same_key_once() -> None:
    state = funded_state(accounts=3)
    tx = make_transfer(state, 1, 2, 10)
    cache = VerifiedSignatures()
    assert cache.verify_ahead([tx], key_of(state), threads=1) == 1
    assert cache.check(pk(1), tx, state.chain_id) is True
    assert len(cache) == 0  # consumed: a replay is checked again the spec's way
    assert cache.check(pk(1), tx, state.chain_id) is True  # and still valid by the spec's rule


def test_verified_ahead_on_one_chain_does_not_pass_on_another() -> None:
    state = funded_state(accounts=3)
    tx = make_transfer(state, 1, 2, 10)
    cache = VerifiedSignatures(state.chain_id)
    assert cache.verify_ahead([tx], key_of(state), threads=1) == 1
    assert cache.check(pk(1), tx, ChainId(state.chain_id + 1)) is False


def test_forged_and_misattributed_signatures_fail_like_the_spec_says() -> None:
    state = funded_state(accounts=3)
    good = make_transfer(state, 1, 2, 10)
    forged = dataclasses.replace(good, signature=Signature(bytes(80)))
    other = dataclasses.replace(
        good, amount=Amount(11)
    )  # signed fields changed: the signature no longer holds
    cache = VerifiedSignatures()
    assert cache.verify_ahead([good, forged, other], key_of(state), threads=2) == 1
    for tx, key in ((forged, pk(1)), (other, pk(1)), (good, pk(2))):
        check = cache.check(PublicKey(key), tx, state.chain_id)
        assert check is is_valid_signature(PublicKey(key), tx, state.chain_id) is False


def test_unknown_sender_is_left_to_execution() -> None:
    state = funded_state(accounts=3)
    tx = dataclasses.replace(make_transfer(state, 1, 2, 10), sender=AccountIndex(9))
    cache = VerifiedSignatures()
    assert cache.verify_ahead([tx], key_of(state)) == 0
    assert len(cache) == 0
