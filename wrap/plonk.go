package main

// Where qp-plonky2 (the prover of the outer layer) and gnark-plonky2-verifier v0.1.0 (written
// for plonky2 before April 2024) disagree, this file supplies qp-plonky2's version:
//
//   - Goldilocks generators. plonky2 0.2 changed the multiplicative group generator from 7 to
//     14293326489335486720 and the 2^32-th root of unity from 1753635133440165772 to
//     7277203076849721926; the library still has the old ones. They fix the FRI evaluation
//     domain (coset shift and subgroup), the point g·ζ and the coset interpolation gate's
//     subgroup, so we set the library's exported values before any circuit is defined.
//   - CosetInterpolationGate. qp-plonky2 adds a wire holding the inverse of the coset shift and
//     a first constraint shift·shift⁻¹ − 1 = 0 (a zero shift would otherwise be accepted); the
//     library's gate lacks both, so every later constraint of that gate would land at the
//     wrong index. We wrap the library's gate and put that constraint first.
//
// Because the library's PlonkChip builds its gates from their ids internally, the PLONK
// identity is checked here (verifyPlonk) with the library's gate evaluator over our gate list.

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/consensys/gnark-crypto/field/goldilocks"
	"github.com/consensys/gnark/frontend"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/plonk/gates"
	"github.com/succinctlabs/gnark-plonky2-verifier/poseidon"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

// The Goldilocks generators qp-plonky2 uses (its GoldilocksField constants).
const (
	multiplicativeGroupGenerator uint64 = 14293326489335486720
	powerOfTwoGenerator          uint64 = 7277203076849721926
)

func init() {
	two := goldilocks.NewElement(powerOfTwoGenerator)
	var r goldilocks.Element
	r.Set(&two)
	for i := 0; i < 31; i++ {
		r.Square(&r)
	}
	minusOne := goldilocks.NewElement(0)
	one := goldilocks.NewElement(1)
	minusOne.Sub(&minusOne, &one)
	if !r.Equal(&minusOne) {
		panic("powerOfTwoGenerator is not a primitive 2^32-th root of unity")
	}
	gl.MULTIPLICATIVE_GROUP_GENERATOR = goldilocks.NewElement(multiplicativeGroupGenerator)
	gl.POWER_OF_TWO_GENERATOR = two
}

// checkGenerators refuses an outer circuit whose prover used other generators than this program.
func checkGenerators(g fieldGenerators) error {
	if g.Multiplicative != multiplicativeGroupGenerator || g.TwoAdic != powerOfTwoGenerator {
		return fmt.Errorf("the outer circuit's Goldilocks generators (%d, %d) are not this program's (%d, %d)",
			g.Multiplicative, g.TwoAdic, multiplicativeGroupGenerator, powerOfTwoGenerator)
	}
	return nil
}

// fieldGenerators is what the engine writes under common_circuit_data.json's "field_generators".
type fieldGenerators struct {
	Multiplicative uint64 `json:"multiplicative"`
	TwoAdic        uint64 `json:"two_adic"`
}

var cosetIDRegex = regexp.MustCompile(`^CosetInterpolationGate \{ subgroup_bits: ([0-9]+), degree: ([0-9]+),`)

// cosetGate is the library's CosetInterpolationGate preceded by qp-plonky2's shift-inverse constraint.
type cosetGate struct {
	inner           gates.Gate
	shift, shiftInv gl.QuadraticExtensionVariable
}

func (g *cosetGate) Id() string { return g.inner.Id() }

func (g *cosetGate) EvalUnfiltered(api frontend.API, glAPI *gl.Chip, vars gates.EvaluationVars) []gl.QuadraticExtensionVariable {
	first := glAPI.SubExtension(glAPI.MulExtension(g.shift, g.shiftInv), gl.OneExtension())
	return append([]gl.QuadraticExtensionVariable{first}, g.inner.EvalUnfiltered(api, glAPI, vars)...)
}

// shiftInverseWire is the index of qp-plonky2's shift-inverse wire: after the shift, the
// 2^bits values, the evaluation point and value, the intermediate evaluations and products,
// and the shifted evaluation point (each extension value is two wires).
func shiftInverseWire(subgroupBits, degree uint64) uint64 {
	points := uint64(1) << subgroupBits
	intermediates := (points - 2) / (degree - 1)
	startIntermediates := 1 + points*gl.D + 2*gl.D
	return startIntermediates + gl.D*(2*intermediates+1)
}

// gateList builds the outer circuit's gates: the library's, with the coset gate wrapped.
func gateList(common *types.CommonCircuitData, wires []gl.QuadraticExtensionVariable) []gates.Gate {
	list := make([]gates.Gate, 0, len(common.GateIds))
	for _, id := range common.GateIds {
		gate := gates.GateInstanceFromId(id)
		if m := cosetIDRegex.FindStringSubmatch(id); m != nil {
			bits, _ := strconv.ParseUint(m[1], 10, 64)
			degree, _ := strconv.ParseUint(m[2], 10, 64)
			gate = &cosetGate{inner: gate, shift: wires[0], shiftInv: wires[shiftInverseWire(bits, degree)]}
		}
		if counter != nil {
			gate = countedGate{Gate: gate, api: counter.api}
		}
		list = append(list, gate)
	}
	return list
}

// verifyPlonk checks vanishing(ζ) = Z_H(ζ)·t(ζ) for each challenge, as qp-plonky2's verifier does.
func verifyPlonk(api frontend.API, common *types.CommonCircuitData, ch variables.ProofChallenges, o variables.OpeningSet, piHash poseidon.GoldilocksHashOut) {
	glAPI := gl.New(api)
	zeta := ch.PlonkZeta
	zetaPowN := zeta
	for i := uint64(0); i < common.DegreeBits; i++ {
		zetaPowN = glAPI.MulExtension(zetaPowN, zetaPowN)
	}
	zH := glAPI.SubExtension(zetaPowN, gl.OneExtension())
	n := gl.NewVariable(uint64(1) << common.DegreeBits)
	// L_0(ζ) = (ζ^n − 1) / (n·(ζ − 1)).
	l0, ok := glAPI.DivExtension(zH, glAPI.ScalarMulExtension(glAPI.SubExtension(zeta, gl.OneExtension()), n))
	api.AssertIsEqual(ok, 1)

	var constraints []gl.QuadraticExtensionVariable
	stage("plonk/gates", api, func() {
		evaluator := gates.NewEvaluateGatesChip(api, gateList(common, o.Wires), common.NumGateConstraints, common.SelectorsInfo)
		constraints = evaluator.EvaluateGateConstraints(*gates.NewEvaluationVars(o.Constants, o.Wires, piHash))
	})

	chunk := common.QuotientDegreeFactor
	numChallenges := common.Config.NumChallenges
	var z1Terms, productTerms []gl.QuadraticExtensionVariable
	stage("plonk/permutation", api, func() { z1Terms, productTerms = permutationTerms(glAPI, common, ch, o, l0) })
	terms := append(append(z1Terms, productTerms...), constraints...)

	stage("plonk/vanishing = Z_H * quotient", api, func() {
		for i := uint64(0); i < numChallenges; i++ {
			// Σ_t terms[t]·α_i^t, by Horner from the last term.
			vanishing := gl.ZeroExtension()
			for t := len(terms) - 1; t >= 0; t-- {
				vanishing = glAPI.AddExtension(glAPI.ScalarMulExtension(vanishing, ch.PlonkAlphas[i]), terms[t])
			}
			quotient := glAPI.ReduceWithPowers(o.QuotientPolys[i*chunk:(i+1)*chunk], zetaPowN)
			glAPI.AssertIsEqualExtension(vanishing, glAPI.MulExtension(zH, quotient))
		}
	})
}

// permutationTerms are the copy-constraint terms: L_0(ζ)·(Z(ζ) − 1) and one running-product step per chunk of routed wires.
func permutationTerms(glAPI *gl.Chip, common *types.CommonCircuitData, ch variables.ProofChallenges, o variables.OpeningSet, l0 gl.QuadraticExtensionVariable) (z1Terms, productTerms []gl.QuadraticExtensionVariable) {
	zeta := ch.PlonkZeta
	routed := common.Config.NumRoutedWires
	chunk := common.QuotientDegreeFactor
	for i := uint64(0); i < common.Config.NumChallenges; i++ {
		z1Terms = append(z1Terms, glAPI.MulExtension(l0, glAPI.SubExtension(o.PlonkZs[i], gl.OneExtension())))
		beta := gl.NewQuadraticExtensionVariable(ch.PlonkBetas[i], gl.Zero())
		gamma := gl.NewQuadraticExtensionVariable(ch.PlonkGammas[i], gl.Zero())
		// Running products: Z(ζ), the partial products, Z(g·ζ); one step per chunk of routed wires.
		accs := []gl.QuadraticExtensionVariable{o.PlonkZs[i]}
		accs = append(accs, o.PartialProducts[i*common.NumPartialProducts:(i+1)*common.NumPartialProducts]...)
		accs = append(accs, o.PlonkZsNext[i])
		if uint64(len(accs)-1) != (routed+chunk-1)/chunk {
			panic("partial products do not match the routed wires and the quotient degree")
		}
		for step := uint64(0); step*chunk < routed; step++ {
			num, den := gl.OneExtension(), gl.OneExtension()
			for j := step * chunk; j < routed && j < (step+1)*chunk; j++ {
				wirePlusGamma := glAPI.AddExtension(o.Wires[j], gamma)
				sID := glAPI.ScalarMulExtension(zeta, gl.NewVariable(common.KIs[j]))
				num = glAPI.MulExtension(num, glAPI.AddExtension(glAPI.MulExtension(beta, sID), wirePlusGamma))
				den = glAPI.MulExtension(den, glAPI.AddExtension(glAPI.MulExtension(beta, o.PlonkSigmas[j]), wirePlusGamma))
			}
			productTerms = append(productTerms, glAPI.SubExtension(glAPI.MulExtension(accs[step], num), glAPI.MulExtension(accs[step+1], den)))
		}
	}
	return z1Terms, productTerms
}
