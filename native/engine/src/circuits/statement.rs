//! The public statement every segment and aggregate proof exposes, defined once.
//!
//! Layout (36 field elements, in this order):
//!
//! | offset | field             | meaning                                               |
//! |--------|-------------------|-------------------------------------------------------|
//! | 0      | `root_before`     | state root before the first transaction               |
//! | 4      | `root_after`      | state root after the last transaction (fees credited) |
//! | 8      | `data_in`         | data-commitment chain before                          |
//! | 12     | `data_out`        | data-commitment chain after                           |
//! | 16     | `withdrawals_in`  | withdrawals-commitment chain before                   |
//! | 20     | `withdrawals_out` | withdrawals-commitment chain after                    |
//! | 24     | `deposits_in`     | deposit-queue chain before                            |
//! | 28     | `deposits_out`    | deposit-queue chain after                             |
//! | 32     | `fee_total`       | fees credited to the operator, < 2^62                 |
//! | 33     | `queue_in`        | L1 priority-queue entries consumed before             |
//! | 34     | `queue_out`       | L1 priority-queue entries consumed after              |
//! | 35     | `chain_id`        | the deployment's chain id                             |
//!
//! Aggregating a left and a right statement requires every "after" of the left
//! to equal the matching "before" of the right and both to name the same chain id,
//! and yields the left's befores, the right's afters and the sum of the fees.
//! The queue counts let L1 check, from its own storage, that the proof consumed
//! exactly its queue entries `queue_in..queue_out` (each is < 2^63).

use plonky2::hash::hash_types::HashOutTarget;
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::{D, F};
use crate::hash::Digest;
use crate::{Error, Result};

/// Number of field elements in a statement.
pub const STATEMENT_LEN: usize = 36;
/// Bits a fee total may use: sums of two stay below p, so they cannot wrap.
pub const FEE_TOTAL_BITS: usize = 62;

/// The statement as canonical u64s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement {
    pub root_before: Digest,
    pub root_after: Digest,
    pub data_in: Digest,
    pub data_out: Digest,
    pub withdrawals_in: Digest,
    pub withdrawals_out: Digest,
    pub deposits_in: Digest,
    pub deposits_out: Digest,
    pub fee_total: u64,
    pub queue_in: u64,
    pub queue_out: u64,
    pub chain_id: u64,
}

fn digest_at(values: &[u64], offset: usize) -> Digest {
    [values[offset], values[offset + 1], values[offset + 2], values[offset + 3]]
}

impl Statement {
    /// Reads a statement from the first STATEMENT_LEN public inputs.
    pub fn from_public_inputs(values: &[u64]) -> Result<Self> {
        if values.len() < STATEMENT_LEN {
            return Err(Error::InvalidProof(format!("expected at least {STATEMENT_LEN} public inputs")));
        }
        Ok(Self {
            root_before: digest_at(values, 0),
            root_after: digest_at(values, 4),
            data_in: digest_at(values, 8),
            data_out: digest_at(values, 12),
            withdrawals_in: digest_at(values, 16),
            withdrawals_out: digest_at(values, 20),
            deposits_in: digest_at(values, 24),
            deposits_out: digest_at(values, 28),
            fee_total: values[32],
            queue_in: values[33],
            queue_out: values[34],
            chain_id: values[35],
        })
    }

    /// The field elements in layout order.
    pub fn to_vec(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(STATEMENT_LEN);
        for d in [
            self.root_before,
            self.root_after,
            self.data_in,
            self.data_out,
            self.withdrawals_in,
            self.withdrawals_out,
            self.deposits_in,
            self.deposits_out,
        ] {
            out.extend_from_slice(&d);
        }
        out.extend([self.fee_total, self.queue_in, self.queue_out, self.chain_id]);
        out
    }
}

#[cfg(test)]
impl Statement {
    /// A test statement for step `step` of a chain: every "after" equals step `step + 1`'s "before",
    /// and each step consumes `queue_per_step` queue entries.
    pub(crate) fn sample(step: u64, queue_per_step: u64) -> Self {
        let d = |x: u64| [x, x + 1, x + 2, x + 3];
        Statement {
            root_before: d(step * 100),
            root_after: d((step + 1) * 100),
            data_in: d(step * 100 + 10),
            data_out: d((step + 1) * 100 + 10),
            withdrawals_in: d(step * 100 + 20),
            withdrawals_out: d((step + 1) * 100 + 20),
            deposits_in: d(step * 100 + 30),
            deposits_out: d((step + 1) * 100 + 30),
            fee_total: step + 1,
            queue_in: step * queue_per_step,
            queue_out: (step + 1) * queue_per_step,
            chain_id: 7,
        }
    }
}

/// The statement as circuit targets.
#[derive(Clone, Copy, Debug)]
pub struct StatementTarget {
    pub root_before: HashOutTarget,
    pub root_after: HashOutTarget,
    pub data_in: HashOutTarget,
    pub data_out: HashOutTarget,
    pub withdrawals_in: HashOutTarget,
    pub withdrawals_out: HashOutTarget,
    pub deposits_in: HashOutTarget,
    pub deposits_out: HashOutTarget,
    pub fee_total: Target,
    pub queue_in: Target,
    pub queue_out: Target,
    pub chain_id: Target,
}

fn hash_at(targets: &[Target], offset: usize) -> HashOutTarget {
    HashOutTarget { elements: [targets[offset], targets[offset + 1], targets[offset + 2], targets[offset + 3]] }
}

impl StatementTarget {
    /// Reads the statement from the first STATEMENT_LEN targets of a proof's public inputs.
    pub fn from_targets(targets: &[Target]) -> Self {
        assert!(targets.len() >= STATEMENT_LEN, "public inputs too short for a statement");
        Self {
            root_before: hash_at(targets, 0),
            root_after: hash_at(targets, 4),
            data_in: hash_at(targets, 8),
            data_out: hash_at(targets, 12),
            withdrawals_in: hash_at(targets, 16),
            withdrawals_out: hash_at(targets, 20),
            deposits_in: hash_at(targets, 24),
            deposits_out: hash_at(targets, 28),
            fee_total: targets[32],
            queue_in: targets[33],
            queue_out: targets[34],
            chain_id: targets[35],
        }
    }

    /// The targets in layout order.
    pub fn to_targets(&self) -> Vec<Target> {
        let mut out = Vec::with_capacity(STATEMENT_LEN);
        for h in [
            self.root_before,
            self.root_after,
            self.data_in,
            self.data_out,
            self.withdrawals_in,
            self.withdrawals_out,
            self.deposits_in,
            self.deposits_out,
        ] {
            out.extend_from_slice(&h.elements);
        }
        out.extend([self.fee_total, self.queue_in, self.queue_out, self.chain_id]);
        out
    }

    /// Registers the statement as the circuit's first public inputs.
    pub fn register(&self, builder: &mut CircuitBuilder<F, D>) {
        builder.register_public_inputs(&self.to_targets());
    }

    /// Constrains `left` to end where `right` starts, and returns their combination.
    pub fn combine(builder: &mut CircuitBuilder<F, D>, left: &Self, right: &Self) -> Self {
        builder.connect_hashes(left.root_after, right.root_before);
        builder.connect_hashes(left.data_out, right.data_in);
        builder.connect_hashes(left.withdrawals_out, right.withdrawals_in);
        builder.connect_hashes(left.deposits_out, right.deposits_in);
        builder.connect(left.queue_out, right.queue_in);
        builder.connect(left.chain_id, right.chain_id);
        let fee_total = builder.add(left.fee_total, right.fee_total);
        builder.range_check(fee_total, FEE_TOTAL_BITS);
        Self {
            root_before: left.root_before,
            root_after: right.root_after,
            data_in: left.data_in,
            data_out: right.data_out,
            withdrawals_in: left.withdrawals_in,
            withdrawals_out: right.withdrawals_out,
            deposits_in: left.deposits_in,
            deposits_out: right.deposits_out,
            fee_total,
            queue_in: left.queue_in,
            queue_out: right.queue_out,
            chain_id: left.chain_id,
        }
    }
}

/// Number of field elements in a batch statement.
pub const BATCH_STATEMENT_LEN: usize = 44;

/// What a join of whole batches shows, and what the final proof exposes to L1 (ADR 29).
///
/// Layout (44 field elements, in this order):
///
/// | offset | field             | meaning                                                       |
/// |--------|-------------------|---------------------------------------------------------------|
/// | 0      | `root_before`     | state root before the first batch                             |
/// | 4      | `root_after`      | state root after the last batch                               |
/// | 8      | `acc_in`          | L1's accumulated input hash before the first batch, 8 BE u32 words |
/// | 16     | `acc_out`         | L1's accumulated input hash after the last batch, 8 BE u32 words   |
/// | 24     | `withdrawals_in`  | withdrawals-commitment chain before                           |
/// | 28     | `withdrawals_out` | withdrawals-commitment chain after                            |
/// | 32     | `deposits_in`     | deposit-queue chain before                                    |
/// | 36     | `deposits_out`    | deposit-queue chain after                                     |
/// | 40     | `fee_total`       | fees credited to the operator, < 2^62                         |
/// | 41     | `queue_in`        | L1 priority-queue entries consumed before                     |
/// | 42     | `queue_out`       | L1 priority-queue entries consumed after                      |
/// | 43     | `chain_id`        | the deployment's chain id                                     |
///
/// L1 computes every compared field from its storage: the consolidated root, `accInputHash` of the
/// last verified and of the final batch, its chain id and queue counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchStatement {
    pub root_before: Digest,
    pub root_after: Digest,
    pub acc_in: [u64; 8],
    pub acc_out: [u64; 8],
    pub withdrawals_in: Digest,
    pub withdrawals_out: Digest,
    pub deposits_in: Digest,
    pub deposits_out: Digest,
    pub fee_total: u64,
    pub queue_in: u64,
    pub queue_out: u64,
    pub chain_id: u64,
}

impl BatchStatement {
    /// Reads a batch statement from the first BATCH_STATEMENT_LEN public inputs.
    pub fn from_public_inputs(values: &[u64]) -> Result<Self> {
        if values.len() < BATCH_STATEMENT_LEN {
            return Err(Error::InvalidProof(format!("expected at least {BATCH_STATEMENT_LEN} public inputs")));
        }
        let words = |at: usize| -> [u64; 8] { core::array::from_fn(|i| values[at + i]) };
        Ok(Self {
            root_before: digest_at(values, 0),
            root_after: digest_at(values, 4),
            acc_in: words(8),
            acc_out: words(16),
            withdrawals_in: digest_at(values, 24),
            withdrawals_out: digest_at(values, 28),
            deposits_in: digest_at(values, 32),
            deposits_out: digest_at(values, 36),
            fee_total: values[40],
            queue_in: values[41],
            queue_out: values[42],
            chain_id: values[43],
        })
    }

    /// The field elements in layout order.
    pub fn to_vec(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(BATCH_STATEMENT_LEN);
        out.extend_from_slice(&self.root_before);
        out.extend_from_slice(&self.root_after);
        out.extend_from_slice(&self.acc_in);
        out.extend_from_slice(&self.acc_out);
        for d in [self.withdrawals_in, self.withdrawals_out, self.deposits_in, self.deposits_out] {
            out.extend_from_slice(&d);
        }
        out.extend([self.fee_total, self.queue_in, self.queue_out, self.chain_id]);
        out
    }
}

/// The batch statement as circuit targets.
#[derive(Clone, Debug)]
pub struct BatchStatementTarget {
    pub root_before: HashOutTarget,
    pub root_after: HashOutTarget,
    pub acc_in: Vec<Target>,
    pub acc_out: Vec<Target>,
    pub withdrawals_in: HashOutTarget,
    pub withdrawals_out: HashOutTarget,
    pub deposits_in: HashOutTarget,
    pub deposits_out: HashOutTarget,
    pub fee_total: Target,
    pub queue_in: Target,
    pub queue_out: Target,
    pub chain_id: Target,
}

impl BatchStatementTarget {
    /// Reads the statement from the first BATCH_STATEMENT_LEN targets.
    pub fn from_targets(targets: &[Target]) -> Self {
        assert!(targets.len() >= BATCH_STATEMENT_LEN, "public inputs too short for a batch statement");
        Self {
            root_before: hash_at(targets, 0),
            root_after: hash_at(targets, 4),
            acc_in: targets[8..16].to_vec(),
            acc_out: targets[16..24].to_vec(),
            withdrawals_in: hash_at(targets, 24),
            withdrawals_out: hash_at(targets, 28),
            deposits_in: hash_at(targets, 32),
            deposits_out: hash_at(targets, 36),
            fee_total: targets[40],
            queue_in: targets[41],
            queue_out: targets[42],
            chain_id: targets[43],
        }
    }

    /// The targets in layout order.
    pub fn to_targets(&self) -> Vec<Target> {
        let mut out = Vec::with_capacity(BATCH_STATEMENT_LEN);
        out.extend_from_slice(&self.root_before.elements);
        out.extend_from_slice(&self.root_after.elements);
        out.extend_from_slice(&self.acc_in);
        out.extend_from_slice(&self.acc_out);
        for h in [self.withdrawals_in, self.withdrawals_out, self.deposits_in, self.deposits_out] {
            out.extend_from_slice(&h.elements);
        }
        out.extend([self.fee_total, self.queue_in, self.queue_out, self.chain_id]);
        out
    }

    /// Constrains `left` to end where `right` starts (state, L1's hash, chains, queue; one chain
    /// id), and returns their combination.
    pub fn combine(builder: &mut CircuitBuilder<F, D>, left: &Self, right: &Self) -> Self {
        builder.connect_hashes(left.root_after, right.root_before);
        for (&l, &r) in left.acc_out.iter().zip(&right.acc_in) {
            builder.connect(l, r);
        }
        builder.connect_hashes(left.withdrawals_out, right.withdrawals_in);
        builder.connect_hashes(left.deposits_out, right.deposits_in);
        builder.connect(left.queue_out, right.queue_in);
        builder.connect(left.chain_id, right.chain_id);
        let fee_total = builder.add(left.fee_total, right.fee_total);
        builder.range_check(fee_total, FEE_TOTAL_BITS);
        Self {
            root_before: left.root_before,
            root_after: right.root_after,
            acc_in: left.acc_in.clone(),
            acc_out: right.acc_out.clone(),
            withdrawals_in: left.withdrawals_in,
            withdrawals_out: right.withdrawals_out,
            deposits_in: left.deposits_in,
            deposits_out: right.deposits_out,
            fee_total,
            queue_in: left.queue_in,
            queue_out: right.queue_out,
            chain_id: left.chain_id,
        }
    }
}
