package main

// A small circuit of the same kind as the wrap circuit (one public input, one BSB22
// commitment from gnark's range checker), so the verifier contract's tests can use
// real Groth16 proofs without the wrap circuit's long setup.

import (
	"math/big"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/rangecheck"
)

// sampleCircuit proves knowledge of 64-bit a, b with a*b = Product.
type sampleCircuit struct {
	Product frontend.Variable `gnark:",public"`
	A, B    frontend.Variable
}

func (c *sampleCircuit) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	rc.Check(c.A, 64)
	rc.Check(c.B, 64)
	api.AssertIsEqual(api.Mul(c.A, c.B), c.Product)
	return nil
}

// cmdSample writes a fresh key pair's verifier.json and one proof (proof.json) into dir.
func cmdSample(dir string) error {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &sampleCircuit{})
	if err != nil {
		return err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return err
	}
	a, b := new(big.Int).SetUint64(0xfedcba9876543210), new(big.Int).SetUint64(0x0123456789abcdef)
	product := new(big.Int).Mul(a, b)
	w, err := frontend.NewWitness(&sampleCircuit{Product: product, A: a, B: b}, ecc.BN254.ScalarField())
	if err != nil {
		return err
	}
	proof, err := groth16.Prove(ccs, pk, w)
	if err != nil {
		return err
	}
	public, err := w.Public()
	if err != nil {
		return err
	}
	if err := groth16.Verify(proof, vk, public); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "verifier.json"), func(f *os.File) error { return writeVerifierJSON(f, vk) }); err != nil {
		return err
	}
	result, err := proofJSON(proof)
	if err != nil {
		return err
	}
	result["public_input"] = product.String()
	return emit(result, filepath.Join(dir, "proof.json"))
}
