//! Gate and generator serializers for the circuit cache: plonky2's defaults plus zkpipe's own.
//!
//! Each entry starts with a u32 tag: 0 hands the rest to plonky2's default serializer, any
//! other tag names one of our gates or generators. A circuit with a gate or generator neither
//! knows fails to serialize (and is then simply not cached), never silently.

use plonky2::gates::gate::{Gate, GateRef};
use plonky2::iop::generator::{SimpleGenerator, WitnessGeneratorRef};
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{
    Buffer, DefaultGateSerializer, DefaultGeneratorSerializer, GateSerializer, IoError, IoResult, Read,
    WitnessGeneratorSerializer, Write,
};

use super::ecgfp5::{KeyValidityGenerator, QuotientGenerator};
use super::gates::ecadd::{EcStepGate, EcStepGenerator};
use super::gates::gfp5::{Fp5MulGate, Fp5MulGenerator};
use super::gates::sha256::{Sha256Gate, Sha256Generator};
use super::{C, D, F};

const DEFAULT: u32 = 0;

/// plonky2's default gates, `Fp5MulGate`, `EcStepGate` and `Sha256Gate`.
#[derive(Debug, Default)]
pub struct ZkpipeGateSerializer;

fn gate_tag(gate: &GateRef<F, D>) -> u32 {
    let any = gate.0.as_any();
    if any.is::<Fp5MulGate>() {
        1
    } else if any.is::<EcStepGate>() {
        2
    } else if any.is::<Sha256Gate>() {
        3
    } else {
        DEFAULT
    }
}

impl GateSerializer<F, D> for ZkpipeGateSerializer {
    fn read_gate(&self, buf: &mut Buffer, common: &CommonCircuitData<F, D>) -> IoResult<GateRef<F, D>> {
        Ok(match buf.read_u32()? {
            DEFAULT => return DefaultGateSerializer.read_gate(buf, common),
            1 => GateRef::new(<Fp5MulGate as Gate<F, D>>::deserialize(buf, common)?),
            2 => GateRef::new(<EcStepGate as Gate<F, D>>::deserialize(buf, common)?),
            3 => GateRef::new(<Sha256Gate as Gate<F, D>>::deserialize(buf, common)?),
            _ => return Err(IoError),
        })
    }

    fn write_gate(&self, buf: &mut Vec<u8>, gate: &GateRef<F, D>, common: &CommonCircuitData<F, D>) -> IoResult<()> {
        let tag = gate_tag(gate);
        buf.write_u32(tag)?;
        if tag == DEFAULT {
            DefaultGateSerializer.write_gate(buf, gate, common)
        } else {
            gate.0.serialize(buf, common)
        }
    }
}

/// plonky2's default generators and those of zkpipe's gates and gadgets.
#[derive(Debug, Default)]
pub struct ZkpipeGeneratorSerializer {
    default: DefaultGeneratorSerializer<C, D>,
}

/// Our generators, by the id each reports (plonky2 tells generators apart by id only).
const GENERATORS: [&str; 5] =
    ["Fp5MulGenerator", "EcStepGenerator", "Fp5QuotientGenerator", "EcgFp5KeyValidityGenerator", "Sha256Generator"];

fn adapt<G: SimpleGenerator<F, D>>(generator: G) -> WitnessGeneratorRef<F, D> {
    WitnessGeneratorRef::new(generator.adapter())
}

impl WitnessGeneratorSerializer<F, D> for ZkpipeGeneratorSerializer {
    fn read_generator(&self, buf: &mut Buffer, common: &CommonCircuitData<F, D>) -> IoResult<WitnessGeneratorRef<F, D>> {
        Ok(match buf.read_u32()? {
            DEFAULT => return self.default.read_generator(buf, common),
            1 => adapt(<Fp5MulGenerator as SimpleGenerator<F, D>>::deserialize(buf, common)?),
            2 => adapt(EcStepGenerator::deserialize(buf, common)?),
            3 => adapt(QuotientGenerator::deserialize(buf, common)?),
            4 => adapt(KeyValidityGenerator::deserialize(buf, common)?),
            5 => adapt(<Sha256Generator<F> as SimpleGenerator<F, D>>::deserialize(buf, common)?),
            _ => return Err(IoError),
        })
    }

    fn write_generator(
        &self,
        buf: &mut Vec<u8>,
        generator: &WitnessGeneratorRef<F, D>,
        common: &CommonCircuitData<F, D>,
    ) -> IoResult<()> {
        let id = generator.0.id();
        match GENERATORS.iter().position(|&known| known == id) {
            Some(i) => {
                buf.write_u32(i as u32 + 1)?;
                generator.0.serialize(buf, common)
            }
            None => {
                buf.write_u32(DEFAULT)?;
                self.default.write_generator(buf, generator, common)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use plonky2::plonk::circuit_data::CircuitData;

    use super::*;
    use crate::circuits::auth::SignatureCircuit;
    use crate::circuits::ecgfp5::Backend;
    use crate::circuits::verify_bytes;
    use crate::sig::{keygen, sign};

    #[test]
    fn a_signature_circuit_round_trips_and_its_loaded_copy_proves() {
        // The circuit holds both gates and every generator of the signature gadget.
        let fresh = SignatureCircuit::build(1, Backend::EcGate);
        let gates = ZkpipeGateSerializer;
        let generators = ZkpipeGeneratorSerializer::default();
        assert!(
            fresh.data.to_bytes(&DefaultGateSerializer, &DefaultGeneratorSerializer::<C, D>::default()).is_err(),
            "plonky2's defaults cannot hold our gates (why these serializers exist)"
        );
        let bytes = fresh.data.to_bytes(&gates, &generators).unwrap();
        let loaded = CircuitData::<F, C, D>::from_bytes(&bytes, &gates, &generators).unwrap();
        assert_eq!(loaded.verifier_only.circuit_digest, fresh.data.verifier_only.circuit_digest);

        let (sk, pk) = keygen(Some(&[9; 32])).unwrap();
        let message = [1, 2, 3, 4];
        let signature = sign(&sk, &message).unwrap();
        let proving = SignatureCircuit { data: loaded, targets: fresh.targets.clone(), rows: fresh.rows };
        let proof = proving.prove(&[(pk.to_vec(), message, signature.to_vec())], 0).unwrap();
        // A proof from the loaded circuit verifies under the fresh one.
        assert_eq!(verify_bytes(&fresh.data, &proof).unwrap()[5..9], message);
        // The loaded generators still refuse a bad signature.
        let mut bad = signature.to_vec();
        bad[0] ^= 1;
        assert!(proving.prove(&[(pk.to_vec(), message, bad)], 0).is_err());
    }
}
