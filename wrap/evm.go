package main

// The verifying key and proofs in the layout zkpipe's Vyper verifier reads: decimal
// strings, G2 coordinates as [imaginary, real] (the order of the EVM's pairing precompile).

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

func g1(p *curve.G1Affine) []string {
	return []string{p.X.String(), p.Y.String()}
}

func g2(p *curve.G2Affine) [][]string {
	return [][]string{{p.X.A1.String(), p.X.A0.String()}, {p.Y.A1.String(), p.Y.A0.String()}}
}

// pedersenKey reads the commitment key's two G2 points from its serialization (its fields are private).
func pedersenKey(vk *groth16bn254.VerifyingKey) (g, gRootSigmaNeg curve.G2Affine, err error) {
	var buf bytes.Buffer
	if _, err = vk.CommitmentKey.WriteTo(&buf); err != nil {
		return
	}
	dec := curve.NewDecoder(&buf)
	if err = dec.Decode(&g); err != nil {
		return
	}
	err = dec.Decode(&gRootSigmaNeg)
	return
}

// writeVerifierJSON writes the VK; the circuit must have exactly one commitment over no public input.
func writeVerifierJSON(w io.Writer, vkAny groth16.VerifyingKey) error {
	vk, ok := vkAny.(*groth16bn254.VerifyingKey)
	if !ok {
		return errors.New("not a BN254 verifying key")
	}
	if len(vk.PublicAndCommitmentCommitted) != 1 || len(vk.PublicAndCommitmentCommitted[0]) != 0 {
		return errors.New("the verifier supports exactly one commitment committing to no public input")
	}
	g, gRootSigmaNeg, err := pedersenKey(vk)
	if err != nil {
		return err
	}
	k := make([][]string, len(vk.G1.K))
	for i := range vk.G1.K {
		k[i] = g1(&vk.G1.K[i])
	}
	return json.NewEncoder(w).Encode(map[string]any{
		"alpha":                       g1(&vk.G1.Alpha),
		"beta":                        g2(&vk.G2.Beta),
		"gamma":                       g2(&vk.G2.Gamma),
		"delta":                       g2(&vk.G2.Delta),
		"k":                           k,
		"commitment_g":                g2(&g),
		"commitment_g_root_sigma_neg": g2(&gRootSigmaNeg),
		"num_public":                  len(vk.G1.K) - 2,
	})
}

// proofJSON lays a proof out as the contract takes it: A, B, C, the commitment D and its proof of knowledge.
func proofJSON(pAny groth16.Proof) (map[string]any, error) {
	p, ok := pAny.(*groth16bn254.Proof)
	if !ok || len(p.Commitments) != 1 {
		return nil, errors.New("expected a BN254 proof with one commitment")
	}
	b := g2(&p.Bs)
	words := []string{
		p.Ar.X.String(), p.Ar.Y.String(),
		b[0][0], b[0][1], b[1][0], b[1][1],
		p.Krs.X.String(), p.Krs.Y.String(),
		p.Commitments[0].X.String(), p.Commitments[0].Y.String(),
		p.CommitmentPok.X.String(), p.CommitmentPok.Y.String(),
	}
	return map[string]any{"proof": words}, nil
}
