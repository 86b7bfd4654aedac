//! The engine's account state: execution (sequential or Block-STM), the in-order fold that applies
//! each transaction's effects with the deferred credit checks, fee crediting, and the state root:
//! the caller's account tree brought up to date from the leaves touched since the last root (so one
//! tree serves the engine and the spec's `State`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use super::{blockstm, execute_tx, Account, Effects, Key, Outcome, Tx, TxCode, View, Write, FEE_ACCOUNT};
use crate::hash::{self, Digest};
use crate::sig;
use crate::smt::SparseMerkleTree;
use crate::{Error, Result};

/// Fewer transactions than this run sequentially: spawning work would cost more than it saves.
pub const MIN_PARALLEL_TXS: usize = 64;

/// How to execute a chunk of transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One thread, one transaction after another: the reference.
    Sequential,
    /// Signatures verified ahead on every thread, then Block-STM (or sequential when it cannot pay).
    Parallel { threads: usize },
}

/// A rayon pool per thread count, built once (0 means one thread per core).
pub fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().expect("pool registry");
    if let Some(p) = pools.get(&threads) {
        return Ok(p.clone());
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("zkpipe-exec-{i}"))
        .build()
        .map_err(|e| Error::ExecutionFailed(e.to_string()))?;
    let built = Arc::new(built);
    pools.insert(threads, built.clone());
    Ok(built)
}

/// The leaf of an account: Poseidon(key as 5 u64 limbs, balance as 2 u32 limbs, nonce), as the spec's
/// `compute_account_leaf`.
pub fn account_leaf(account: &Account) -> Result<Digest> {
    let mut elements = [0u64; 8];
    for (i, slot) in elements.iter_mut().take(5).enumerate() {
        *slot = u64::from_le_bytes(account.key[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    }
    elements[5] = account.balance & 0xFFFF_FFFF;
    elements[6] = account.balance >> 32;
    elements[7] = account.nonce as u64;
    hash::hash(&elements)
}

/// Accounts and sequencing counters; the tree they hash into is the caller's ([`ExecState::root`]).
#[derive(Clone, Debug)]
pub struct ExecState {
    depth: u32,
    accounts: HashMap<u64, Account>,
    next_deposit_index: u64,
    pending_fees: u64,
    unhashed: HashSet<u64>,
    touched: HashSet<u64>,
}

/// Reads straight from the state (sequential execution never waits).
struct Direct<'a>(&'a ExecState);

impl View for Direct<'_> {
    fn account(&mut self, index: u64) -> std::result::Result<Option<Account>, usize> {
        Ok(self.0.accounts.get(&index).copied())
    }
    fn exists(&mut self, index: u64) -> std::result::Result<bool, usize> {
        Ok(self.0.accounts.contains_key(&index))
    }
    fn next_deposit_index(&mut self) -> std::result::Result<u64, usize> {
        Ok(self.0.next_deposit_index)
    }
}

impl ExecState {
    /// A state holding `accounts`, whose leaves the tree already holds (none is pending a hash).
    pub fn new(depth: u32, accounts: Vec<(u64, Account)>, next_deposit_index: u64, pending_fees: u64) -> Result<Self> {
        if !(1..=64).contains(&depth) {
            return Err(Error::BadDepth(depth));
        }
        let mut state = ExecState {
            depth,
            accounts: HashMap::with_capacity(accounts.len()),
            next_deposit_index,
            pending_fees,
            unhashed: HashSet::new(),
            touched: HashSet::new(),
        };
        for (index, account) in accounts {
            if depth < 64 && index >> depth != 0 {
                return Err(Error::IndexOutOfRange { index, depth });
            }
            state.accounts.insert(index, account);
        }
        Ok(state)
    }

    /// The tree's depth.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The account at `index` (the fee account excludes the pending fees).
    pub fn account(&self, index: u64) -> Option<Account> {
        self.accounts.get(&index).copied()
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the state holds no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The deposit-queue index the next deposit must have.
    pub fn next_deposit_index(&self) -> u64 {
        self.next_deposit_index
    }

    /// Fees collected and not yet credited to the fee account.
    pub fn pending_fees(&self) -> u64 {
        self.pending_fees
    }

    /// Overwrites an account (for state changes made outside the engine, e.g. by the spec).
    pub fn set_account(&mut self, index: u64, account: Account) -> Result<()> {
        if self.depth < 64 && index >> self.depth != 0 {
            return Err(Error::IndexOutOfRange { index, depth: self.depth });
        }
        self.write(index, account);
        Ok(())
    }

    /// Overwrites the counters (for state changes made outside the engine).
    pub fn set_counters(&mut self, next_deposit_index: u64, pending_fees: u64) {
        self.next_deposit_index = next_deposit_index;
        self.pending_fees = pending_fees;
    }

    /// Accounts changed since the last call, sorted by index.
    pub fn take_touched(&mut self) -> Vec<(u64, Account)> {
        let mut touched: Vec<(u64, Account)> =
            self.touched.drain().filter_map(|i| self.accounts.get(&i).map(|a| (i, *a))).collect();
        touched.sort_unstable_by_key(|(i, _)| *i);
        touched
    }

    fn write(&mut self, index: u64, account: Account) {
        self.accounts.insert(index, account);
        self.unhashed.insert(index);
        self.touched.insert(index);
    }

    /// Applies one transaction's effects in order, deciding the deferred checks (the recipient's
    /// and the fee account's overflow); returns the transaction's final outcome.
    pub fn fold(&mut self, effects: &Effects) -> Outcome {
        if let Outcome::Invalid(_) = effects.outcome {
            return effects.outcome;
        }
        // Verify the recipient's balance stays within u64 (the spec checks it before the fee)
        for write in &effects.writes {
            if let Write::Credit(index, amount) = write {
                let balance = self.accounts.get(index).map_or(0, |a| a.balance);
                if balance.checked_add(*amount).is_none() {
                    return Outcome::Invalid(TxCode::BalanceOverflow);
                }
            }
        }
        // Verify the fee can be credited at the end without overflow
        let fee_balance = self.accounts.get(&FEE_ACCOUNT).map_or(0, |a| a.balance) as u128;
        if effects.fee > 0 && fee_balance + self.pending_fees as u128 + effects.fee as u128 > u64::MAX as u128 {
            return Outcome::Invalid(TxCode::FeeOverflow);
        }
        for write in &effects.writes {
            match *write {
                Write::Account(index, account) => self.write(index, account),
                Write::Credit(index, amount) => {
                    let mut account = self.accounts[&index];
                    account.balance += amount;
                    self.write(index, account);
                }
                Write::DepositIndex(next) => self.next_deposit_index = next,
            }
        }
        self.pending_fees += effects.fee;
        effects.outcome
    }

    /// Applies `txs` in order; one outcome per transaction, equal whatever the mode.
    pub fn execute(&mut self, mut txs: Vec<Tx>, mode: Mode) -> Result<Vec<Outcome>> {
        let threads = match mode {
            Mode::Sequential => return Ok(self.execute_sequential(&txs)),
            Mode::Parallel { threads } => threads,
        };
        let pool = pool(threads)?;
        self.verify_ahead(&mut txs, &pool);
        let mut outcomes = Vec::with_capacity(txs.len());
        let mut start = 0;
        while start < txs.len() {
            let rest = &txs[start..];
            if !worth_parallel(rest, pool.current_num_threads()) {
                outcomes.extend(self.execute_sequential(rest));
                break;
            }
            let effects = blockstm::run(self, rest, &pool)?;
            let mut redo = None;
            for (k, e) in effects.iter().enumerate() {
                let outcome = self.fold(e);
                outcomes.push(outcome);
                if outcome != e.outcome {
                    // A lazy credit overflowed when materialised: everything after it ran on a state
                    // that included it, so re-execute from the next transaction.
                    redo = Some(start + k + 1);
                    break;
                }
            }
            match redo {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(outcomes)
    }

    fn execute_sequential(&mut self, txs: &[Tx]) -> Vec<Outcome> {
        txs.iter()
            .map(|tx| {
                let effects = execute_tx(tx, self.depth, &mut Direct(self)).expect("direct reads never wait");
                self.fold(&effects)
            })
            .collect()
    }

    /// Verifies user transactions' signatures under their senders' current keys, on every thread,
    /// as one call of `sig::batch_verify` (the hook where batch verification plugs in).
    fn verify_ahead(&self, txs: &mut [Tx], pool: &rayon::ThreadPool) {
        let mut pending: Vec<(usize, Key)> = Vec::new();
        let mut items: Vec<(Vec<u8>, Digest, Vec<u8>)> = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            let Some(key) = tx.sender().and_then(|s| self.accounts.get(&s)).map(|a| a.key) else { continue };
            let Some(auth) = tx.auth() else { continue };
            if auth.checked.as_ref().is_some_and(|(k, _)| *k == key) {
                continue;
            }
            items.push((key.to_vec(), auth.message, auth.signature.clone()));
            pending.push((i, key));
        }
        if items.is_empty() {
            return;
        }
        let verdicts = pool.install(|| sig::batch_verify(&items));
        for ((i, key), ok) in pending.into_iter().zip(verdicts) {
            if let Some(auth) = txs[i].auth_mut() {
                auth.checked = Some((key, ok));
            }
        }
    }

    /// Credits the pending fees to the fee account (the last step of a batch).
    pub fn credit_fees(&mut self) -> std::result::Result<(), TxCode> {
        let Some(mut fee_account) = self.accounts.get(&FEE_ACCOUNT).copied() else {
            return Err(TxCode::UnknownAccount);
        };
        // Verify the credit fits (guaranteed by the FEE_OVERFLOW checks)
        fee_account.balance = fee_account.balance.checked_add(self.pending_fees).ok_or(TxCode::FeeOverflow)?;
        self.write(FEE_ACCOUNT, fee_account);
        self.pending_fees = 0;
        Ok(())
    }

    /// The state root: the leaves changed since the last call are hashed into `tree` (which must
    /// hold this state's other leaves), in parallel on `threads` (1 = on the calling thread).
    pub fn root(&mut self, tree: &mut SparseMerkleTree, threads: usize) -> Result<Digest> {
        if tree.depth() != self.depth {
            return Err(Error::BadDepth(tree.depth()));
        }
        let mut dirty: Vec<u64> = self.unhashed.drain().collect();
        dirty.sort_unstable();
        let accounts = &self.accounts;
        let leaf = |i: &u64| account_leaf(&accounts[i]).map(|l| (*i, l));
        if threads == 1 {
            let leaves = dirty.iter().map(leaf).collect::<Result<Vec<_>>>()?;
            return tree.update(&leaves);
        }
        let pool = pool(threads)?;
        let leaves = pool.install(|| dirty.par_iter().with_min_len(16).map(leaf).collect::<Result<Vec<_>>>())?;
        pool.install(|| tree.update_par(&leaves))
    }

    /// Read access for Block-STM's base reads.
    pub(crate) fn base_account(&self, index: u64) -> Option<Account> {
        self.accounts.get(&index).copied()
    }
}

/// Whether Block-STM can pay for `txs`: more than one thread; enough *long* transactions (a user
/// transaction whose signature was not verified ahead, or a deposit, which validates its key): once
/// signatures are verified a transaction is a few map reads (~1 µs), cheaper than the scheduler's
/// and the multi-version memory's bookkeeping (measured 3-5x slower than sequential on 2 threads);
/// and no hot sender (one account sending most of the chunk makes it a chain, where speculation
/// only re-executes).
fn worth_parallel(txs: &[Tx], threads: usize) -> bool {
    if threads < 2 || txs.len() < MIN_PARALLEL_TXS {
        return false;
    }
    let long = txs.iter().filter(|tx| matches!(tx, Tx::Deposit { .. }) || tx.auth().is_some_and(|a| a.checked.is_none()));
    if long.take(MIN_PARALLEL_TXS).count() < MIN_PARALLEL_TXS {
        return false;
    }
    let mut per_sender: HashMap<u64, usize> = HashMap::new();
    let mut hottest = 0;
    for sender in txs.iter().filter_map(Tx::sender) {
        let count = per_sender.entry(sender).or_default();
        *count += 1;
        hottest = hottest.max(*count);
    }
    hottest * 2 <= txs.len()
}

#[cfg(test)]
mod tests {
    use super::super::Auth;
    use super::*;

    fn transfers(n: usize, senders: u64, checked: bool) -> Vec<Tx> {
        (0..n as u64)
            .map(|i| {
                let checked = checked.then_some(([7u8; 40], true));
                let auth = Auth { message: [i, 0, 0, 0], signature: vec![0; 80], checked };
                Tx::Transfer { sender: 1 + i % senders, recipient: 500 + i, amount: 1, fee: 1, nonce: 0, auth }
            })
            .collect()
    }

    #[test]
    fn block_stm_runs_only_where_executions_are_long_and_senders_many() {
        assert!(worth_parallel(&transfers(200, 100, false), 2));
        assert!(!worth_parallel(&transfers(200, 100, false), 1), "one thread");
        assert!(!worth_parallel(&transfers(MIN_PARALLEL_TXS - 1, 100, false), 2), "too few");
        assert!(!worth_parallel(&transfers(200, 1, false), 2), "a hot sender");
        // Signatures verified ahead: what is left is cheaper than Block-STM's bookkeeping.
        assert!(!worth_parallel(&transfers(200, 100, true), 2), "verified ahead");
        let mut mixed = transfers(200, 100, true);
        mixed.extend(transfers(MIN_PARALLEL_TXS, 100, false));
        assert!(worth_parallel(&mixed, 2), "enough left to verify in execution");
    }
}
