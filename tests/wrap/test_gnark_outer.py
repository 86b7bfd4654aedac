"""gnark's verifier circuit (our `zkpipe-wrap`) accepts qp-plonky2 outer proofs, and only those.

The sample outer proof (fixtures/sample_outer/) is a small circuit in the outer configuration
(Poseidon-BN254 Merkle trees and Fiat-Shamir transcript)
with the gates where qp-plonky2 and gnark-plonky2-verifier differ (coset interpolation) or could
(random access, Poseidon, arithmetic), at 4 FRI queries so gnark's test engine solves it in
seconds. The engine writes it (`wrap::write_sample_outer`); regenerate it with
`ZKPIPE_WRAP_SMALL_DIR=tests/wrap/fixtures/sample_outer cargo test --release -p zkpipe-engine --lib wrap::`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from zkpipe import native
from zkpipe.proving.wrap import statement_hash, wrapper_binary

SAMPLE = Path(__file__).parent / "fixtures" / "sample_outer"

PROOF = "proof_with_public_inputs.json"
COMMON = "common_circuit_data.json"


@pytest.fixture(scope="module")
def sample() -> Path:
    return SAMPLE


def _check(folder: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [str(wrapper_binary()), "check", *flags, "-in", str(folder)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def _edited(sample: Path, tmp_path: Path, name: str, edit: Any) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(sample, folder)
    doc = json.loads((folder / name).read_text())
    edit(doc)
    (folder / name).write_text(json.dumps(doc))
    return folder


def test_gnark_accepts_a_qp_plonky2_outer_proof(sample: Path) -> None:
    gates = json.loads((sample / COMMON).read_text())["gates"]
    assert any(g.startswith("CosetInterpolationGate") for g in gates)
    done = _check(sample)
    assert done.returncode == 0, done.stderr[-2000:]


def test_gnark_rejects_an_outer_proof_with_one_opening_changed(sample: Path, tmp_path: Path) -> None:
    def bump(doc: dict[str, Any]) -> None:
        wire = doc["proof"]["openings"]["wires"][0]
        wire[0] = (wire[0] + 1) % native.GOLDILOCKS_P

    done = _check(_edited(sample, tmp_path, PROOF, bump))
    assert done.returncode != 0


def test_the_program_refuses_other_field_generators(sample: Path, tmp_path: Path) -> None:
    def old_generators(doc: dict[str, Any]) -> None:
        doc["field_generators"] = {"multiplicative": 7, "two_adic": 1753635133440165772}

    done = _check(_edited(sample, tmp_path, COMMON, old_generators))
    assert done.returncode != 0
    assert "generators" in done.stderr


def test_gnark_rejects_another_proof_of_work_witness(sample: Path, tmp_path: Path) -> None:
    """The Poseidon-BN254 transcript binds the grinding: another witness gives another response."""

    def bump(doc: dict[str, Any]) -> None:
        opening = doc["proof"]["opening_proof"]
        opening["pow_witness"] = (opening["pow_witness"] + 1) % native.GOLDILOCKS_P

    done = _check(_edited(sample, tmp_path, PROOF, bump))
    assert done.returncode != 0


def test_gnark_rejects_one_folding_value_changed(sample: Path, tmp_path: Path) -> None:
    """Our FRI query check (wrap/fri.go): a changed value of a folding step breaks its path and the fold."""

    def bump(doc: dict[str, Any]) -> None:
        value = doc["proof"]["opening_proof"]["query_round_proofs"][1]["steps"][0]["evals"][5]
        value[1] = (value[1] + 1) % native.GOLDILOCKS_P

    done = _check(_edited(sample, tmp_path, PROOF, bump))
    assert done.returncode != 0


def test_gnark_rejects_one_merkle_sibling_changed(sample: Path, tmp_path: Path) -> None:
    """Only the Merkle path check sees a changed sibling of an initial tree's path."""

    def bump(doc: dict[str, Any]) -> None:
        query = doc["proof"]["opening_proof"]["query_round_proofs"][1]
        path = query["initial_trees_proof"]["evals_proofs"][2][1]
        path["siblings"][3] = str(int(path["siblings"][3]) + 1)

    done = _check(_edited(sample, tmp_path, PROOF, bump))
    assert done.returncode != 0


def test_the_circuit_per_shape_binds_the_outer_digest_as_python_hashes_it(sample: Path) -> None:
    """`check -shape` (wrap/shape.go) solves, and its public input is ours with the digest prefixed."""
    done = _check(sample, "-shape")
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    event = next(e for e in events if e["stage"] == "check")
    inputs = [int(x) for x in json.loads((sample / PROOF).read_text())["public_inputs"]]
    digest = int(event["verifier_digest"])
    assert int(event["statement_hash"]) == statement_hash(inputs, digest) != statement_hash(inputs)
