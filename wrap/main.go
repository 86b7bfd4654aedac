// zkpipe-wrap: Groth16 over BN254 of an outer plonky2 proof, for the EVM.
//
//	zkpipe-wrap check  -in DIR            solve the circuit with gnark's test engine (no keys)
//	zkpipe-wrap setup  -in DIR            compile and set up once per outer circuit (cached)
//	zkpipe-wrap prove  -in DIR -out FILE  prove one outer proof (sets up first if needed)
//	zkpipe-wrap count  -in DIR [-out F] [-pprof F] where the constraints go, by stage and gate type (compiles, no keys)
//	  (check and count take -shape: the circuit per shape of shape.go, verifier data as witness)
//	zkpipe-wrap sample -out DIR           a small circuit's key and proof, for the contract's tests
//
// DIR holds common_circuit_data.json, verifier_only_circuit_data.json and
// proof_with_public_inputs.json as zkpipe's engine writes them. Keys live under
// $ZKPIPE_CACHE_DIR/wrap/<circuit key>/; the circuit key is the SHA-256 of the two
// circuit files and this program's circuit version. Progress goes to stderr as
// JSON lines; results go to stdout (or -out) as one JSON document.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/succinctlabs/gnark-plonky2-verifier/types"
	"github.com/succinctlabs/gnark-plonky2-verifier/variables"
)

// circuitVersion changes whenever WrapCircuit's constraints change, so cached keys are rebuilt.
const circuitVersion = "zkpipe-wrap-4"

// outerFiles is one outer proof and its circuit as read from DIR.
type outerFiles struct {
	common   types.CommonCircuitData
	verifier variables.VerifierOnlyCircuitData
	proof    variables.ProofWithPublicInputs
	prefix   []uint64
	key      string
	inputs   []uint64
}

func progress(stage string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["stage"] = stage
	fields["t"] = time.Now().UTC().Format(time.RFC3339)
	line, _ := json.Marshal(fields)
	fmt.Fprintln(os.Stderr, string(line))
}

func readOuter(dir string) (*outerFiles, error) {
	commonPath := filepath.Join(dir, "common_circuit_data.json")
	verifierPath := filepath.Join(dir, "verifier_only_circuit_data.json")
	proofPath := filepath.Join(dir, "proof_with_public_inputs.json")
	commonRaw, err := os.ReadFile(commonPath)
	if err != nil {
		return nil, err
	}
	verifierRaw, err := os.ReadFile(verifierPath)
	if err != nil {
		return nil, err
	}
	var extra struct {
		TranscriptPrefix []uint64         `json:"transcript_prefix"`
		FieldGenerators  *fieldGenerators `json:"field_generators"`
	}
	if err := json.Unmarshal(commonRaw, &extra); err != nil {
		return nil, err
	}
	if len(extra.TranscriptPrefix) == 0 {
		return nil, errors.New("common_circuit_data.json has no transcript_prefix")
	}
	if extra.FieldGenerators == nil {
		return nil, errors.New("common_circuit_data.json has no field_generators")
	}
	if err := checkGenerators(*extra.FieldGenerators); err != nil {
		return nil, err
	}
	proofRaw := types.ReadProofWithPublicInputs(proofPath)
	h := sha256.New()
	h.Write([]byte(circuitVersion))
	h.Write(commonRaw)
	h.Write(verifierRaw)
	return &outerFiles{
		common:   types.ReadCommonCircuitData(commonPath),
		verifier: variables.DeserializeVerifierOnlyCircuitData(types.ReadVerifierOnlyCircuitData(verifierPath)),
		proof:    variables.DeserializeProofWithPublicInputs(proofRaw),
		prefix:   extra.TranscriptPrefix,
		key:      hex.EncodeToString(h.Sum(nil))[:16],
		inputs:   proofRaw.PublicInputs,
	}, nil
}

// statementHash is what the circuit and the L1 contract compute from the public inputs.
func statementHash(inputs []uint64) *big.Int { return hashStatement(nil, inputs) }

// hashStatement is SHA-256 of `prefix` then each input as 8 big-endian bytes, top three bits cleared.
func hashStatement(prefix []byte, inputs []uint64) *big.Int {
	buf := append(make([]byte, 0, len(prefix)+8*len(inputs)), prefix...)
	for _, x := range inputs {
		buf = append(buf, byte(x>>56), byte(x>>48), byte(x>>40), byte(x>>32), byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	}
	d := sha256.Sum256(buf)
	d[0] &= 0x1f
	return new(big.Int).SetBytes(d[:])
}

func (o *outerFiles) template() *WrapCircuit {
	return &WrapCircuit{
		Proof:        o.proof.Proof,
		PublicInputs: o.proof.PublicInputs,
		common:       o.common,
		verifier:     o.verifier,
		prefix:       o.prefix,
	}
}

func (o *outerFiles) assignment() *WrapCircuit {
	a := o.template()
	a.StatementHash = statementHash(o.inputs)
	return a
}

func cacheDir(key string) (string, error) {
	root := os.Getenv("ZKPIPE_CACHE_DIR")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		root = filepath.Join(home, ".cache", "zkpipe")
	}
	dir := filepath.Join(root, "wrap", key)
	return dir, os.MkdirAll(dir, 0o755)
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func writeFile(path string, write func(f *os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// keys holds the compiled circuit and its Groth16 keys.
type keys struct {
	dir   string
	ccs   constraint.ConstraintSystem
	pk    groth16.ProvingKey
	vk    groth16.VerifyingKey
	times map[string]float64
}

func compile(o *outerFiles) (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, o.template())
}

// loadOrSetup returns the circuit's keys, compiling and setting up once per circuit key.
func loadOrSetup(o *outerFiles) (*keys, error) {
	dir, err := cacheDir(o.key)
	if err != nil {
		return nil, err
	}
	k := &keys{dir: dir, times: map[string]float64{}}
	ccsPath, pkPath, vkPath := filepath.Join(dir, "circuit.r1cs"), filepath.Join(dir, "proving.key"), filepath.Join(dir, "verifying.key")
	if _, err := os.Stat(vkPath); err == nil {
		progress("load", map[string]any{"dir": dir})
		start := time.Now()
		k.ccs = groth16.NewCS(ecc.BN254)
		k.pk = groth16.NewProvingKey(ecc.BN254)
		k.vk = groth16.NewVerifyingKey(ecc.BN254)
		if err := readInto(ccsPath, k.ccs.ReadFrom); err != nil {
			return nil, err
		}
		if err := readInto(pkPath, k.pk.UnsafeReadFrom); err != nil {
			return nil, err
		}
		if err := readInto(vkPath, k.vk.ReadFrom); err != nil {
			return nil, err
		}
		k.times["load_s"] = time.Since(start).Seconds()
		return k, nil
	}
	progress("compile", map[string]any{"key": o.key})
	start := time.Now()
	stop := heartbeat("compiling")
	k.ccs, err = compile(o)
	stop()
	if err != nil {
		return nil, err
	}
	k.times["compile_s"] = time.Since(start).Seconds()
	progress("compiled", map[string]any{"constraints": k.ccs.GetNbConstraints(), "seconds": k.times["compile_s"]})
	progress("setup", map[string]any{"constraints": k.ccs.GetNbConstraints(), "note": "single-party development setup"})
	start = time.Now()
	stop = heartbeat("setting up")
	k.pk, k.vk, err = groth16.Setup(k.ccs)
	stop()
	if err != nil {
		return nil, err
	}
	k.times["setup_s"] = time.Since(start).Seconds()
	progress("setup done", map[string]any{"seconds": k.times["setup_s"]})
	if err := writeFile(ccsPath, func(f *os.File) error { _, err := k.ccs.WriteTo(f); return err }); err != nil {
		return nil, err
	}
	if err := writeFile(pkPath, func(f *os.File) error { _, err := k.pk.WriteRawTo(f); return err }); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, "verifier.json"), func(f *os.File) error { return writeVerifierJSON(f, k.vk) }); err != nil {
		return nil, err
	}
	// The verifying key last: its presence marks a complete cache entry.
	if err := writeFile(vkPath, func(f *os.File) error { _, err := k.vk.WriteTo(f); return err }); err != nil {
		return nil, err
	}
	return k, nil
}

// heartbeatEvery is how often heartbeat reports.
var heartbeatEvery = 30 * time.Second

// heartbeat reports every heartbeatEvery that a long step is still running (gnark's compile and setup
// report nothing themselves); the returned function stops it (no report follows its return).
func heartbeat(stage string) func() {
	done, exited := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(exited)
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				progress(stage, map[string]any{"elapsed_s": int(time.Since(start).Seconds()), "peak_rss_mib": int(peakRSSMiB())})
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func readInto(path string, read func(r io.Reader) (int64, error)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = read(bytes.NewReader(data))
	return err
}

func cmdCheck(o *outerFiles, shape bool) error {
	start := time.Now()
	var err error
	fields := map[string]any{}
	if shape {
		var digest *big.Int
		if digest, err = nativeVerifierDigest(o.verifier); err == nil {
			// What a rollup deployed for this outer circuit pins (ADR 33).
			fields["verifier_digest"] = digest.String()
			fields["statement_hash"] = shapeStatementHash(digest, o.inputs).String()
			err = test.IsSolved(o.shapeTemplate(), o.shapeAssignment(o.verifier, digest), ecc.BN254.ScalarField())
		}
	} else {
		err = test.IsSolved(o.template(), o.assignment(), ecc.BN254.ScalarField())
	}
	fields["seconds"], fields["ok"] = time.Since(start).Seconds(), err == nil
	progress("check", fields)
	return err
}

func cmdProve(o *outerFiles, out string) error {
	// The witness first: compiling the template (which shares the proof's slices) replaces
	// their values by circuit variables.
	w, err := frontend.NewWitness(o.assignment(), ecc.BN254.ScalarField())
	if err != nil {
		return err
	}
	k, err := loadOrSetup(o)
	if err != nil {
		return err
	}
	progress("prove", nil)
	start := time.Now()
	stop := heartbeat("proving")
	proof, err := groth16.Prove(k.ccs, k.pk, w)
	stop()
	if err != nil {
		return err
	}
	k.times["prove_s"] = time.Since(start).Seconds()
	public, err := w.Public()
	if err != nil {
		return err
	}
	if err := groth16.Verify(proof, k.vk, public); err != nil {
		return fmt.Errorf("own proof does not verify: %w", err)
	}
	result, err := proofJSON(proof)
	if err != nil {
		return err
	}
	result["statement_hash"] = statementHash(o.inputs).String()
	result["circuit_key"] = o.key
	result["cache_dir"] = k.dir
	result["times_s"] = k.times
	result["constraints"] = k.ccs.GetNbConstraints()
	result["peak_rss_mib"] = peakRSSMiB()
	return emit(result, out)
}

func cmdSetup(o *outerFiles, out string) error {
	k, err := loadOrSetup(o)
	if err != nil {
		return err
	}
	return emit(map[string]any{
		"circuit_key": o.key, "cache_dir": k.dir, "times_s": k.times,
		"constraints": k.ccs.GetNbConstraints(), "peak_rss_mib": peakRSSMiB(),
	}, out)
}

func emit(v any, out string) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(append(data, '\n'))
		return err
	}
	return writeFile(out, func(f *os.File) error { _, err := f.Write(data); return err })
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: zkpipe-wrap check|setup|prove -in DIR [-out FILE]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	in := fs.String("in", "", "directory of the outer proof's JSON files")
	out := fs.String("out", "", "result file (default stdout)")
	pprofPath := fs.String("pprof", "", "count: also write gnark's constraint profile (pprof) here")
	shape := fs.Bool("shape", false, "check, count: the circuit per shape (verifier data as witness, shape.go)")
	_ = fs.Parse(os.Args[2:])
	progress("start", map[string]any{"command": os.Args[1], "cpus": runtime.NumCPU()})
	if os.Args[1] == "sample" {
		if err := cmdSample(*out); err != nil {
			fmt.Fprintln(os.Stderr, "zkpipe-wrap:", err)
			os.Exit(1)
		}
		return
	}
	o, err := readOuter(*in)
	if err == nil {
		switch os.Args[1] {
		case "check":
			err = cmdCheck(o, *shape)
		case "count":
			var circuit frontend.Circuit = o.template()
			if *shape {
				circuit = o.shapeTemplate()
			}
			err = cmdCount(o, circuit, *pprofPath, *out)
		case "setup":
			err = cmdSetup(o, *out)
		case "prove":
			err = cmdProve(o, *out)
		default:
			err = fmt.Errorf("unknown command %q", os.Args[1])
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkpipe-wrap:", err)
		os.Exit(1)
	}
}
