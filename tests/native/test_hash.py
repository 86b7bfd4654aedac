"""Poseidon over Goldilocks: published vectors, input validation, agreement with the circuit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkpipe import native
from zkpipe.errors import InvalidInput, NonCanonicalFieldElement

P = native.GOLDILOCKS_P
field = st.integers(min_value=0, max_value=P - 1)

# Published plonky2 Poseidon (width 12) vectors: input -> permutation output.
PERMUTATION_VECTORS = [
    (
        [0] * 12,
        [
            0x3C18A9786CB0B359, 0xC4055E3364A246C3, 0x7953DB0AB48808F4, 0xC71603F33A1144CA,
            0xD7709673896996DC, 0x46A84E87642F44ED, 0xD032648251EE0B3C, 0x1C687363B207DF62,
            0xDF8565563E8045FE, 0x40F5B37FF4254DAE, 0xD070F637B431067C, 0x1792B1C4342109D7,
        ],
    ),
    (
        list(range(12)),
        [
            0xD64E1E3EFC5B8E9E, 0x53666633020AAA47, 0xD40285597C6A8825, 0x613A4F81E81231D2,
            0x414754BFEBD051F0, 0xCB1F8980294A023F, 0x6EB2A9E4D54A9D0F, 0x1902BC3AF467E056,
            0xF045D5EAFDC6021F, 0xE4150F77CAAA3BE5, 0xC9BFD01D39B50CCE, 0x5C0A27FCB0E1459B,
        ],
    ),
    (
        [P - 1] * 12,
        [
            0xBE0085CFC57A8357, 0xD95AF71847D05C09, 0xCF55A13D33C1C953, 0x95803A74F4530E82,
            0xFCD99EB30A135DF1, 0xE095905E913A3029, 0xDE0392461B42919B, 0x7D3260E24E81D031,
            0x10D3D0465D9DEAA0, 0xA87571083DFC2A47, 0xE18263681E9958F8, 0xE28E96F1AE5E60D3,
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("state", "expected"), PERMUTATION_VECTORS)
def test_permutation_matches_published_vectors(state: list[int], expected: list[int]) -> None:
    assert list(native.poseidon_permute(state)) == expected


def test_short_inputs_are_hashed_not_passed_through() -> None:
    # hash_no_pad always permutes (unlike plonky2's hash_or_noop), so a leaf is never its own digest.
    assert native.poseidon_hash([7, 8]) == tuple(native.poseidon_permute([7, 8, *[0] * 10])[:4])


def test_hash_of_many_elements_is_sponge_over_permutation() -> None:
    # Eight elements fit in one rate-8 absorption: digest = first four of permute(inputs ‖ 0000).
    inputs = list(range(1, 9))
    assert native.poseidon_hash(inputs) == tuple(native.poseidon_permute([*inputs, 0, 0, 0, 0])[:4])


def test_two_to_one_is_permutation_of_both_children() -> None:
    left, right = (1, 2, 3, 4), (5, 6, 7, 8)
    expected = native.poseidon_permute([*left, *right, 0, 0, 0, 0])[:4]
    assert native.poseidon_two_to_one(left, right) == tuple(expected)


@settings(max_examples=50, deadline=None)
@given(st.lists(field, min_size=5, max_size=40))
def test_hash_is_deterministic_and_input_sensitive(elements: list[int]) -> None:
    digest = native.poseidon_hash(elements)
    assert digest == native.poseidon_hash(list(elements))
    changed = [*elements[:-1], (elements[-1] + 1) % P]
    assert native.poseidon_hash(changed) != digest
    assert all(0 <= x < P for x in digest)


def test_hash_to_many_extends_the_digest() -> None:
    elements = list(range(20))
    many = native.poseidon_hash_to_many(elements, 10)
    assert len(many) == 10
    assert many[:4] == native.poseidon_hash(elements)


@pytest.mark.parametrize("bad", [P, P + 1, 2**64 - 1])
def test_non_canonical_elements_are_rejected(bad: int) -> None:
    with pytest.raises(NonCanonicalFieldElement):
        native.poseidon_hash([1, bad])
    with pytest.raises(NonCanonicalFieldElement):
        native.poseidon_two_to_one((bad, 0, 0, 0), (0, 0, 0, 0))


@pytest.mark.parametrize("bad", [-1, 2**64, 2**200])
def test_out_of_range_integers_are_rejected(bad: int) -> None:
    with pytest.raises(NonCanonicalFieldElement):
        native.poseidon_hash([bad])


def test_permutation_needs_exactly_twelve_elements() -> None:
    with pytest.raises(InvalidInput):
        native.poseidon_permute([0] * 11)


def test_native_hash_agrees_with_the_in_circuit_hash() -> None:
    # A depth-1 membership proof recomputes two_to_one(leaf, sibling) inside the circuit and
    # constrains it to equal the public root, so it only verifies if both hashes agree.
    leaf, sibling = native.poseidon_hash([1, 2, 3, 4, 5]), native.poseidon_hash([6, 7, 8, 9, 10])
    root = native.poseidon_two_to_one(leaf, sibling)
    statement = native.verify_membership(native.prove_membership(root, 0, leaf, [sibling]), depth=1)
    assert statement.root == root
