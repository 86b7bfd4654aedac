package main

// The FRI check of the outer proof, in our own code: the same checks as the library's
// VerifyFriProof (proof of work, each query's Merkle paths, initial combination, folding,
// final polynomial), arranged to cost fewer constraints. The pinned library reduces after
// every Goldilocks operation (≈ 22 constraints with its range checks), recomputes the powers
// of α in every query and the folding's barycentric weights by an O(arity²) product, which
// made one query ≈ 91k constraints. Here:
//
//   - the powers of α are computed once; a query's combination Σ αʲ·eⱼ over its ≈ 260 opened
//     base-field values is a sum of unreduced products, reduced once per coordinate (each
//     product of canonical values is below 2^128, so the sum stays far below the 2^208 the
//     reduction accepts);
//   - the folding interpolates over the coset {s·gᵏ} with its closed-form weights
//     wₖ = gᵏ / (n·s^(n−1)) (because Πⱼ≠ₖ(gᵏ − gʲ) = n·g^(−k)) and L(β) = βⁿ − sⁿ;
//   - x = g·ω^rev(index) is built by selects of precomputed powers.
//
// The folding divides by β − s·gᵏ: β is a challenge over the quadratic extension, so an honest
// proof fails only if β falls in the coset (probability about 2^-124); the library
// interpolates that case by lookup instead.

import (
	"github.com/consensys/gnark-crypto/field/goldilocks"
	"github.com/consensys/gnark/frontend"
	"github.com/succinctlabs/gnark-plonky2-verifier/fri"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/poseidon"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

type friVerifier struct {
	api    frontend.API
	gl     *gl.Chip
	bn     *poseidon.BN254Chip
	params *types.FriParams
	alphaP []gl.QuadraticExtensionVariable // α^0, α^1, …
}

// verifyFri checks the FRI proof of the openings at the instance's points.
func verifyFri(api frontend.API, params *types.FriParams, instance fri.InstanceInfo, openings fri.Openings,
	ch *variables.FriChallenges, caps []variables.FriMerkleCap, proof *variables.FriProof) {
	f := &friVerifier{api: api, gl: gl.New(api), bn: poseidon.NewBN254Chip(api), params: params}
	cfg := params.Config
	if uint64(len(proof.QueryRoundProofs)) != cfg.NumQueryRounds || len(ch.FriQueryIndices) != len(proof.QueryRoundProofs) {
		panic("the proof's query rounds do not match the FRI parameters")
	}
	if len(proof.CommitPhaseMerkleCaps) != len(params.ReductionArityBits) || len(ch.FriBetas) != len(params.ReductionArityBits) {
		panic("the proof's folding steps do not match the FRI parameters")
	}
	if len(instance.Batches) != len(openings.Batches) {
		panic("openings and instance differ in their batches")
	}
	// Proof of work: the response has proof_of_work_bits leading zeros.
	f.gl.RangeCheckWithMaxBits(ch.FriPowResponse, 64-cfg.ProofOfWorkBits)

	longest := 0
	for _, b := range instance.Batches {
		if len(b.Polynomials) > longest {
			longest = len(b.Polynomials)
		}
	}
	f.alphaP = make([]gl.QuadraticExtensionVariable, longest+1)
	f.alphaP[0] = gl.OneExtension()
	for i := 1; i <= longest; i++ {
		f.alphaP[i] = f.gl.MulExtension(f.alphaP[i-1], ch.FriAlpha)
	}
	reducedOpenings := make([]gl.QuadraticExtensionVariable, len(openings.Batches))
	for i, b := range openings.Batches {
		if len(b.Values) != len(instance.Batches[i].Polynomials) {
			panic("a batch's openings and polynomials differ in number")
		}
		reducedOpenings[i] = f.combineExtension(b.Values)
	}
	for i, index := range ch.FriQueryIndices {
		f.verifyQuery(instance, ch, reducedOpenings, caps, proof, index, &proof.QueryRoundProofs[i])
	}
}

// combineExtension is Σ αʲ·vⱼ over extension values, reduced once per coordinate.
func (f *friVerifier) combineExtension(values []gl.QuadraticExtensionVariable) gl.QuadraticExtensionVariable {
	acc := gl.ZeroExtension()
	for j, v := range values {
		acc = f.gl.MulAddExtensionNoReduce(v, f.alphaP[j], acc)
	}
	return f.gl.ReduceExtension(acc)
}

// combineBase is Σ αʲ·eⱼ over base-field values (canonical), reduced once per coordinate.
func (f *friVerifier) combineBase(values []gl.Variable) gl.QuadraticExtensionVariable {
	var c0, c1 frontend.Variable = 0, 0
	for j, e := range values {
		c0 = f.api.MulAcc(c0, e.Limb, f.alphaP[j][0].Limb)
		c1 = f.api.MulAcc(c1, e.Limb, f.alphaP[j][1].Limb)
	}
	return gl.QuadraticExtensionVariable{f.gl.Reduce(gl.NewVariable(c0)), f.gl.Reduce(gl.NewVariable(c1))}
}

// constPowerProduct is Π (base^(2^i))^bitsᵢ, by selects.
func (f *friVerifier) constPowerProduct(base goldilocks.Element, bits []frontend.Variable) gl.Variable {
	product := gl.One()
	power := base
	for _, bit := range bits {
		times := f.gl.Mul(product, gl.NewVariable(power.Uint64()))
		product = gl.NewVariable(f.api.Select(bit, times.Limb, product.Limb))
		power.Square(&power)
	}
	return product
}

func reversed(bits []frontend.Variable) []frontend.Variable {
	out := make([]frontend.Variable, len(bits))
	for i, b := range bits {
		out[len(bits)-1-i] = b
	}
	return out
}

// verifyMerkle checks a leaf against the cap entry its index's top bits select (cap height 4).
func (f *friVerifier) verifyMerkle(leaf []gl.Variable, indexBits, capBits []frontend.Variable, cap variables.FriMerkleCap, proof *variables.FriMerkleProof) {
	if len(proof.Siblings) != len(indexBits)-len(capBits) {
		panic("a Merkle path's length does not match its index")
	}
	digest := f.bn.HashOrNoop(leaf)
	for i, sibling := range proof.Siblings {
		bit := indexBits[i]
		state := f.bn.Poseidon(poseidon.BN254State{0, 0, f.api.Select(bit, sibling, digest), f.api.Select(bit, digest, sibling)})
		digest = state[0]
	}
	if len(capBits) != 4 || len(cap) != 16 {
		panic("the gnark verifier expects a Merkle cap of height 4")
	}
	var quarter [4]frontend.Variable
	for i := range quarter {
		quarter[i] = f.api.Lookup2(capBits[0], capBits[1], cap[4*i], cap[4*i+1], cap[4*i+2], cap[4*i+3])
	}
	f.api.AssertIsEqual(digest, f.api.Lookup2(capBits[2], capBits[3], quarter[0], quarter[1], quarter[2], quarter[3]))
}

// select16 is evals[index] for a 4-bit little-endian index.
func (f *friVerifier) select16(bits []frontend.Variable, evals []gl.QuadraticExtensionVariable) gl.QuadraticExtensionVariable {
	var quarter [4]gl.QuadraticExtensionVariable
	for i := range quarter {
		quarter[i] = f.gl.Lookup2(bits[0], bits[1], evals[4*i], evals[4*i+1], evals[4*i+2], evals[4*i+3])
	}
	return f.gl.Lookup2(bits[2], bits[3], quarter[0], quarter[1], quarter[2], quarter[3])
}

func (f *friVerifier) verifyQuery(instance fri.InstanceInfo, ch *variables.FriChallenges, reducedOpenings []gl.QuadraticExtensionVariable,
	caps []variables.FriMerkleCap, proof *variables.FriProof, index gl.Variable, round *variables.FriQueryRound) {
	cfg := f.params.Config
	nLog := f.params.DegreeBits + cfg.RateBits
	// The index is a canonical Goldilocks element from the transcript; plonky2 takes it mod 2^nLog.
	indexBits := f.api.ToBinary(f.gl.Reduce(index).Limb, 64)[:nLog]
	capBits := indexBits[len(indexBits)-int(cfg.CapHeight):]

	if len(round.InitialTreesProof.EvalsProofs) != len(caps) {
		panic("the query opens another number of trees than there are caps")
	}
	for i, p := range round.InitialTreesProof.EvalsProofs {
		f.verifyMerkle(p.Elements, indexBits, capBits, caps[i], &p.MerkleProof)
	}

	// x = g·ω^rev(index) in the LDE's coset.
	x := f.gl.Mul(gl.NewVariable(gl.MULTIPLICATIVE_GROUP_GENERATOR.Uint64()), f.constPowerProduct(gl.PrimitiveRootOfUnity(nLog), reversed(indexBits)))
	xExt := x.ToQuadraticExtension()

	// Σ over batches of α-shifted (Σⱼ αʲ·fⱼ(x) − Σⱼ αʲ·fⱼ(z)) / (x − z).
	eval := gl.ZeroExtension()
	for i, batch := range instance.Batches {
		values := make([]gl.Variable, len(batch.Polynomials))
		for j, poly := range batch.Polynomials {
			values[j] = round.InitialTreesProof.EvalsProofs[poly.OracleIndex].Elements[poly.PolynomialInfo]
		}
		numerator := f.gl.SubExtensionNoReduce(f.combineBase(values), reducedOpenings[i])
		inv, ok := f.gl.InverseExtension(f.gl.SubExtension(xExt, batch.Point))
		f.api.AssertIsEqual(ok, 1)
		eval = f.gl.MulAddExtension(numerator, inv, f.gl.MulExtension(f.alphaP[len(values)], eval))
	}

	if len(round.Steps) != len(f.params.ReductionArityBits) {
		panic("the query's folding steps do not match the FRI parameters")
	}
	for i, arityBits := range f.params.ReductionArityBits {
		if arityBits != 4 {
			panic("the gnark verifier expects folding arity 16")
		}
		step := &round.Steps[i]
		within, cosetBits := indexBits[:arityBits], indexBits[arityBits:]
		picked := f.select16(within, step.Evals)
		f.gl.AssertIsEqualExtension(picked, eval)
		eval = f.fold(x, within, step.Evals, ch.FriBetas[i])
		flat := make([]gl.Variable, 0, 2*len(step.Evals))
		for _, e := range step.Evals {
			flat = append(flat, e[0], e[1])
		}
		f.verifyMerkle(flat, cosetBits, capBits, proof.CommitPhaseMerkleCaps[i], &step.MerkleProof)
		for j := uint64(0); j < arityBits; j++ {
			x = f.gl.Mul(x, x)
		}
		indexBits = cosetBits
	}

	final := gl.ZeroExtension()
	xExt = x.ToQuadraticExtension()
	for i := len(proof.FinalPoly.Coeffs) - 1; i >= 0; i-- {
		final = f.gl.MulAddExtension(final, xExt, proof.FinalPoly.Coeffs[i])
	}
	f.gl.AssertIsEqualExtension(eval, final)
}

// fold evaluates at β the polynomial through the coset's evaluations (plonky2's
// compute_evaluation): the coset of x has points sₖ = s·gᵏ with s = x·g^(−rev(within)), and
// evals[i] is its value at s·g^rev(i).
func (f *friVerifier) fold(x gl.Variable, within []frontend.Variable, evals []gl.QuadraticExtensionVariable, beta gl.QuadraticExtensionVariable) gl.QuadraticExtensionVariable {
	arityBits := uint64(len(within))
	n := uint64(1) << arityBits
	g := gl.PrimitiveRootOfUnity(arityBits)
	var gInv goldilocks.Element
	gInv.Inverse(&g)
	s := f.gl.Mul(x, f.constPowerProduct(gInv, reversed(within)))

	sPowN := s
	for i := uint64(0); i < arityBits; i++ {
		sPowN = f.gl.Mul(sPowN, sPowN)
	}
	// 1 / (n·s^(n−1)) = s / (n·s^n).
	nsN := f.gl.Mul(sPowN, gl.NewVariable(n))
	invNsN, ok := f.gl.Inverse(nsN)
	f.api.AssertIsEqual(ok, 1)
	scale := f.gl.Mul(s, invNsN)

	sum := gl.ZeroExtension()
	gk := goldilocks.NewElement(1)
	for k := uint64(0); k < n; k++ {
		point := f.gl.Mul(s, gl.NewVariable(gk.Uint64()))
		weight := f.gl.Mul(scale, gl.NewVariable(gk.Uint64()))
		y := evals[bitReverse(k, arityBits)]
		inv, ok := f.gl.InverseExtension(f.gl.SubExtension(beta, point.ToQuadraticExtension()))
		f.api.AssertIsEqual(ok, 1)
		term := f.gl.MulExtension(f.gl.ScalarMulExtension(y, weight), inv)
		sum = f.gl.AddExtensionNoReduce(sum, term)
		gk.Mul(&gk, &g)
	}
	sum = f.gl.ReduceExtension(sum)
	betaPowN := beta
	for i := uint64(0); i < arityBits; i++ {
		betaPowN = f.gl.MulExtension(betaPowN, betaPowN)
	}
	vanishing := f.gl.SubExtension(betaPowN, sPowN.ToQuadraticExtension())
	return f.gl.MulExtension(vanishing, sum)
}

func bitReverse(k, bits uint64) uint64 {
	var r uint64
	for i := uint64(0); i < bits; i++ {
		r = r<<1 | (k>>i)&1
	}
	return r
}
