package main

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
)

// chunksCircuit splits X as the transcript does and exposes the chunks it got.
type chunksCircuit struct {
	X      frontend.Variable
	Chunks [3]frontend.Variable
}

func (c *chunksCircuit) Define(api frontend.API) error {
	got, _ := canonicalChunks(api, gl.New(api), c.X, 64, 3)
	for i := range got {
		api.AssertIsEqual(got[i], c.Chunks[i])
	}
	return nil
}

func solve(t *testing.T, hint solver.Hint, x *big.Int, chunks [3]uint64) error {
	t.Helper()
	// Exact bit-decomposition range checks: the commit-based checker refuses so few checks.
	t.Setenv("USE_BIT_DECOMPOSITION_RANGE_CHECK", "true")
	saved := chunkHint
	chunkHint = hint
	defer func() { chunkHint = saved }()
	solver.RegisterHint(hint)
	a := &chunksCircuit{X: x}
	for i, v := range chunks {
		a.Chunks[i] = new(big.Int).SetUint64(v)
	}
	return test.IsSolved(&chunksCircuit{}, a, ecc.BN254.ScalarField())
}

// x = r − 2^192 + 5: its low 192 bits are r's low bits + 5 (mod 2^192), its rest r's top − 1.
func nearModulus() *big.Int {
	r := ecc.BN254.ScalarField()
	return new(big.Int).Add(new(big.Int).Sub(r, new(big.Int).Lsh(big.NewInt(1), 192)), big.NewInt(5))
}

func honestChunks(x *big.Int) [3]uint64 {
	var out [3]uint64
	for i := range out {
		out[i] = new(big.Int).Rsh(x, uint(64*i)).Uint64()
	}
	return out
}

func TestCanonicalChunksAcceptsTheCanonicalSplit(t *testing.T) {
	x := nearModulus()
	if err := solve(t, splitHint, x, honestChunks(x)); err != nil {
		t.Fatal(err)
	}
}

// A "negative" rest (−1, with low part 5) also sums to x; only the rest's own range check refuses it.
func negativeRest(_ *big.Int, in, out []*big.Int) error {
	out[0].SetUint64(5)
	out[1].SetUint64(0)
	out[2].SetUint64(0)
	out[3].Sub(ecc.BN254.ScalarField(), big.NewInt(1))
	return nil
}

func TestCanonicalChunksRefusesANegativeRest(t *testing.T) {
	if err := solve(t, negativeRest, nearModulus(), [3]uint64{5, 0, 0}); err == nil {
		t.Fatal("a split with rest = −1 was accepted")
	}
}

// x + r, split: the rest exceeds r's top part.
func plusModulus(_ *big.Int, in, out []*big.Int) error {
	v := new(big.Int).Add(in[2], ecc.BN254.ScalarField())
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1))
	for i := 0; i < 3; i++ {
		out[i].And(v, mask)
		v.Rsh(v, 64)
	}
	out[3].Set(v)
	return nil
}

// For x = 7 the split of x + r has rest = r's top and a low part above r's (the gap check
// refuses it); for x = 2^192 its rest is r's top + 1 (the rest ≤ top check refuses it).
func TestCanonicalChunksRefusesTheSplitOfXPlusR(t *testing.T) {
	for _, x := range []*big.Int{big.NewInt(7), new(big.Int).Lsh(big.NewInt(1), 192)} {
		y := new(big.Int).Add(x, ecc.BN254.ScalarField())
		if err := solve(t, plusModulus, x, honestChunks(y)); err == nil {
			t.Fatalf("the split of %v + r was accepted", x)
		}
	}
}
