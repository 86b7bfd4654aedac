//! The segment circuit: k consecutive transactions of a batch, exactly as `zkpipe.spec` applies them.
//!
//! Each of the k slots holds one transaction (or a no-op pad) as its 43 canonical
//! field elements (`zkpipe.spec.encoding.compute_tx_elements`) plus the witness of
//! at most two leaf updates. The circuit enforces, for each kind:
//!
//! - **transfer**: sender ≠ recipient, neither is the fee account (index 0), both
//!   exist, amount > 0, nonce matches and does not overflow, the sender can pay
//!   amount + fee, the recipient's balance stays within u64;
//! - **withdraw**: the same for the sender, a non-zero L1 address, and one record
//!   appended to the withdrawals chain;
//! - **deposit credit**: the recipient is not the fee account, the key is valid (a
//!   non-neutral curve point), an empty slot is created with the deposit's key, an
//!   occupied one must hold the same key, no overflow; the deposit is appended to the
//!   deposits chain;
//! - **deposit refund**: exactly when a credit is impossible (the circuit decides, as
//!   the spec does): the fee account, an invalid key, another key in the slot, or a
//!   balance that would overflow; the recipient's leaf (possibly empty) is read and
//!   left as it is; the deposit is appended to the deposits chain and a refund record
//!   to the withdrawals chain;
//! - **every user transaction** (transfer, withdraw) is signed: an ECgFp5 Schnorr
//!   signature under the key in the sender's leaf, over the spec's signing digest of
//!   the slot's own elements and the statement's chain id
//!   (`zkpipe.spec.signing.compute_signing_digest`); other slots verify a fixed valid
//!   signature in its place, chosen by the slot's kind (itself bound to the type tag);
//! - **every deposit** (credit or refund) carries the next L1 priority-queue index:
//!   the slots consume the queue in order from the statement's `queue_in`;
//! - **every slot** is canonical: each u32 limb (key, queue index, signature) and
//!   each 7-byte chunk (L1 address) is range-checked, key limbs are < p, and the
//!   fields a kind does not use are zero, so the elements are a bijection with the
//!   posted bytes;
//! - every real transaction's posted encoding, as 16-byte chunks of its own elements, is appended
//!   to the data chain (ADR 27: the chain the data-commitment proof computes over L1's bytes); fees are summed and
//!   credited to the fee account once, at the segment's end (lazy update).

use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::datachain;
use super::ecgfp5::{verify_signature, Backend, Fp5Builder, Fp5Target};
use super::gadgets::{assert_nonzero_if, assert_zero_if, select_hash, update_leaf, U64Target};
use super::statement::StatementTarget;
use super::{prove_with_threads, C, D, F};
use crate::field::to_field;
use crate::hash::{to_hash_out, Digest};
use crate::{Error, Result};

/// Depth of the account tree the circuit is built for.
pub const TREE_DEPTH: usize = 32;
/// Field elements per transaction slot.
pub const TX_ELEMENTS: usize = 43;
/// Field elements of an account: public key (5 u64 limbs), balance (2 u32 limbs), nonce.
pub const ACCOUNT_FIELDS: usize = 8;
/// Segment sizes a circuit can be built for.
pub const SEGMENT_SIZES: [usize; 5] = [8, 16, 32, 64, 128];

const fn domain(tag: &[u8; 7]) -> u64 {
    u64::from_le_bytes([tag[0], tag[1], tag[2], tag[3], tag[4], tag[5], tag[6], 0])
}
/// Domain tags, identical to `zkpipe.spec.types.DOMAIN_*`.
pub const DOMAIN_DATA: u64 = domain(b"zkp/dat");
pub const DOMAIN_WITHDRAWALS: u64 = domain(b"zkp/wdr");
pub const DOMAIN_DEPOSITS: u64 = domain(b"zkp/dep");
pub const DOMAIN_TX_SIGNATURE: u64 = domain(b"zkp/sig");

/// The signature a slot that is not a user transaction verifies instead: a fixed, valid one.
struct DummySignature {
    key: [u64; 5],
    message: Digest,
    limbs: [u64; 20],
}

impl DummySignature {
    fn new() -> Result<Self> {
        let (secret, public) = crate::sig::keygen(Some(b"zkpipe segment: dummy signature!"))?;
        let message = [1, 2, 3, 4];
        let signature = crate::sig::sign(&secret, &message)?;
        let word = |chunk: &[u8]| chunk.iter().rev().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte));
        Ok(Self {
            key: core::array::from_fn(|i| word(&public[8 * i..8 * i + 8])),
            message,
            limbs: core::array::from_fn(|i| word(&signature[4 * i..4 * i + 4])),
        })
    }
}

/// Offsets into a slot's elements.
mod el {
    pub const TYPE: usize = 0;
    pub const A: usize = 1;
    pub const B: usize = 2;
    pub const AMOUNT: usize = 3;
    pub const FEE: usize = 5;
    pub const NONCE: usize = 7;
    pub const QUEUE: usize = 8;
    pub const KEY: usize = 10;
    pub const L1: usize = 20;
    pub const SIGNATURE: usize = 23;
    /// Bits of each L1-address chunk: 7, 7 and 6 bytes.
    pub const L1_CHUNK_BITS: [usize; 3] = [56, 56, 48];
}

/// What occupies a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    Noop,
    DepositCredit,
    DepositRefund,
    Transfer,
    Withdraw,
}

impl SlotKind {
    /// Parses the kind code used across the Python boundary.
    pub fn from_code(code: u8) -> Result<Self> {
        Ok(match code {
            0 => Self::Noop,
            1 => Self::DepositCredit,
            2 => Self::Transfer,
            3 => Self::Withdraw,
            4 => Self::DepositRefund,
            _ => return Err(Error::ProvingFailed(format!("unknown slot kind {code}"))),
        })
    }
}

/// The witness of one leaf: the account before (all zero and `empty` for an empty slot) and its path.
#[derive(Clone, Debug)]
pub struct AccountWitness {
    pub empty: bool,
    pub account: [u64; ACCOUNT_FIELDS],
    pub siblings: Vec<Digest>,
}

impl AccountWitness {
    /// An unused update: nothing is checked about it.
    pub fn unused() -> Self {
        Self { empty: false, account: [0; ACCOUNT_FIELDS], siblings: vec![[0; 4]; TREE_DEPTH] }
    }
}

/// One slot: the transaction's elements and the two leaves it may touch.
#[derive(Clone, Debug)]
pub struct SlotWitness {
    pub kind: SlotKind,
    pub elements: [u64; TX_ELEMENTS],
    pub a: AccountWitness,
    pub b: AccountWitness,
}

impl SlotWitness {
    /// A padding slot.
    pub fn noop() -> Self {
        Self { kind: SlotKind::Noop, elements: [0; TX_ELEMENTS], a: AccountWitness::unused(), b: AccountWitness::unused() }
    }
}

/// Everything the segment circuit needs.
#[derive(Clone, Debug)]
pub struct SegmentWitness {
    pub root_before: Digest,
    pub data_in: Digest,
    pub withdrawals_in: Digest,
    pub deposits_in: Digest,
    pub slots: Vec<SlotWitness>,
    pub fee_account: AccountWitness,
    /// L1 priority-queue entries consumed before the segment.
    pub queue_in: u64,
    /// The deployment's chain id (< 2^32).
    pub chain_id: u64,
}

struct AccountTargets {
    empty: BoolTarget,
    account: Vec<Target>,
    siblings: Vec<HashOutTarget>,
}

struct SlotTargets {
    is_transfer: BoolTarget,
    is_withdraw: BoolTarget,
    is_credit: BoolTarget,
    is_refund: BoolTarget,
    elements: Vec<Target>,
    a: AccountTargets,
    b: AccountTargets,
}

/// The circuit for one segment size, with its witness targets.
pub struct SegmentCircuit {
    pub k: usize,
    pub data: CircuitData<F, C, D>,
    root_before: HashOutTarget,
    data_in: HashOutTarget,
    withdrawals_in: HashOutTarget,
    deposits_in: HashOutTarget,
    queue_in: Target,
    chain_id: Target,
    slots: Vec<SlotTargets>,
    fee_account: AccountTargets,
}

fn add_account(builder: &mut CircuitBuilder<F, D>) -> AccountTargets {
    AccountTargets {
        empty: builder.add_virtual_bool_target_safe(),
        account: builder.add_virtual_targets(ACCOUNT_FIELDS),
        siblings: (0..TREE_DEPTH).map(|_| builder.add_virtual_hash()).collect(),
    }
}

fn leaf_hash(builder: &mut CircuitBuilder<F, D>, key: &[Target], balance: U64Target, nonce: Target) -> HashOutTarget {
    let mut inputs = key.to_vec();
    inputs.extend([balance.lo, balance.hi, nonce]);
    builder.hash_n_to_hash_no_pad::<PoseidonHash>(inputs)
}

fn bool_sum(builder: &mut CircuitBuilder<F, D>, flags: &[BoolTarget]) -> BoolTarget {
    // Callers guarantee at most one flag is set (the sum of all four is checked to be boolean).
    let mut sum = builder.zero();
    for f in flags {
        sum = builder.add(sum, f.target);
    }
    BoolTarget::new_unsafe(sum)
}

fn chain_step(builder: &mut CircuitBuilder<F, D>, tag: u64, head: HashOutTarget, items: &[Target]) -> HashOutTarget {
    let mut inputs = vec![builder.constant(F::from_canonical_u64(tag))];
    inputs.extend_from_slice(&head.elements);
    inputs.extend_from_slice(items);
    builder.hash_n_to_hash_no_pad::<PoseidonHash>(inputs)
}

/// The data chain over a slot's posted encoding (ADR 27): its chunks' u32 words are its elements
/// (limbs range-checked by the slot's canonical-encoding checks, the L1 address re-cut into words)
/// — 6 chunks for a deposit, 7 for a transfer, 8 for a withdrawal, none for a pad.
fn data_chain_step(b: &mut CircuitBuilder<F, D>, head: HashOutTarget, e: &[Target], kinds: [BoolTarget; 4]) -> HashOutTarget {
    let [is_credit, is_refund, is_transfer, is_withdraw] = kinds;
    let zero = b.zero();
    let l1 = datachain::l1_address_words(b, [e[el::L1], e[el::L1 + 1], e[el::L1 + 2]]);
    let sig = &e[el::SIGNATURE..TX_ELEMENTS];
    let (amount, fee) = (&e[el::AMOUNT..el::AMOUNT + 2], &e[el::FEE..el::FEE + 2]);
    let deposit: Vec<Target> = [&[e[el::TYPE], e[el::QUEUE], e[el::QUEUE + 1], e[el::A]], &e[el::KEY..el::L1], amount, &l1, &[zero; 3]].concat();
    let transfer: Vec<Target> = [&[e[el::TYPE], e[el::A], e[el::B]], amount, fee, &[e[el::NONCE]], sig].concat();
    let withdraw: Vec<Target> = [&[e[el::TYPE], e[el::A]], &l1[..], amount, fee, &[e[el::NONCE]], sig].concat();
    let is_deposit = b.add(is_credit.target, is_refund.target);
    let words: Vec<Target> = (0..withdraw.len())
        .map(|j| {
            let w = b.mul(is_withdraw.target, withdraw[j]);
            let w = transfer.get(j).map_or(w, |&t| b.mul_add(is_transfer.target, t, w));
            deposit.get(j).map_or(w, |&d| b.mul_add(is_deposit, d, w))
        })
        .collect();
    let mut heads = vec![head];
    for chunk in words.chunks(datachain::CHUNK_WORDS) {
        let last = heads[heads.len() - 1];
        heads.push(datachain::step(b, last, chunk));
    }
    // The kinds are exclusive: the head after the slot's own chunks, or `head` for a pad.
    let chunks = |words: &[Target]| words.len() / datachain::CHUNK_WORDS;
    let picks = [(is_deposit, chunks(&deposit)), (is_transfer.target, chunks(&transfer)), (is_withdraw.target, chunks(&withdraw))];
    let none = b.add_many([is_deposit, is_transfer.target, is_withdraw.target]);
    let one = b.one();
    let pad = b.sub(one, none);
    HashOutTarget {
        elements: core::array::from_fn(|i| {
            let mut out = b.mul(pad, head.elements[i]);
            for &(flag, n) in &picks {
                out = b.mul_add(flag, heads[n].elements[i], out);
            }
            out
        }),
    }
}

impl SegmentCircuit {
    /// Builds the circuit for segments of `k` transactions.
    pub fn build(k: usize) -> Result<Self> {
        Self::define(k, |builder| Ok(builder.build::<C>()))
    }

    /// Defines the circuit and hands the builder to `finish`, which builds it or loads it from a cache.
    pub fn define(
        k: usize,
        finish: impl FnOnce(CircuitBuilder<F, D>) -> Result<CircuitData<F, C, D>>,
    ) -> Result<Self> {
        if !SEGMENT_SIZES.contains(&k) {
            return Err(Error::ProvingFailed(format!("segment size {k} is not one of {SEGMENT_SIZES:?}")));
        }
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let root_before = b.add_virtual_hash();
        let data_in = b.add_virtual_hash();
        let withdrawals_in = b.add_virtual_hash();
        let deposits_in = b.add_virtual_hash();
        let queue_in = b.add_virtual_target();
        b.range_check(queue_in, 62);
        let chain_id = b.add_virtual_target();
        b.range_check(chain_id, 32);
        let zero = b.zero();
        let zero_hash = HashOutTarget { elements: [zero; 4] };
        let two_32 = F::from_canonical_u64(1 << 32);

        let (mut root, mut data, mut withdrawals, mut deposits) = (root_before, data_in, withdrawals_in, deposits_in);
        let mut queue = queue_in;
        let mut pending = U64Target::zero(&mut b);
        let mut slots = Vec::with_capacity(k);
        let dummy = DummySignature::new()?;
        for _ in 0..k {
            let is_transfer = b.add_virtual_bool_target_safe();
            let is_withdraw = b.add_virtual_bool_target_safe();
            let is_credit = b.add_virtual_bool_target_safe();
            let is_refund = b.add_virtual_bool_target_safe();
            // Verify at most one kind is set (none: a no-op pad).
            let is_real = bool_sum(&mut b, &[is_transfer, is_withdraw, is_credit, is_refund]);
            b.assert_bool(is_real);
            let is_user = bool_sum(&mut b, &[is_transfer, is_withdraw]);
            let is_deposit = bool_sum(&mut b, &[is_credit, is_refund]);
            let is_record = bool_sum(&mut b, &[is_withdraw, is_refund]);
            let e = b.add_virtual_targets(TX_ELEMENTS);

            // Verify the type tag matches the kind (deposit 1, transfer 2, withdraw 3, pad 0).
            let mut tag = b.mul_const(F::from_canonical_u64(2), is_transfer.target);
            tag = b.mul_const_add(F::from_canonical_u64(3), is_withdraw.target, tag);
            tag = b.add(tag, is_deposit.target);
            b.connect(e[el::TYPE], tag);

            // Verify the encoding is canonical: every u32 limb and L1 chunk in range, key limbs < p
            // (indices are range-checked by their Merkle paths, signature limbs by the signature
            // check's bit split), and fields the kind does not use zero.
            for &x in &e[el::QUEUE..el::L1] {
                b.range_check(x, 32);
            }
            for (i, bits) in el::L1_CHUNK_BITS.iter().enumerate() {
                b.range_check(e[el::L1 + i], *bits);
            }
            let max_u32 = b.constant(F::from_canonical_u64(u32::MAX as u64));
            for i in 0..5 {
                // lo + 2^32·hi < p exactly when hi < 2^32 - 1, or hi = 2^32 - 1 and lo = 0.
                let hi_max = b.is_equal(e[el::KEY + 2 * i + 1], max_u32);
                assert_zero_if(&mut b, hi_max, e[el::KEY + 2 * i]);
            }
            let not_real = b.not(is_real);
            let not_user = b.not(is_user);
            let not_deposit = b.not(is_deposit);
            let not_transfer = b.not(is_transfer);
            let has_l1 = bool_sum(&mut b, &[is_withdraw, is_deposit]);
            let no_l1 = b.not(has_l1);
            for i in [el::A, el::AMOUNT, el::AMOUNT + 1] {
                assert_zero_if(&mut b, not_real, e[i]);
            }
            assert_zero_if(&mut b, not_transfer, e[el::B]);
            for i in (el::FEE..el::QUEUE).chain(el::SIGNATURE..TX_ELEMENTS) {
                assert_zero_if(&mut b, not_user, e[i]);
            }
            for &x in &e[el::QUEUE..el::L1] {
                assert_zero_if(&mut b, not_deposit, x);
            }
            for &x in &e[el::L1..el::SIGNATURE] {
                assert_zero_if(&mut b, no_l1, x);
            }

            // Verify a deposit is the next entry of the L1 priority queue.
            let queue_index = b.mul_const_add(two_32, e[el::QUEUE + 1], e[el::QUEUE]);
            b.conditional_assert_eq(is_deposit.target, queue_index, queue);
            queue = b.add(queue, is_deposit.target);

            // Verify amounts, fees and the nonce are u64 / u32; amounts of user transactions are positive.
            let amount = U64Target::from_limbs(&mut b, e[el::AMOUNT], e[el::AMOUNT + 1]);
            let fee_field = U64Target::from_limbs(&mut b, e[el::FEE], e[el::FEE + 1]);
            b.range_check(e[el::NONCE], 32);
            let amount_sum = b.add(amount.lo, amount.hi);
            assert_nonzero_if(&mut b, is_user, amount_sum);
            let fee = U64Target::gate(&mut b, is_user, fee_field);

            // --- Leaf A: the sender (transfer, withdraw) or the recipient (deposit; read for a refund).
            let a = add_account(&mut b);
            let writes_a = bool_sum(&mut b, &[is_user, is_credit]);
            let active_a = bool_sum(&mut b, &[is_user, is_deposit]);
            // Verify only a deposit may find an empty slot, and an empty slot holds zeros.
            // (A refund may find one: an invalid key's deposit into an empty slot.)
            let empty_misuse = b.mul(a.empty.target, not_deposit.target);
            b.assert_zero(empty_misuse);
            for &field in &a.account {
                assert_zero_if(&mut b, a.empty, field);
            }
            // Verify the fee account (index 0) neither sends nor receives.
            assert_nonzero_if(&mut b, writes_a, e[el::A]);
            let balance_a = U64Target::from_limbs(&mut b, a.account[5], a.account[6]);
            b.range_check(a.account[7], 32);
            // Verify the nonce is the sender's, and that it can be incremented.
            b.conditional_assert_eq(is_user.target, e[el::NONCE], a.account[7]);
            let nonce_after = b.add(a.account[7], is_user.target);
            b.range_check(nonce_after, 32);
            // Verify the sender can pay amount + fee; credit a deposit without overflow.
            let amount_debit = U64Target::gate(&mut b, is_user, amount);
            let debit = U64Target::add(&mut b, amount_debit, fee);
            let credit = U64Target::gate(&mut b, is_credit, amount);
            let after_debit = U64Target::sub(&mut b, balance_a, debit);
            let balance_a_after = U64Target::add(&mut b, after_debit, credit);
            // The deposit's key, from its ten u32 limbs; an occupied slot must already hold it.
            let tx_key: Vec<Target> =
                (0..5).map(|i| b.mul_const_add(two_32, e[el::KEY + 2 * i + 1], e[el::KEY + 2 * i])).collect();
            let occupied = b.not(a.empty);
            let existing_credit = b.and(is_credit, occupied);
            for (&stored, &key) in a.account.iter().zip(&tx_key) {
                b.conditional_assert_eq(existing_credit.target, stored, key);
            }
            let key_after: Vec<Target> = (0..5).map(|i| b.select(a.empty, tx_key[i], a.account[i])).collect();
            // Verify a deposit is credited exactly when the spec credits it: not to the fee account,
            // a valid key (a non-neutral curve point), and an empty slot or one holding the same key
            // with room for the amount. Otherwise it is refunded, which leaves leaf A as it is.
            let key_limbs: Fp5Target = core::array::from_fn(|i| tx_key[i]);
            let (key_valid, _) = Fp5Builder { builder: &mut b, backend: Backend::EcGate }.key_validity(key_limbs);
            let to_fee_account = b.is_equal(e[el::A], zero);
            let mut same_key = b._true();
            for (&stored, &key) in a.account.iter().zip(&tx_key) {
                let eq = b.is_equal(stored, key);
                same_key = b.and(same_key, eq);
            }
            let overflow = U64Target::overflows(&mut b, balance_a, amount);
            let not_fee = b.not(to_fee_account);
            let no_overflow = b.not(overflow);
            let fits = b.and(same_key, no_overflow);
            let slot_takes_it = b.or(a.empty, fits);
            let creditable = b.and(not_fee, key_valid);
            let creditable = b.and(creditable, slot_takes_it);
            b.conditional_assert_eq(is_deposit.target, is_credit.target, creditable.target);
            let stored_a = leaf_hash(&mut b, &a.account[..5], balance_a, a.account[7]);
            let leaf_before_a = select_hash(&mut b, a.empty, zero_hash, stored_a);
            let leaf_written_a = leaf_hash(&mut b, &key_after, balance_a_after, nonce_after);
            let leaf_after_a = select_hash(&mut b, is_refund, leaf_before_a, leaf_written_a);
            root = update_leaf(&mut b, active_a, root, e[el::A], leaf_before_a, leaf_after_a, &a.siblings);

            // --- The signature of a user transaction, under the sender's key from leaf A, over the
            // spec's signing digest of this slot's elements and the statement's chain id
            // (`zkpipe.spec.signing.compute_signing_digest`). Other slots verify a fixed valid
            // signature instead: the choice is the slot's kind, itself fixed by the type tag.
            let tag_sig = b.constant(F::from_canonical_u64(DOMAIN_TX_SIGNATURE));
            let head = [tag_sig, chain_id, e[el::TYPE], e[el::A]];
            let tail = [e[el::AMOUNT], e[el::AMOUNT + 1], e[el::FEE], e[el::FEE + 1], e[el::NONCE]];
            let transfer_digest = b.hash_n_to_hash_no_pad::<PoseidonHash>([&head[..], &[e[el::B]], &tail].concat());
            let withdraw_digest = b.hash_n_to_hash_no_pad::<PoseidonHash>([&head[..], &e[el::L1..el::SIGNATURE], &tail].concat());
            let digest = select_hash(&mut b, is_withdraw, withdraw_digest, transfer_digest);
            let constant = |b: &mut CircuitBuilder<F, D>, v: u64| b.constant(F::from_canonical_u64(v));
            let key: Fp5Target = core::array::from_fn(|i| {
                let fixed = constant(&mut b, dummy.key[i]);
                b.select(is_user, a.account[i], fixed)
            });
            let message: [Target; 4] = core::array::from_fn(|i| {
                let fixed = constant(&mut b, dummy.message[i]);
                b.select(is_user, digest.elements[i], fixed)
            });
            // A non-user slot's signature limbs are zero (checked above), so adding the dummy's selects.
            let signature: [Target; 20] = core::array::from_fn(|i| {
                b.mul_const_add(F::from_canonical_u64(dummy.limbs[i]), not_user.target, e[el::SIGNATURE + i])
            });
            verify_signature(&mut b, Backend::EcGate, key, message, &signature);

            // --- Leaf B: the recipient of a transfer (must exist).
            let rb = add_account(&mut b);
            b.assert_zero(rb.empty.target);
            assert_nonzero_if(&mut b, is_transfer, e[el::B]);
            let distinct = b.sub(e[el::B], e[el::A]);
            assert_nonzero_if(&mut b, is_transfer, distinct);
            let balance_b = U64Target::from_limbs(&mut b, rb.account[5], rb.account[6]);
            let received = U64Target::gate(&mut b, is_transfer, amount);
            let balance_b_after = U64Target::add(&mut b, balance_b, received);
            let leaf_before_b = leaf_hash(&mut b, &rb.account[..5], balance_b, rb.account[7]);
            let leaf_after_b = leaf_hash(&mut b, &rb.account[..5], balance_b_after, rb.account[7]);
            root = update_leaf(&mut b, is_transfer, root, e[el::B], leaf_before_b, leaf_after_b, &rb.siblings);

            // --- Fees join the pending sum; chains absorb what the transaction is.
            pending = U64Target::add(&mut b, pending, fee);
            data = data_chain_step(&mut b, data, &e, [is_credit, is_refund, is_transfer, is_withdraw]);
            let deposits_next = chain_step(&mut b, DOMAIN_DEPOSITS, deposits, &e);
            deposits = select_hash(&mut b, is_deposit, deposits_next, deposits);
            // A record is (kind, account, L1 address, amount): kind 3 for a withdrawal, 1 for a refund.
            let record_kind = b.mul_const_add(F::from_canonical_u64(3), is_withdraw.target, is_refund.target);
            let record = [
                record_kind,
                e[el::A],
                e[el::L1],
                e[el::L1 + 1],
                e[el::L1 + 2],
                e[el::AMOUNT],
                e[el::AMOUNT + 1],
            ];
            let withdrawals_next = chain_step(&mut b, DOMAIN_WITHDRAWALS, withdrawals, &record);
            withdrawals = select_hash(&mut b, is_record, withdrawals_next, withdrawals);
            // Verify a withdrawal names a non-zero L1 address (each chunk < 2^56, so the sum cannot wrap).
            let l1_partial = b.add(e[el::L1], e[el::L1 + 1]);
            let l1_sum = b.add(l1_partial, e[el::L1 + 2]);
            assert_nonzero_if(&mut b, is_withdraw, l1_sum);

            slots.push(SlotTargets { is_transfer, is_withdraw, is_credit, is_refund, elements: e, a, b: rb });
        }

        // --- The lazy fee credit: one update of the fee account at the segment's end.
        let fee_account = add_account(&mut b);
        b.assert_zero(fee_account.empty.target);
        // Statement fee totals stay below 2^62 so aggregated sums never wrap.
        b.range_check(pending.hi, 30);
        let fee_balance = U64Target::from_limbs(&mut b, fee_account.account[5], fee_account.account[6]);
        let fee_balance_after = U64Target::add(&mut b, fee_balance, pending);
        let fee_leaf_before = leaf_hash(&mut b, &fee_account.account[..5], fee_balance, fee_account.account[7]);
        let fee_leaf_after = leaf_hash(&mut b, &fee_account.account[..5], fee_balance_after, fee_account.account[7]);
        let always = b._true();
        root = update_leaf(&mut b, always, root, zero, fee_leaf_before, fee_leaf_after, &fee_account.siblings);

        let fee_total = pending.packed(&mut b);
        let queue_out = queue;
        StatementTarget {
            root_before,
            root_after: root,
            data_in,
            data_out: data,
            withdrawals_in,
            withdrawals_out: withdrawals,
            deposits_in,
            deposits_out: deposits,
            fee_total,
            queue_in,
            queue_out,
            chain_id,
        }
        .register(&mut b);
        let data = finish(b)?;
        Ok(Self { k, data, root_before, data_in, withdrawals_in, deposits_in, queue_in, chain_id, slots, fee_account })
    }

    /// Proves a segment; fails (ProvingFailed) if the witness breaks any rule.
    pub fn prove(&self, witness: &SegmentWitness, threads: usize) -> Result<Vec<u8>> {
        if witness.slots.len() > self.k {
            return Err(Error::ProvingFailed(format!("{} transactions do not fit a segment of {}", witness.slots.len(), self.k)));
        }
        let mut pw = PartialWitness::new();
        let fail = |e: anyhow::Error| Error::ProvingFailed(e.to_string());
        pw.set_hash_target(self.root_before, to_hash_out(&witness.root_before)?).map_err(fail)?;
        pw.set_hash_target(self.data_in, to_hash_out(&witness.data_in)?).map_err(fail)?;
        pw.set_hash_target(self.withdrawals_in, to_hash_out(&witness.withdrawals_in)?).map_err(fail)?;
        pw.set_hash_target(self.deposits_in, to_hash_out(&witness.deposits_in)?).map_err(fail)?;
        pw.set_target(self.queue_in, to_field(witness.queue_in)?).map_err(fail)?;
        pw.set_target(self.chain_id, to_field(witness.chain_id)?).map_err(fail)?;
        let noop = SlotWitness::noop();
        for (i, targets) in self.slots.iter().enumerate() {
            let slot = witness.slots.get(i).unwrap_or(&noop);
            let kind = slot.kind;
            pw.set_bool_target(targets.is_transfer, kind == SlotKind::Transfer).map_err(fail)?;
            pw.set_bool_target(targets.is_withdraw, kind == SlotKind::Withdraw).map_err(fail)?;
            pw.set_bool_target(targets.is_credit, kind == SlotKind::DepositCredit).map_err(fail)?;
            pw.set_bool_target(targets.is_refund, kind == SlotKind::DepositRefund).map_err(fail)?;
            for (t, v) in targets.elements.iter().zip(slot.elements) {
                pw.set_target(*t, to_field(v)?).map_err(fail)?;
            }
            set_account(&mut pw, &targets.a, &slot.a)?;
            set_account(&mut pw, &targets.b, &slot.b)?;
        }
        set_account(&mut pw, &self.fee_account, &witness.fee_account)?;
        prove_with_threads(&self.data, pw, threads)
    }
}

fn set_account(pw: &mut PartialWitness<F>, targets: &AccountTargets, witness: &AccountWitness) -> Result<()> {
    let fail = |e: anyhow::Error| Error::ProvingFailed(e.to_string());
    if witness.siblings.len() != TREE_DEPTH {
        return Err(Error::WrongLength { expected: TREE_DEPTH, got: witness.siblings.len() });
    }
    pw.set_bool_target(targets.empty, witness.empty).map_err(fail)?;
    for (t, v) in targets.account.iter().zip(witness.account) {
        pw.set_target(*t, to_field(v)?).map_err(fail)?;
    }
    for (t, s) in targets.siblings.iter().zip(&witness.siblings) {
        pw.set_hash_target(*t, to_hash_out(s)?).map_err(fail)?;
    }
    Ok(())
}

/// A tree holding only the fee account, and the witness of a segment with no transaction.
#[cfg(test)]
pub(crate) fn empty_segment_witness() -> (crate::smt::SparseMerkleTree, SegmentWitness) {
    let account = [1, 2, 3, 4, 5, 7, 0, 0];
    let mut tree = crate::smt::SparseMerkleTree::new(TREE_DEPTH as u32).unwrap();
    tree.update(&[(0, crate::hash::hash(&account).unwrap())]).unwrap();
    let witness = SegmentWitness {
        root_before: tree.root(),
        data_in: [0; 4],
        withdrawals_in: [0; 4],
        deposits_in: [0; 4],
        slots: vec![],
        fee_account: AccountWitness { empty: false, account, siblings: tree.proof(0).unwrap() },
        queue_in: 0,
        chain_id: 7,
    };
    (tree, witness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuits::statement::Statement;
    use crate::circuits::verify_bytes;


    #[test]
    fn empty_segment_proves_and_keeps_the_root() {
        let start = std::time::Instant::now();
        let circuit = SegmentCircuit::build(8).unwrap();
        eprintln!("build k=8: {:?}, degree 2^{}", start.elapsed(), circuit.data.common.degree_bits());
        let (tree, witness) = empty_segment_witness();
        let start = std::time::Instant::now();
        let proof = circuit.prove(&witness, 0).unwrap();
        eprintln!("prove k=8: {:?}", start.elapsed());
        let statement = Statement::from_public_inputs(&verify_bytes(&circuit.data, &proof).unwrap()).unwrap();
        assert_eq!(statement.root_before, tree.root());
        assert_eq!(statement.root_after, tree.root());
        assert_eq!(statement.fee_total, 0);
    }

    /// A segment crediting one deposit (queue index 0) into empty slot 1, and the deposit's posted bytes.
    fn deposit_segment(l1: [u8; 20]) -> (SegmentWitness, Vec<u8>) {
        let (mut tree, mut witness) = empty_segment_witness();
        // A valid key (the circuit credits only those).
        let (_, public) = crate::sig::keygen(Some(&[7; 32])).unwrap();
        let key: [u64; 5] = core::array::from_fn(|i| u64::from_le_bytes(public[8 * i..8 * i + 8].try_into().unwrap()));
        let amount: u64 = 5 << 32 | 9;
        let mut e = [0u64; TX_ELEMENTS];
        e[el::TYPE] = 1;
        e[el::A] = 1;
        (e[el::AMOUNT], e[el::AMOUNT + 1]) = (amount & 0xffff_ffff, amount >> 32);
        for (i, limb) in key.iter().enumerate() {
            (e[el::KEY + 2 * i], e[el::KEY + 2 * i + 1]) = (limb & 0xffff_ffff, limb >> 32);
        }
        for (i, chunk) in l1.chunks(7).enumerate() {
            e[el::L1 + i] = chunk.iter().rev().fold(0, |acc, &b| acc << 8 | u64::from(b));
        }
        let a = AccountWitness { empty: true, account: [0; ACCOUNT_FIELDS], siblings: tree.proof(1).unwrap() };
        witness.slots.push(SlotWitness { kind: SlotKind::DepositCredit, elements: e, a, b: AccountWitness::unused() });
        let leaf = crate::hash::hash(&[key[0], key[1], key[2], key[3], key[4], amount & 0xffff_ffff, amount >> 32, 0]).unwrap();
        tree.update(&[(1, leaf)]).unwrap();
        witness.fee_account.siblings = tree.proof(0).unwrap();
        // zkpipe.spec.encode_tx: tag u32 | queue u64 | recipient u32 | key | amount u64 | L1 sender | 12 zeros.
        let mut bytes = [1u32.to_le_bytes(), [0; 4], [0; 4], 1u32.to_le_bytes()].concat();
        bytes.extend(key.iter().flat_map(|l| l.to_le_bytes()));
        bytes.extend(amount.to_le_bytes());
        bytes.extend(l1);
        bytes.extend([0; 12]);
        (witness, bytes)
    }

    #[test]
    fn a_slot_chains_its_posted_bytes_into_the_data_chain() {
        let circuit = SegmentCircuit::build(8).unwrap();
        let l1: [u8; 20] = core::array::from_fn(|i| 0xa0 + i as u8);
        let (witness, bytes) = deposit_segment(l1);
        assert_eq!(bytes.len(), 96);
        let proof = circuit.prove(&witness, 0).unwrap();
        let statement = Statement::from_public_inputs(&verify_bytes(&circuit.data, &proof).unwrap()).unwrap();
        assert_eq!(statement.data_in, witness.data_in);
        assert_eq!(statement.data_out, datachain::chain(&witness.data_in, &bytes).unwrap());
    }

    #[test]
    fn wrong_fee_account_path_cannot_be_proven() {
        let circuit = SegmentCircuit::build(8).unwrap();
        let (_, mut witness) = empty_segment_witness();
        witness.fee_account.siblings[5][0] += 1;
        assert!(circuit.prove(&witness, 0).is_err());
    }
}
