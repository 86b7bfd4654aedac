package main

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

// The sample outer proof and another circuit of its shape (the engine's
// write_sample_outer_with: same common data, other constants, so another cap and digest).
const sampleDir, otherDir = "../tests/wrap/fixtures/sample_outer", "../tests/wrap/fixtures/sample_outer_other"

func readSample(t *testing.T, dir string) (*outerFiles, *big.Int) {
	t.Helper()
	o, err := readOuter(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := nativeVerifierDigest(o.verifier)
	if err != nil {
		t.Fatal(err)
	}
	return o, d
}

// solveShape checks o's proof in the circuit per shape under verifier data v, public input for `pinned`.
func solveShape(o *outerFiles, v variables.VerifierOnlyCircuitData, pinned *big.Int) error {
	return test.IsSolved(o.shapeTemplate(), o.shapeAssignment(v, pinned), ecc.BN254.ScalarField())
}

func bumped(v variables.VerifierOnlyCircuitData, cap bool) variables.VerifierOnlyCircuitData {
	out := variables.VerifierOnlyCircuitData{ConstantSigmasCap: append(variables.FriMerkleCap{}, v.ConstantSigmasCap...), CircuitDigest: v.CircuitDigest}
	if cap {
		out.ConstantSigmasCap[3] = new(big.Int).Add(toBig(out.ConstantSigmasCap[3]), big.NewInt(1))
	} else {
		out.CircuitDigest = new(big.Int).Add(toBig(out.CircuitDigest), big.NewInt(1))
	}
	return out
}

func toBig(v any) *big.Int {
	switch x := v.(type) {
	case *big.Int:
		return x
	case big.Int:
		return &x
	}
	panic("verifier data is not a number")
}

// One circuit serves both circuits of the shape, each only with its own digest in the public input.
func TestShapeCircuitAcceptsEachCircuitOfTheShapeUnderItsOwnDigest(t *testing.T) {
	o, d := readSample(t, sampleDir)
	if err := solveShape(o, o.verifier, d); err != nil {
		t.Fatalf("the honest witness does not solve: %v", err)
	}
	other, otherDigest := readSample(t, otherDir)
	if d.Cmp(otherDigest) == 0 {
		t.Fatal("the two sample circuits have one digest")
	}
	if err := solveShape(other, other.verifier, otherDigest); err != nil {
		t.Fatalf("the other circuit's honest witness does not solve: %v", err)
	}
	if shapeStatementHash(d, o.inputs).Cmp(shapeStatementHash(otherDigest, o.inputs)) == 0 {
		t.Fatal("the public input does not depend on the digest")
	}
}

// A contract pinning the sample's digest: the other circuit's proof is refused under either verifier data.
func TestShapeCircuitRefusesAnotherCircuitsProofUnderThePinnedDigest(t *testing.T) {
	o, d := readSample(t, sampleDir)
	other, _ := readSample(t, otherDir)
	if solveShape(other, other.verifier, d) == nil {
		t.Fatal("another circuit's proof passed with its own verifier data and the pinned digest's input")
	}
	if solveShape(other, o.verifier, d) == nil {
		t.Fatal("another circuit's proof passed under the pinned circuit's verifier data")
	}
}

// Verifier data other than the pinned circuit's is refused under the pinned digest's public input;
// a changed circuit digest is refused under its own too (the transcript starts from it). A changed
// cap entry no query opens may pass under its own digest: that is another circuit's public input,
// which the contract never accepts.
func TestShapeCircuitRefusesChangedVerifierData(t *testing.T) {
	o, d := readSample(t, sampleDir)
	for _, cap := range []bool{true, false} {
		if solveShape(o, bumped(o.verifier, cap), d) == nil {
			t.Fatalf("changed verifier data (cap %v) passed under the pinned digest", cap)
		}
	}
	v := bumped(o.verifier, false)
	own, err := nativeVerifierDigest(v)
	if err != nil {
		t.Fatal(err)
	}
	if solveShape(o, v, own) == nil {
		t.Fatal("a changed circuit digest passed under its own public input")
	}
}
