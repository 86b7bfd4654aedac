//! A custom gate for GF(p^5) multiplication: several independent products `c = a·b` per row.
//!
//! Each product takes 15 routed wires (a, b, c, five coefficients each), so a standard recursion
//! row (80 routed wires) holds five. Constraints are the five coefficients of `c - a·b`
//! (degree 2), written once in [`fp5_mul`] for prover, verifier and recursion.

use plonky2::field::extension::Extendable;
use plonky2::gates::gate::Gate;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::algebra::{Algebra, Targets, Values};
use crate::circuits::ecgfp5::arith::{fp5_mul, fp5_sub};

/// Wires per product.
const WIRES_PER_PRODUCT: usize = 15;

/// Wire of coefficient `i` of product `k`'s first factor.
pub const fn wire_a(k: usize, i: usize) -> usize {
    WIRES_PER_PRODUCT * k + i
}
/// Wire of coefficient `i` of product `k`'s second factor.
pub const fn wire_b(k: usize, i: usize) -> usize {
    WIRES_PER_PRODUCT * k + 5 + i
}
/// Wire of coefficient `i` of product `k`'s result.
pub const fn wire_c(k: usize, i: usize) -> usize {
    WIRES_PER_PRODUCT * k + 10 + i
}

/// The gate: `products` GF(p^5) multiplications per row.
#[derive(Clone, Copy, Debug)]
pub struct Fp5MulGate {
    pub products: usize,
}

impl Fp5MulGate {
    /// As many products as the configuration's routed wires allow.
    pub const fn new_from_config(config: &CircuitConfig) -> Self {
        Self { products: config.num_routed_wires / WIRES_PER_PRODUCT }
    }
}

fn constraints<A: Algebra>(products: usize, alg: &mut A, w: &[A::V]) -> Vec<A::V> {
    let mut out = Vec::with_capacity(5 * products);
    for k in 0..products {
        let a = core::array::from_fn(|i| w[wire_a(k, i)]);
        let b = core::array::from_fn(|i| w[wire_b(k, i)]);
        let c = core::array::from_fn(|i| w[wire_c(k, i)]);
        let ab = fp5_mul(alg, a, b);
        out.extend(fp5_sub(alg, c, ab));
    }
    out
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for Fp5MulGate {
    fn id(&self) -> String {
        format!("Fp5MulGate({})", self.products)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.products)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { products: src.read_usize()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        constraints(self.products, &mut Values::new(), vars.local_wires)
    }

    fn eval_unfiltered_base_one(&self, vars: EvaluationVarsBase<F>, mut yield_constr: StridedConstraintConsumer<F>) {
        let wires: Vec<F> = (0..self.products * WIRES_PER_PRODUCT).map(|i| vars.local_wires[i]).collect();
        yield_constr.many(constraints(self.products, &mut Values::new(), &wires));
    }

    fn eval_unfiltered_circuit(&self, builder: &mut CircuitBuilder<F, D>, vars: EvaluationTargets<D>) -> Vec<ExtensionTarget<D>> {
        constraints(self.products, &mut Targets(builder), vars.local_wires)
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        (0..self.products)
            .map(|k| WitnessGeneratorRef::new(Fp5MulGenerator { row, k }.adapter()))
            .collect()
    }

    fn num_wires(&self) -> usize {
        self.products * WIRES_PER_PRODUCT
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        2
    }

    fn num_constraints(&self) -> usize {
        5 * self.products
    }
}

/// Fills one product's result.
#[derive(Debug, Default)]
pub struct Fp5MulGenerator {
    row: usize,
    k: usize,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for Fp5MulGenerator {
    fn id(&self) -> String {
        "Fp5MulGenerator".to_owned()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..5).flat_map(|i| [wire_a(self.k, i), wire_b(self.k, i)]).map(|c| Target::wire(self.row, c)).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> anyhow::Result<()> {
        let get = |c: usize| witness.get_target(Target::wire(self.row, c));
        let a = core::array::from_fn(|i| get(wire_a(self.k, i)));
        let b = core::array::from_fn(|i| get(wire_b(self.k, i)));
        let c = fp5_mul(&mut Values::<F>::new(), a, b);
        for (i, v) in c.into_iter().enumerate() {
            out.set_target(Target::wire(self.row, wire_c(self.k, i)), v)?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.k)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, k: src.read_usize()? })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::field::extension::FieldExtension;
    use plonky2::field::types::{Field, Sample};
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::hash::hash_types::HashOut;

    use super::*;
    use crate::circuits::{C, D, F};

    type FE = <F as Extendable<D>>::Extension;

    fn gate() -> Fp5MulGate {
        Fp5MulGate::new_from_config(&CircuitConfig::standard_recursion_config())
    }

    #[test]
    fn five_products_per_row_of_degree_two_that_agree_in_recursion() {
        assert_eq!(gate().products, 5);
        test_low_degree::<F, _, D>(gate());
        test_eval_fns::<F, C, _, D>(gate()).unwrap();
    }

    #[test]
    fn a_wrong_value_in_any_wire_is_rejected() {
        let gate = gate();
        let mut wires = vec![F::ZERO; gate.products * WIRES_PER_PRODUCT];
        for k in 0..gate.products {
            let (a, b): ([F; 5], [F; 5]) = (F::rand_array(), F::rand_array());
            let c = fp5_mul(&mut Values::<F>::new(), a, b);
            for i in 0..5 {
                (wires[wire_a(k, i)], wires[wire_b(k, i)], wires[wire_c(k, i)]) = (a[i], b[i], c[i]);
            }
        }
        let holds = |w: &[F]| {
            let ext: Vec<FE> = w.iter().map(|&v| <FE as FieldExtension<D>>::from_basefield(v)).collect();
            let hash = HashOut::rand();
            let vars = EvaluationVars { local_constants: &[], local_wires: &ext, public_inputs_hash: &hash };
            <Fp5MulGate as Gate<F, D>>::eval_unfiltered(&gate, vars).iter().all(|c| *c == FE::ZERO)
        };
        assert!(holds(&wires), "the honest row must satisfy the gate");
        for c in 0..wires.len() {
            let mut bad = wires.clone();
            bad[c] += F::ONE;
            assert!(!holds(&bad), "wire {c} changed was accepted");
        }
    }
}
