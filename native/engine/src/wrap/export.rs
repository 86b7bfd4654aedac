//! The outer proof and circuit as the JSON files gnark-plonky2-verifier reads.
//!
//! Three documents: the common circuit data, the verifier-only data (BN254 digests
//! as decimal strings) and the proof with its public inputs. A fourth value,
//! `transcript_prefix`, lists the Goldilocks elements qp-plonky2 absorbs into the
//! Fiat-Shamir transcript before the circuit digest (its FRI parameters); the Go
//! program observes them first so its challenges are the prover's. A fifth,
//! `field_generators`, names the Goldilocks generators the prover used (plonky2 0.2
//! changed them; the Go program checks they are the ones it verifies with).

use plonky2::field::extension::FieldExtension;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::fri::FriReductionStrategy;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierOnlyCircuitData};
use plonky2::plonk::proof::ProofWithPublicInputs;
use serde_json::{json, Value};

use super::outer::OuterC;
use super::poseidon_bn254::{from_hash, Bn254Hash, PoseidonBn254Hash};
use crate::circuits::{D, F};

type Ext = <F as plonky2::field::extension::Extendable<D>>::Extension;

fn digest(h: &Bn254Hash) -> Value {
    Value::String(from_hash(h).to_string())
}

fn cap(c: &MerkleCap<F, PoseidonBn254Hash>) -> Value {
    Value::Array(c.0.iter().map(digest).collect())
}

fn ext(x: &Ext) -> Value {
    let parts: [F; D] = FieldExtension::<D>::to_basefield_array(x);
    json!(parts.iter().map(|e| e.to_canonical_u64()).collect::<Vec<_>>())
}

fn exts(xs: &[Ext]) -> Value {
    Value::Array(xs.iter().map(ext).collect())
}

fn base(xs: &[F]) -> Value {
    json!(xs.iter().map(|e| e.to_canonical_u64()).collect::<Vec<_>>())
}

fn arity_bits(strategy: &FriReductionStrategy) -> Vec<usize> {
    match strategy {
        FriReductionStrategy::ConstantArityBits(a, b) => vec![*a, *b],
        FriReductionStrategy::Fixed(bits) => bits.clone(),
        FriReductionStrategy::MinSize(m) => m.iter().copied().collect(),
    }
}

/// The common circuit data in the gnark verifier's layout.
pub fn common_json(common: &CommonCircuitData<F, D>) -> Value {
    let c = &common.config;
    let fri_config = |f: &plonky2::fri::FriConfig| {
        json!({
            "rate_bits": f.rate_bits,
            "cap_height": f.cap_height,
            "proof_of_work_bits": f.proof_of_work_bits,
            "reduction_strategy": {"ConstantArityBits": arity_bits(&f.reduction_strategy)},
            "num_query_rounds": f.num_query_rounds,
        })
    };
    // qp-plonky2's field crate has its own path; the gate ids are otherwise plonky2's.
    let gates: Vec<String> =
        common.gates.iter().map(|g| g.0.id().replace("qp_plonky2_field::", "plonky2_field::")).collect();
    json!({
        "config": {
            "num_wires": c.num_wires,
            "num_routed_wires": c.num_routed_wires,
            "num_constants": c.num_constants,
            "use_base_arithmetic_gate": c.use_base_arithmetic_gate,
            "security_bits": c.security_bits,
            "num_challenges": c.num_challenges,
            "zero_knowledge": c.zero_knowledge,
            "max_quotient_degree_factor": c.max_quotient_degree_factor,
            "fri_config": fri_config(&c.fri_config),
        },
        "fri_params": {
            "config": fri_config(&common.fri_params.config),
            "hiding": common.fri_params.leaf_hiding,
            "degree_bits": common.fri_params.degree_bits,
            "reduction_arity_bits": common.fri_params.reduction_arity_bits,
        },
        "gates": gates,
        "selectors_info": {
            "selector_indices": common.selectors_info.selector_indices,
            "groups": common.selectors_info.groups.iter().map(|r| json!({"start": r.start, "end": r.end})).collect::<Vec<_>>(),
        },
        "quotient_degree_factor": common.quotient_degree_factor,
        "num_gate_constraints": common.num_gate_constraints,
        "num_constants": common.num_constants,
        "num_public_inputs": common.num_public_inputs,
        "k_is": common.k_is.iter().map(|k| k.to_canonical_u64()).collect::<Vec<_>>(),
        "num_partial_products": common.num_partial_products,
        "transcript_prefix": transcript_prefix(common),
        "field_generators": {
            "multiplicative": F::MULTIPLICATIVE_GROUP_GENERATOR.to_canonical_u64(),
            "two_adic": F::POWER_OF_TWO_GENERATOR.to_canonical_u64(),
        },
    })
}

/// The elements qp-plonky2 observes before the circuit digest: its FRI parameters.
pub fn transcript_prefix(common: &CommonCircuitData<F, D>) -> Vec<u64> {
    let p = &common.fri_params;
    let f = &p.config;
    let mut out = vec![f.rate_bits as u64, f.cap_height as u64, u64::from(f.proof_of_work_bits)];
    out.extend(f.reduction_strategy.serialize::<F>().iter().map(|x| x.to_canonical_u64()));
    out.push(f.num_query_rounds as u64);
    out.push(u64::from(p.leaf_hiding));
    out.push(p.degree_bits as u64);
    out.extend(p.reduction_arity_bits.iter().map(|&b| b as u64));
    out
}

/// The verifier-only data (constants/sigmas cap and circuit digest).
pub fn verifier_only_json(vd: &VerifierOnlyCircuitData<OuterC, D>) -> Value {
    json!({
        "constants_sigmas_cap": cap(&vd.constants_sigmas_cap),
        "circuit_digest": digest(&vd.circuit_digest),
    })
}

/// The proof with its public inputs.
pub fn proof_json(p: &ProofWithPublicInputs<F, OuterC, D>) -> Value {
    let proof = &p.proof;
    let o = &proof.openings;
    let fri = &proof.opening_proof;
    let rounds: Vec<Value> = fri
        .query_round_proofs
        .iter()
        .map(|round| {
            let initial: Vec<Value> = round
                .initial_trees_proof
                .evals_proofs
                .iter()
                .map(|(leaf, path)| json!([base(leaf), {"siblings": path.siblings.iter().map(digest).collect::<Vec<_>>()}]))
                .collect();
            let steps: Vec<Value> = round
                .steps
                .iter()
                .map(|s| json!({"evals": exts(&s.evals), "merkle_proof": {"siblings": s.merkle_proof.siblings.iter().map(digest).collect::<Vec<_>>()}}))
                .collect();
            json!({"initial_trees_proof": {"evals_proofs": initial}, "steps": steps})
        })
        .collect();
    json!({
        "proof": {
            "wires_cap": cap(&proof.wires_cap),
            "plonk_zs_partial_products_cap": cap(&proof.plonk_zs_partial_products_cap),
            "quotient_polys_cap": cap(&proof.quotient_polys_cap),
            "openings": {
                "constants": exts(&o.constants),
                "plonk_sigmas": exts(&o.plonk_sigmas),
                "wires": exts(&o.wires),
                "plonk_zs": exts(&o.plonk_zs),
                "plonk_zs_next": exts(&o.plonk_zs_next),
                "partial_products": exts(&o.partial_products),
                "quotient_polys": exts(&o.quotient_polys),
            },
            "opening_proof": {
                "commit_phase_merkle_caps": fri.commit_phase_merkle_caps.iter().map(cap).collect::<Vec<_>>(),
                "query_round_proofs": rounds,
                "final_poly": {"coeffs": exts(&fri.final_poly.coeffs)},
                "pow_witness": fri.pow_witness.to_canonical_u64(),
            },
        },
        "public_inputs": base(&p.public_inputs),
    })
}
