package main

// `zkpipe-wrap count -in DIR`: where the Groth16 circuit's R1CS constraints go. It compiles
// the circuit once, reading the builder's constraint count before and after each stage of
// WrapCircuit.Define (and each gate type of the PLONK identity), and attributes the range checks
// the Goldilocks chip collects (and only lays out, as a log-derivative lookup, after Define) to
// the stage that asked for them: a check of b bits costs ⌈b/16⌉ + 1 constraints in R1CS.

import (
	"fmt"
	"reflect"
	"sort"
	"time"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/profile"
	gl "github.com/succinctlabs/gnark-plonky2-verifier/goldilocks"
	"github.com/succinctlabs/gnark-plonky2-verifier/plonk/gates"
)

// stageCounter measures the stages of one compilation; nil when not counting.
type stageCounter struct {
	api    frontend.API
	order  []string
	direct map[string]int
	ranges map[string]int
	checks map[string]int
}

// counter is set by `count` for the one compilation it runs.
var counter *stageCounter

// nbConstraints reads the constraints laid out so far from gnark's R1CS builder (an unexported field).
func nbConstraints(api frontend.API) int {
	field := reflect.ValueOf(api).Elem().FieldByName("cs")
	cs := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Interface().(constraint.R1CS)
	return cs.GetNbConstraints()
}

// rangeLimbs is the R1CS cost of the range checks the chip has collected so far, and their number.
func rangeLimbs(api frontend.API) (int, int) {
	chip := gl.New(api)
	field := reflect.ValueOf(chip).Elem().FieldByName("rangeCheckCollected")
	collected := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem()
	cost := 0
	for i := 0; i < collected.Len(); i++ {
		bits := collected.Index(i).FieldByName("bits").Int()
		cost += int((bits+15)/16) + 1
	}
	return cost, collected.Len()
}

// stage runs f as a named stage when counting (stages may nest: an inner stage's constraints
// also count in the outer one), or just runs it.
func stage(name string, api frontend.API, f func()) {
	if counter == nil {
		f()
		return
	}
	before := nbConstraints(api)
	costBefore, nBefore := rangeLimbs(api)
	f()
	after := nbConstraints(api)
	costAfter, nAfter := rangeLimbs(api)
	if _, seen := counter.direct[name]; !seen {
		counter.order = append(counter.order, name)
	}
	counter.direct[name] += after - before
	counter.ranges[name] += costAfter - costBefore
	counter.checks[name] += nAfter - nBefore
}

// countedGate measures one gate type's share of the PLONK identity.
type countedGate struct {
	gates.Gate
	api frontend.API
}

func (g countedGate) EvalUnfiltered(api frontend.API, glAPI *gl.Chip, vars gates.EvaluationVars) []gl.QuadraticExtensionVariable {
	var out []gl.QuadraticExtensionVariable
	stage("plonk/gate/"+gateName(g.Id()), g.api, func() { out = g.Gate.EvalUnfiltered(api, glAPI, vars) })
	return out
}

func gateName(id string) string {
	for i, r := range id {
		if r == ' ' || r == '(' || r == '<' {
			return id[:i]
		}
	}
	return id
}

func cmdCount(o *outerFiles, circuit frontend.Circuit, pprofPath, out string) error {
	counter = &stageCounter{direct: map[string]int{}, ranges: map[string]int{}, checks: map[string]int{}}
	defer func() { counter = nil }()
	var whole *profile.Profile
	if pprofPath != "" {
		whole = profile.Start(profile.WithPath(pprofPath))
	}
	start := time.Now()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	if whole != nil {
		whole.Stop()
	}
	if err != nil {
		return err
	}
	total := ccs.GetNbConstraints()
	type row struct {
		Stage       string `json:"stage"`
		Direct      int    `json:"direct"`
		RangeChecks int    `json:"range_checks"`
		RangeCost   int    `json:"range_check_constraints"`
		Total       int    `json:"total"`
		Share       string `json:"share"`
	}
	rows := []row{}
	for _, name := range counter.order {
		t := counter.direct[name] + counter.ranges[name]
		rows = append(rows, row{name, counter.direct[name], counter.checks[name], counter.ranges[name], t, fmt.Sprintf("%.1f%%", 100*float64(t)/float64(total))})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Stage < rows[j].Stage })
	return emit(map[string]any{
		"constraints": total, "compile_s": time.Since(start).Seconds(), "peak_rss_mib": peakRSSMiB(),
		"degree_bits": o.common.DegreeBits, "num_queries": o.common.FriParams.Config.NumQueryRounds,
		"rate_bits": o.common.FriParams.Config.RateBits, "num_wires": o.common.Config.NumWires,
		"num_routed_wires": o.common.Config.NumRoutedWires, "num_constants": o.common.NumConstants,
		"public_inputs": len(o.inputs), "gates": o.common.GateIds, "stages": rows,
		"note": "range-check lookups are laid out after Define; each stage is charged for the checks it collected",
	}, out)
}
