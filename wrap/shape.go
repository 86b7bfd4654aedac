package main

// The circuit per shape (ADR 31's plan): it verifies an outer proof of ANY plonky2 circuit
// with the given common data (gates, degree, FRI parameters: constants of the circuit),
// taking the outer circuit's verifier data (constants/sigmas cap and circuit digest) as
// witness. The public input is SHA-256 of that data's Poseidon-BN254 digest (32 bytes,
// big-endian) followed by the statement (each element 8 bytes big-endian), top three bits
// cleared, so a contract that prepends its pinned digest accepts proofs of one circuit only,
// while one Groth16 setup serves every circuit version of that shape.

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/poseidon"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

// ShapeCircuit verifies one outer proof of the shape `common`; everything but StatementHash is private.
type ShapeCircuit struct {
	StatementHash frontend.Variable `gnark:",public"`
	Proof         variables.Proof
	PublicInputs  []gl.Variable
	Verifier      variables.VerifierOnlyCircuitData

	// Constants of the circuit: the outer circuit's shape and transcript prefix only.
	common types.CommonCircuitData `gnark:"-"`
	prefix []uint64                `gnark:"-"`
}

// Define verifies the proof under the witness verifier data and binds that data's digest
// into the public input.
func (c *ShapeCircuit) Define(api frontend.API) error {
	inner := &WrapCircuit{StatementHash: c.StatementHash, Proof: c.Proof, PublicInputs: c.PublicInputs, common: c.common, verifier: c.Verifier, prefix: c.prefix}
	inner.verifyOuter(api)
	var digestBytes []frontend.Variable
	stage("verifier data digest (Poseidon-BN254)", api, func() {
		// Why no canonicity check of the bits: a non-canonical split hashes to bytes no
		// contract pins, and equal bits mean an equal digest.
		bits := append(api.ToBinary(verifierDigest(api, c.Verifier), 254), 0, 0)
		for i := 31; i >= 0; i-- {
			digestBytes = append(digestBytes, api.FromBinary(bits[8*i:8*i+8]...))
		}
	})
	var err error
	stage("statement hash (SHA-256)", api, func() { err = inner.assertStatementHash(api, digestBytes) })
	return err
}

// verifierDigest folds the circuit digest and then each cap entry with Poseidon-BN254's two-to-one.
func verifierDigest(api frontend.API, v variables.VerifierOnlyCircuitData) frontend.Variable {
	chip := poseidon.NewBN254Chip(api)
	acc := v.CircuitDigest
	for _, h := range v.ConstantSigmasCap {
		acc = chip.TwoToOne(acc, h)
	}
	return acc
}

// digestCircuit evaluates verifierDigest on gnark's test engine, where every variable is a
// number, so the native digest is computed by the very code the circuit constrains.
type digestCircuit struct {
	Verifier variables.VerifierOnlyCircuitData
	out      *big.Int
}

// plainAPI hides the engine's commitment support, so the Goldilocks chip the Poseidon chip
// creates checks ranges by bits instead of deferring a batched check this hash never feeds.
type plainAPI struct{ frontend.API }

func (c *digestCircuit) Define(api frontend.API) error {
	d := verifierDigest(plainAPI{api}, c.Verifier)
	out, err := api.Compiler().NewHint(func(_ *big.Int, in, res []*big.Int) error {
		c.out.Set(in[0])
		res[0].Set(in[0])
		return nil
	}, 1, d)
	if err != nil {
		return err
	}
	api.AssertIsEqual(out[0], d)
	return nil
}

// nativeVerifierDigest is the digest a contract pins for the verifier data `v`.
func nativeVerifierDigest(v variables.VerifierOnlyCircuitData) (*big.Int, error) {
	out := new(big.Int)
	c := &digestCircuit{Verifier: v, out: out}
	if err := test.IsSolved(c, c, ecc.BN254.ScalarField()); err != nil {
		return nil, err
	}
	if out.Sign() == 0 && v.CircuitDigest != nil {
		return nil, errors.New("the digest was not evaluated")
	}
	return out, nil
}

// shapeStatementHash is what the circuit per shape and its contract compute.
func shapeStatementHash(digest *big.Int, inputs []uint64) *big.Int {
	return hashStatement(digest.FillBytes(make([]byte, 32)), inputs)
}

// shapeTemplate is the circuit per shape of o's common data (its verifier data a witness).
func (o *outerFiles) shapeTemplate() *ShapeCircuit {
	return &ShapeCircuit{Proof: o.proof.Proof, PublicInputs: o.proof.PublicInputs, Verifier: o.verifier, common: o.common, prefix: o.prefix}
}

// shapeAssignment proves o's proof under verifier data `v` with the public input for `pinned`.
func (o *outerFiles) shapeAssignment(v variables.VerifierOnlyCircuitData, pinned *big.Int) *ShapeCircuit {
	a := o.shapeTemplate()
	a.Verifier = v
	a.StatementHash = shapeStatementHash(pinned, o.inputs)
	return a
}
