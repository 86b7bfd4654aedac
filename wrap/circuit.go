package main

// The Groth16 circuit: it verifies one outer plonky2 proof (Poseidon-BN254 Merkle trees)
// whose verifier data is a constant of the circuit, and exposes one public input, the
// SHA-256 of the proof's public inputs (each as 8 big-endian bytes) with its top three
// bits cleared, so it is a BN254 scalar the L1 contract recomputes from its own storage.

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash/sha2"
	"github.com/consensys/gnark/std/math/uints"
	"github.com/succinctlabs/gnark-plonky2-verifier/fri"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/poseidon"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

// WrapCircuit verifies one outer proof; everything but StatementHash is private.
type WrapCircuit struct {
	StatementHash frontend.Variable `gnark:",public"`
	Proof         variables.Proof
	PublicInputs  []gl.Variable

	// Constants of the circuit: the outer circuit's shape, verifier data and transcript prefix.
	common   types.CommonCircuitData           `gnark:"-"`
	verifier variables.VerifierOnlyCircuitData `gnark:"-"`
	prefix   []uint64                          `gnark:"-"`
}

// Define lays out the verification as qp-plonky2 verifies: its transcript (FRI parameters
// first), its Goldilocks generators and its coset interpolation gate (plonk.go).
func (c *WrapCircuit) Define(api frontend.API) error {
	c.verifyOuter(api)
	var err error
	stage("statement hash (SHA-256)", api, func() { err = c.assertStatementHash(api, nil) })
	return err
}

// verifyOuter checks the outer proof against c.verifier, constants or witness alike.
func (c *WrapCircuit) verifyOuter(api frontend.API) {
	if counter != nil {
		counter.api = api
	}
	glAPI := gl.New(api)
	stage("range checks of the proof and inputs", api, func() {
		rangeCheckProof(glAPI, &c.Proof)
		for _, pi := range c.PublicInputs {
			glAPI.RangeCheck(pi)
		}
	})

	var publicInputsHash poseidon.GoldilocksHashOut
	stage("public inputs hash (Goldilocks Poseidon)", api, func() {
		publicInputsHash = poseidon.NewGoldilocksChip(api).HashNoPad(c.PublicInputs)
	})
	friChip := fri.NewChip(api, &c.common, &c.common.FriParams)
	openings := friChip.ToOpenings(c.Proof.Openings)

	var challenges variables.ProofChallenges
	stage("challenger (Poseidon-BN254 transcript)", api, func() {
		challenges = proofChallenges(api, c, openings, publicInputsHash)
	})

	stage("plonk", api, func() { verifyPlonk(api, &c.common, challenges, c.Proof.Openings, publicInputsHash) })
	caps := []variables.FriMerkleCap{
		c.verifier.ConstantSigmasCap,
		c.Proof.WiresCap,
		c.Proof.PlonkZsPartialProductsCap,
		c.Proof.QuotientPolysCap,
	}
	stage("fri", api, func() {
		verifyFri(api, &c.common.FriParams, friChip.GetInstance(challenges.PlonkZeta), openings, &challenges.FriChallenges, caps, &c.Proof.OpeningProof)
	})
}

// assertStatementHash binds the public input to `prefix` (bytes, most significant first) and
// then the proof's public inputs.
func (c *WrapCircuit) assertStatementHash(api frontend.API, prefix []frontend.Variable) error {
	u64, err := uints.New[uints.U64](api)
	if err != nil {
		return err
	}
	h, err := sha2.New(api)
	if err != nil {
		return err
	}
	for _, b := range prefix {
		h.Write([]uints.U8{u64.ByteValueOf(b)})
	}
	for _, pi := range c.PublicInputs {
		h.Write(u64.UnpackMSB(u64.ValueOf(pi.Limb)))
	}
	digest := h.Sum()
	acc := frontend.Variable(0)
	for i, b := range digest {
		v := b.Val
		if i == 0 {
			// Clear the top three bits: the value is then below 2^253 < r.
			v = api.FromBinary(api.ToBinary(v, 8)[:5]...)
		}
		acc = api.Add(api.Mul(acc, 256), v)
	}
	api.AssertIsEqual(c.StatementHash, acc)
	return nil
}

// rangeCheckProof keeps every Goldilocks value of the proof canonical (the library's own check is private).
func rangeCheckProof(glAPI *gl.Chip, p *variables.Proof) {
	o := p.Openings
	for _, set := range [][]gl.QuadraticExtensionVariable{
		o.Constants, o.PlonkSigmas, o.Wires, o.PlonkZs, o.PlonkZsNext, o.PartialProducts, o.QuotientPolys,
	} {
		for _, x := range set {
			glAPI.RangeCheckQE(x)
		}
	}
	for _, round := range p.OpeningProof.QueryRoundProofs {
		for _, evals := range round.InitialTreesProof.EvalsProofs {
			for _, x := range evals.Elements {
				glAPI.RangeCheck(x)
			}
		}
		for _, step := range round.Steps {
			for _, x := range step.Evals {
				glAPI.RangeCheckQE(x)
			}
		}
	}
	for _, x := range p.OpeningProof.FinalPoly.Coeffs {
		glAPI.RangeCheckQE(x)
	}
	glAPI.RangeCheck(p.OpeningProof.PowWitness)
}
