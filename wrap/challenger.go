package main

// The outer layer's Fiat-Shamir transcript: plonky2's duplex sponge (overwrite mode, twelve
// Goldilocks elements, rate 8) over the engine's `Bn254Permutation` rather than Goldilocks
// Poseidon. Each three state elements are packed into one BN254 element (64-bit limbs), the
// four are permuted by Poseidon-BN254 (native arithmetic here), and each result gives back its
// three low 64-bit limbs reduced mod p. The library's challenger runs Goldilocks Poseidon in
// emulated arithmetic, which cost this circuit more than anything else.

import (
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/succinctlabs/gnark-plonky2-verifier/fri"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/poseidon"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

const (
	spongeWidth   = 12
	spongeRate    = 8
	limbsPerBn254 = 3
)

// transcript is a plonky2 Challenger over Bn254Permutation.
type transcript struct {
	api    frontend.API
	glAPI  *gl.Chip
	bn     *poseidon.BN254Chip
	state  [spongeWidth]gl.Variable
	input  []gl.Variable
	output []gl.Variable
}

func newTranscript(api frontend.API) *transcript {
	t := &transcript{api: api, glAPI: gl.New(api), bn: poseidon.NewBN254Chip(api)}
	for i := range t.state {
		t.state[i] = gl.Zero()
	}
	return t
}

// permute is Bn254Permutation::permute: the state elements are canonical, so each packing is injective.
func (t *transcript) permute() {
	var packed poseidon.BN254State
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for j := range packed {
		acc := frontend.Variable(0)
		for k := limbsPerBn254 - 1; k >= 0; k-- {
			acc = t.api.Add(t.api.Mul(acc, two64), t.state[limbsPerBn254*j+k].Limb)
		}
		packed[j] = acc
	}
	packed = t.bn.Poseidon(packed)
	for j, x := range packed {
		limbs, _ := canonicalChunks(t.api, t.glAPI, x, 64, limbsPerBn254)
		for k, limb := range limbs {
			// A 64-bit limb is below 2p: the quotient is 0 or 1 (the range checker's width is 16 bits).
			t.state[limbsPerBn254*j+k] = t.glAPI.ReduceWithMaxBits(gl.NewVariable(limb), 16)
		}
	}
}

// canonicalChunks returns the n low chunks of `width` bits of x's canonical value (below the
// BN254 modulus r) and the rest above them, checking the split: chunks and rest range-checked,
// their sum equal to x, and the integer they make below r (rest below r's top part, or equal
// to it and the chunks below r's low part). This costs tens of constraints where a full bit
// decomposition costs ~500.
func canonicalChunks(api frontend.API, glAPI *gl.Chip, x frontend.Variable, width, n int) ([]frontend.Variable, frontend.Variable) {
	r := api.Compiler().Field()
	low := width * n
	out, err := api.Compiler().NewHint(chunkHint, n+1, width, n, x)
	if err != nil {
		panic(err)
	}
	chunks, rest := out[:n], out[n]
	lowSum := frontend.Variable(0)
	for i := n - 1; i >= 0; i-- {
		glAPI.RangeCheckWithMaxBits(gl.NewVariable(chunks[i]), uint64(roundUp16(width)))
		lowSum = api.Add(api.Mul(lowSum, new(big.Int).Lsh(big.NewInt(1), uint(width))), chunks[i])
	}
	if width%16 != 0 {
		// The range checker works in 16-bit limbs: check the exact width by a shifted copy.
		for _, c := range chunks {
			glAPI.RangeCheckWithMaxBits(gl.NewVariable(api.Mul(c, new(big.Int).Lsh(big.NewInt(1), uint(roundUp16(width)-width)))), uint64(roundUp16(width)))
		}
	}
	rTop := new(big.Int).Rsh(r, uint(low))
	rLow := new(big.Int).Sub(r, new(big.Int).Lsh(rTop, uint(low)))
	topWidth := uint64(roundUp16(r.BitLen() - low))
	// 0 ≤ rest ≤ r's top part (both checks: a "negative" rest would pass the second alone).
	glAPI.RangeCheckWithMaxBits(gl.NewVariable(rest), topWidth)
	glAPI.RangeCheckWithMaxBits(gl.NewVariable(api.Sub(rTop, rest)), topWidth)
	// If rest equals it, the low part is below r's low part.
	atTop := api.IsZero(api.Sub(rTop, rest))
	gap := api.Select(atTop, api.Sub(new(big.Int).Sub(rLow, big.NewInt(1)), lowSum), 0)
	glAPI.RangeCheckWithMaxBits(gl.NewVariable(gap), uint64(roundUp16(low)))
	api.AssertIsEqual(x, api.Add(lowSum, api.Mul(rest, new(big.Int).Lsh(big.NewInt(1), uint(low)))))
	return chunks, rest
}

func roundUp16(bits int) int { return (bits + 15) / 16 * 16 }

// splitHint splits x into n chunks of `width` bits and the rest.
func splitHint(_ *big.Int, in, out []*big.Int) error {
	width, n := uint(in[0].Uint64()), int(in[1].Uint64())
	x := new(big.Int).Set(in[2])
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), width), big.NewInt(1))
	for i := 0; i < n; i++ {
		out[i].And(x, mask)
		x.Rsh(x, width)
	}
	out[n].Set(x)
	return nil
}

// chunkHint is the hint canonicalChunks uses (a test swaps in a dishonest one).
var chunkHint solver.Hint = splitHint

func init() { solver.RegisterHint(splitHint) }

func (t *transcript) duplex() {
	for i, x := range t.input {
		// Observed values are canonical where they come from (range-checked openings, digest
		// chunks, constants); reducing them again keeps the packing injective regardless.
		t.state[i] = t.glAPI.Reduce(x)
	}
	t.input = t.input[:0]
	t.permute()
	t.output = append(t.output[:0], t.state[:spongeRate]...)
}

func (t *transcript) observe(xs ...gl.Variable) {
	for _, x := range xs {
		t.output = t.output[:0]
		t.input = append(t.input, x)
		if len(t.input) == spongeRate {
			t.duplex()
		}
	}
}

func (t *transcript) observeExtensions(xs []gl.QuadraticExtensionVariable) {
	for _, x := range xs {
		t.observe(x[0], x[1])
	}
}

// observeCap observes each digest as the engine's BytesHash<32>::to_vec does: its canonical
// value in 7-byte chunks (four, and the last 30 bits).
func (t *transcript) observeCap(digests []poseidon.BN254HashOut) {
	for _, d := range digests {
		chunks, rest := canonicalChunks(t.api, t.glAPI, d, 56, 4)
		for _, c := range append(chunks, rest) {
			t.observe(gl.NewVariable(c))
		}
	}
}

func (t *transcript) challenge() gl.Variable {
	if len(t.input) != 0 || len(t.output) == 0 {
		t.duplex()
	}
	last := t.output[len(t.output)-1]
	t.output = t.output[:len(t.output)-1]
	return last
}

func (t *transcript) challenges(n uint64) []gl.Variable {
	out := make([]gl.Variable, n)
	for i := range out {
		out[i] = t.challenge()
	}
	return out
}

func (t *transcript) extensionChallenge() gl.QuadraticExtensionVariable {
	x := t.challenges(2)
	return gl.QuadraticExtensionVariable{x[0], x[1]}
}

// proofChallenges replays the outer prover's transcript (qp-plonky2's order: FRI parameters,
// circuit digest, public inputs hash, then the proof's commitments and openings).
func proofChallenges(api frontend.API, c *WrapCircuit, openings fri.Openings, publicInputsHash poseidon.GoldilocksHashOut) variables.ProofChallenges {
	t := newTranscript(api)
	for _, e := range c.prefix {
		t.observe(gl.NewVariable(e))
	}
	t.observeCap([]poseidon.BN254HashOut{c.verifier.CircuitDigest})
	t.observe(publicInputsHash[:]...)
	n := c.common.Config.NumChallenges
	t.observeCap(c.Proof.WiresCap)
	betas := t.challenges(n)
	gammas := t.challenges(n)
	t.observeCap(c.Proof.PlonkZsPartialProductsCap)
	alphas := t.challenges(n)
	t.observeCap(c.Proof.QuotientPolysCap)
	zeta := t.extensionChallenge()
	for _, batch := range openings.Batches {
		t.observeExtensions(batch.Values)
	}
	return variables.ProofChallenges{
		PlonkBetas:    betas,
		PlonkGammas:   gammas,
		PlonkAlphas:   alphas,
		PlonkZeta:     zeta,
		FriChallenges: friChallenges(t, &c.Proof.OpeningProof, c.common.Config.FriConfig),
	}
}

func friChallenges(t *transcript, p *variables.FriProof, config types.FriConfig) variables.FriChallenges {
	alpha := t.extensionChallenge()
	betas := make([]gl.QuadraticExtensionVariable, 0, len(p.CommitPhaseMerkleCaps))
	for _, cap := range p.CommitPhaseMerkleCaps {
		t.observeCap(cap)
		betas = append(betas, t.extensionChallenge())
	}
	t.observeExtensions(p.FinalPoly.Coeffs)
	t.observe(p.PowWitness)
	pow := t.challenge()
	return variables.FriChallenges{
		FriAlpha:        alpha,
		FriBetas:        betas,
		FriPowResponse:  pow,
		FriQueryIndices: t.challenges(config.NumQueryRounds),
	}
}
