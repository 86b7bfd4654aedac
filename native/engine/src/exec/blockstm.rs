//! Block-STM: optimistic parallel execution of an ordered chunk whose result equals sequential order.
//!
//! Every thread takes tasks from one scheduler: *execute* transaction j (incarnation i) against a
//! multi-version memory that, per account, holds what each earlier transaction wrote; or
//! *validate* j by re-reading what it read. A read that meets an *estimate* (a write of an aborted
//! incarnation) parks j until the writer re-executes; a validation that sees a changed value
//! aborts j, turns its writes into estimates and schedules it again. When no task is left, every
//! transaction's effects are those of the sequential order.
//!
//! Lazy updates: a transfer's credit to its recipient is stored as a delta, and a transfer only
//! asks whether its recipient *exists*; deltas do not change existence, so transfers into one hot
//! account do not conflict. A full read of an account (a sender) sums the deltas below it. The
//! credit's overflow check and the fee account's check are decided by the in-order fold
//! (`ExecState::fold`), which re-executes from a transaction whose credit overflows.
//!
//! Validation compares values, not versions: re-reading the same value means the same effects.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};

use super::state::ExecState;
use super::{execute_tx, Account, Effects, Tx, View, Write};
use crate::{Error, Result};

/// What one transaction left at one location.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Account(Account),
    Credit(u64),
    Counter(u64),
    /// Written by an aborted incarnation: a reader must wait for its re-execution. An estimate of
    /// a credit does not block a read of existence (credits live apart and never change it).
    Estimate,
}

/// What a read observed; validation reads again and compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Observed {
    Account(Option<Account>),
    Exists(bool),
    Counter(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Account,
    Exists,
    Counter,
}

impl Observed {
    fn kind(&self) -> Kind {
        match self {
            Observed::Account(_) => Kind::Account,
            Observed::Exists(_) => Kind::Exists,
            Observed::Counter(_) => Kind::Counter,
        }
    }
}

/// The location of the deposit-queue counter; accounts take the slots after it.
const COUNTER_SLOT: usize = 0;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The multi-version memory: per location, the entries of the transactions that wrote it.
struct Memory<'a> {
    base: &'a ExecState,
    slot_of: HashMap<u64, usize>,
    index_of: Vec<u64>,
    cells: Vec<Mutex<Cell>>,
}

/// One location: full writes (accounts, the counter) and credits, each keyed by transaction.
#[derive(Default)]
struct Cell {
    full: BTreeMap<usize, Entry>,
    credits: BTreeMap<usize, Entry>,
}

impl<'a> Memory<'a> {
    /// One location per account the chunk names (known from the transactions' fields), plus the counter.
    fn new(base: &'a ExecState, txs: &[Tx]) -> Self {
        let mut slot_of = HashMap::new();
        let mut index_of = vec![u64::MAX];
        let mut add = |index: u64| {
            slot_of.entry(index).or_insert_with(|| {
                index_of.push(index);
                index_of.len() - 1
            });
        };
        for tx in txs {
            match tx {
                Tx::Malformed => {}
                Tx::Deposit { recipient, .. } => add(*recipient),
                Tx::Transfer { sender, recipient, .. } => {
                    add(*sender);
                    add(*recipient);
                }
                Tx::Withdraw { sender, .. } => add(*sender),
            }
        }
        let cells = (0..index_of.len()).map(|_| Mutex::new(Cell::default())).collect();
        Memory { base, slot_of, index_of, cells }
    }

    /// What transaction `tx` sees at `slot`: the latest full write below it, plus the credits
    /// between that write and `tx` (an existence read needs no credits, so it stays O(log n) however
    /// many transfers pay into a hot account).
    fn read(&self, tx: usize, slot: usize, kind: Kind) -> std::result::Result<Observed, usize> {
        let cell = lock(&self.cells[slot]);
        let last = cell.full.range(..tx).next_back();
        let (from, base) = match last {
            Some((&writer, Entry::Estimate)) => return Err(writer),
            Some((_, Entry::Counter(v))) => return Ok(Observed::Counter(*v)),
            Some((_, Entry::Account(_))) if kind == Kind::Exists => return Ok(Observed::Exists(true)),
            Some((&writer, Entry::Account(a))) => (writer + 1, Some(*a)),
            Some((_, Entry::Credit(_))) => unreachable!("credits live in their own map"),
            None => {
                let index = self.index_of[slot];
                match kind {
                    Kind::Counter => return Ok(Observed::Counter(self.base.next_deposit_index())),
                    Kind::Exists => return Ok(Observed::Exists(self.base.base_account(index).is_some())),
                    Kind::Account => (0, self.base.base_account(index)),
                }
            }
        };
        let mut credit: u128 = 0;
        for (&writer, entry) in cell.credits.range(from..tx) {
            match entry {
                Entry::Credit(amount) => credit += *amount as u128,
                _ => return Err(writer),
            }
        }
        Ok(Observed::Account(base.map(|a| credited(a, credit))))
    }

    /// Stores an incarnation's writes, removing the previous incarnation's leftovers; whether it
    /// wrote a location the previous one did not (then every later transaction must revalidate).
    fn record(&self, tx: usize, effects: &Effects, previous: &mut Vec<usize>) -> bool {
        let mut slots = Vec::with_capacity(effects.writes.len());
        for write in &effects.writes {
            let (slot, entry) = match *write {
                Write::Account(index, account) => (self.slot_of[&index], Entry::Account(account)),
                Write::Credit(index, amount) => (self.slot_of[&index], Entry::Credit(amount)),
                Write::DepositIndex(next) => (COUNTER_SLOT, Entry::Counter(next)),
            };
            let mut cell = lock(&self.cells[slot]);
            match entry {
                Entry::Credit(_) => cell.credits.insert(tx, entry),
                _ => cell.full.insert(tx, entry),
            };
            slots.push(slot);
        }
        for old in previous.iter().filter(|s| !slots.contains(s)) {
            let mut cell = lock(&self.cells[*old]);
            cell.full.remove(&tx);
            cell.credits.remove(&tx);
        }
        let wrote_new = slots.iter().any(|s| !previous.contains(s));
        *previous = slots;
        wrote_new
    }

    fn mark_estimates(&self, tx: usize, slots: &[usize]) {
        for slot in slots {
            let mut cell = lock(&self.cells[*slot]);
            if let Some(entry) = cell.full.get_mut(&tx) {
                *entry = Entry::Estimate;
            }
            if let Some(entry) = cell.credits.get_mut(&tx) {
                *entry = Entry::Estimate;
            }
        }
    }

    fn still_valid(&self, tx: usize, reads: &[(usize, Observed)]) -> bool {
        reads.iter().all(|(slot, seen)| self.read(tx, *slot, seen.kind()) == Ok(*seen))
    }
}

/// An account with credits applied (saturating: an overflowing sum is caught by the fold, which
/// then re-executes everything after the overflowing transaction).
fn credited(account: Account, credit: u128) -> Account {
    let balance = (account.balance as u128 + credit).min(u64::MAX as u128) as u64;
    Account { balance, ..account }
}

/// One transaction's view of the memory, recording what it read.
struct TxView<'m, 'a> {
    memory: &'m Memory<'a>,
    tx: usize,
    reads: Vec<(usize, Observed)>,
}

impl TxView<'_, '_> {
    fn read(&mut self, slot: usize, kind: Kind) -> std::result::Result<Observed, usize> {
        let seen = self.memory.read(self.tx, slot, kind)?;
        self.reads.push((slot, seen));
        Ok(seen)
    }

    fn slot(&self, index: u64) -> usize {
        self.memory.slot_of[&index]
    }
}

impl View for TxView<'_, '_> {
    fn account(&mut self, index: u64) -> std::result::Result<Option<Account>, usize> {
        match self.read(self.slot(index), Kind::Account)? {
            Observed::Account(a) => Ok(a),
            _ => unreachable!("an account read observes an account"),
        }
    }
    fn exists(&mut self, index: u64) -> std::result::Result<bool, usize> {
        match self.read(self.slot(index), Kind::Exists)? {
            Observed::Exists(e) => Ok(e),
            _ => unreachable!("an existence read observes existence"),
        }
    }
    fn next_deposit_index(&mut self) -> std::result::Result<u64, usize> {
        match self.read(COUNTER_SLOT, Kind::Counter)? {
            Observed::Counter(v) => Ok(v),
            _ => unreachable!("a counter read observes the counter"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    ReadyToExecute,
    Executing,
    Executed,
    Aborting,
}

#[derive(Clone, Copy, Debug)]
enum Task {
    Execute(usize, usize),
    Validate(usize, usize),
}

/// The collaborative scheduler: two indices sweep the chunk (next to execute, next to validate);
/// aborts and re-executions pull them back.
struct Scheduler {
    n: usize,
    execution_idx: AtomicUsize,
    validation_idx: AtomicUsize,
    decrease_cnt: AtomicUsize,
    num_active: AtomicUsize,
    done: AtomicBool,
    /// (incarnation, status) per transaction.
    status: Vec<Mutex<(usize, Status)>>,
    /// Transactions waiting for each transaction's next execution.
    waiting: Vec<Mutex<Vec<usize>>>,
}

impl Scheduler {
    fn new(n: usize) -> Self {
        Scheduler {
            n,
            execution_idx: AtomicUsize::new(0),
            validation_idx: AtomicUsize::new(0),
            decrease_cnt: AtomicUsize::new(0),
            num_active: AtomicUsize::new(0),
            done: AtomicBool::new(n == 0),
            status: (0..n).map(|_| Mutex::new((0, Status::ReadyToExecute))).collect(),
            waiting: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    fn done(&self) -> bool {
        self.done.load(SeqCst)
    }

    fn check_done(&self) {
        let observed = self.decrease_cnt.load(SeqCst);
        if self.execution_idx.load(SeqCst).min(self.validation_idx.load(SeqCst)) >= self.n
            && self.num_active.load(SeqCst) == 0
            && observed == self.decrease_cnt.load(SeqCst)
        {
            self.done.store(true, SeqCst);
        }
    }

    fn decrease_execution_idx(&self, target: usize) {
        self.execution_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn decrease_validation_idx(&self, target: usize) {
        self.validation_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    /// Claims transaction j for execution if it is ready (does not touch the active count).
    fn try_incarnate(&self, j: usize) -> Option<Task> {
        if j >= self.n {
            return None;
        }
        let mut s = lock(&self.status[j]);
        if s.1 == Status::ReadyToExecute {
            s.1 = Status::Executing;
            return Some(Task::Execute(j, s.0));
        }
        None
    }

    fn next_to_execute(&self) -> Option<Task> {
        if self.execution_idx.load(SeqCst) >= self.n {
            self.check_done();
            return None;
        }
        self.num_active.fetch_add(1, SeqCst);
        let j = self.execution_idx.fetch_add(1, SeqCst);
        let task = self.try_incarnate(j);
        if task.is_none() {
            self.num_active.fetch_sub(1, SeqCst);
        }
        task
    }

    fn next_to_validate(&self) -> Option<Task> {
        if self.validation_idx.load(SeqCst) >= self.n {
            self.check_done();
            return None;
        }
        self.num_active.fetch_add(1, SeqCst);
        let j = self.validation_idx.fetch_add(1, SeqCst);
        if j < self.n {
            let s = lock(&self.status[j]);
            if s.1 == Status::Executed {
                return Some(Task::Validate(j, s.0));
            }
        }
        self.num_active.fetch_sub(1, SeqCst);
        None
    }

    fn next_task(&self) -> Option<Task> {
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            self.next_to_validate()
        } else {
            self.next_to_execute()
        }
    }

    /// Parks j until `blocking` has executed again; false if it already has (then j retries now).
    fn add_dependency(&self, j: usize, blocking: usize) -> bool {
        let mut waiting = lock(&self.waiting[blocking]);
        if lock(&self.status[blocking]).1 == Status::Executed {
            return false;
        }
        lock(&self.status[j]).1 = Status::Aborting;
        waiting.push(j);
        drop(waiting);
        self.num_active.fetch_sub(1, SeqCst);
        true
    }

    fn set_ready(&self, j: usize) {
        let mut s = lock(&self.status[j]);
        *s = (s.0 + 1, Status::ReadyToExecute);
    }

    fn finish_execution(&self, j: usize, incarnation: usize, wrote_new: bool) -> Option<Task> {
        lock(&self.status[j]).1 = Status::Executed;
        let resumed = std::mem::take(&mut *lock(&self.waiting[j]));
        for &d in &resumed {
            self.set_ready(d);
        }
        if let Some(&first) = resumed.iter().min() {
            self.decrease_execution_idx(first);
        }
        if self.validation_idx.load(SeqCst) > j {
            if !wrote_new {
                return Some(Task::Validate(j, incarnation));
            }
            self.decrease_validation_idx(j);
        }
        self.num_active.fetch_sub(1, SeqCst);
        None
    }

    fn try_validation_abort(&self, j: usize, incarnation: usize) -> bool {
        let mut s = lock(&self.status[j]);
        if *s == (incarnation, Status::Executed) {
            s.1 = Status::Aborting;
            return true;
        }
        false
    }

    fn finish_validation(&self, j: usize, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready(j);
            self.decrease_validation_idx(j + 1);
            if self.execution_idx.load(SeqCst) > j {
                if let Some(task) = self.try_incarnate(j) {
                    return Some(task);
                }
            }
        }
        self.num_active.fetch_sub(1, SeqCst);
        None
    }
}

/// Per-transaction results of the latest incarnation.
#[derive(Default)]
struct Slot {
    reads: Mutex<Vec<(usize, Observed)>>,
    writes: Mutex<Vec<usize>>,
    effects: Mutex<Option<Effects>>,
}

struct Run<'m, 'a> {
    txs: &'m [Tx],
    depth: u32,
    memory: Memory<'a>,
    scheduler: Scheduler,
    slots: Vec<Slot>,
}

impl Run<'_, '_> {
    fn execute(&self, j: usize, incarnation: usize) -> Option<Task> {
        let mut view = TxView { memory: &self.memory, tx: j, reads: Vec::new() };
        match execute_tx(&self.txs[j], self.depth, &mut view) {
            Err(blocking) => {
                if self.scheduler.add_dependency(j, blocking) {
                    None
                } else {
                    Some(Task::Execute(j, incarnation))
                }
            }
            Ok(effects) => {
                let slot = &self.slots[j];
                let wrote_new = self.memory.record(j, &effects, &mut lock(&slot.writes));
                *lock(&slot.reads) = view.reads;
                *lock(&slot.effects) = Some(effects);
                self.scheduler.finish_execution(j, incarnation, wrote_new)
            }
        }
    }

    fn validate(&self, j: usize, incarnation: usize) -> Option<Task> {
        let slot = &self.slots[j];
        let valid = self.memory.still_valid(j, &lock(&slot.reads));
        let aborted = !valid && self.scheduler.try_validation_abort(j, incarnation);
        if aborted {
            self.memory.mark_estimates(j, &lock(&slot.writes));
        }
        self.scheduler.finish_validation(j, aborted)
    }

    fn work(&self) {
        let mut task: Option<Task> = None;
        let mut idle = 0u32;
        loop {
            task = match task {
                Some(Task::Execute(j, i)) => self.execute(j, i),
                Some(Task::Validate(j, i)) => self.validate(j, i),
                None => {
                    if self.scheduler.done() {
                        return;
                    }
                    let next = self.scheduler.next_task();
                    if next.is_none() {
                        // Why yield: on a shared machine a spinning thread steals the core the
                        // thread it waits for needs.
                        idle += 1;
                        if idle.is_multiple_of(64) {
                            std::thread::yield_now();
                        } else {
                            std::hint::spin_loop();
                        }
                    } else {
                        idle = 0;
                    }
                    next
                }
            };
        }
    }
}

/// Runs `txs` on `base` with Block-STM on every thread of `pool`; the effects equal those of
/// executing them one by one in order (before the fold's deferred checks).
pub fn run(base: &ExecState, txs: &[Tx], pool: &rayon::ThreadPool) -> Result<Vec<Effects>> {
    let run = Run {
        txs,
        depth: base.depth(),
        memory: Memory::new(base, txs),
        scheduler: Scheduler::new(txs.len()),
        slots: (0..txs.len()).map(|_| Slot::default()).collect(),
    };
    pool.broadcast(|_| run.work());
    run.slots
        .into_iter()
        .map(|s| {
            s.effects.into_inner().unwrap_or_else(|p| p.into_inner()).ok_or_else(|| {
                Error::ExecutionFailed("a transaction finished without effects".into())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::state::{Mode, ExecState};
    use super::super::{Account, Auth, Outcome, Tx};
    use crate::sig;
    use crate::smt::SparseMerkleTree;

    /// Deposits creating `accounts` accounts, then signed transfers among them: the senders do not
    /// exist before the chunk, so signatures are verified during execution, which makes executions
    /// long enough to overlap and conflict.
    fn workload(n: usize, accounts: u64, seed: u64) -> Vec<Tx> {
        let keys: Vec<_> = (0..accounts as u8).map(|i| sig::keygen(Some(&[i + 1; 32])).unwrap()).collect();
        let mut txs: Vec<Tx> = (1..=accounts)
            .map(|i| Tx::Deposit { queue_index: i - 1, recipient: i, key: keys[i as usize - 1].1.to_vec(), amount: 1_000 })
            .collect();
        let mut nonces = vec![0u32; accounts as usize + 1];
        let mut x = seed;
        for t in 0..n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let sender = 1 + (x >> 33) % accounts;
            let mut recipient = 1 + (x >> 13) % accounts;
            if recipient == sender {
                recipient = sender % accounts + 1;
            }
            let message = [t as u64, seed, 0, 0];
            let signature = sig::sign(&keys[sender as usize - 1].0, &message).unwrap().to_vec();
            let nonce = nonces[sender as usize];
            nonces[sender as usize] += 1;
            let auth = Auth { message, signature, checked: None };
            txs.push(Tx::Transfer { sender, recipient, amount: 1 + (x >> 50) % 300, fee: 1, nonce, auth });
        }
        txs
    }

    fn run(mode: Mode, txs: &[Tx]) -> (Vec<Outcome>, [u64; 4]) {
        let fee_key = sig::keygen(Some(&[200; 32])).unwrap().1;
        let mut state = ExecState::new(16, vec![(0, Account { key: fee_key, balance: 0, nonce: 0 })], 0, 0).unwrap();
        let outcomes = state.execute(txs.to_vec(), mode).unwrap();
        state.credit_fees().unwrap();
        let mut tree = SparseMerkleTree::new(16).unwrap();
        (outcomes, state.root(&mut tree, 2).unwrap())
    }

    #[test]
    fn block_stm_equals_sequential_order_on_conflicting_transfers() {
        for (accounts, seed) in [(3, 1), (6, 2), (40, 3)] {
            let txs = workload(200, accounts, seed);
            let expected = run(Mode::Sequential, &txs);
            assert!(expected.0.iter().any(|o| *o != Outcome::Ok) && expected.0.contains(&Outcome::Ok));
            for threads in [2, 4] {
                assert_eq!(run(Mode::Parallel { threads }, &txs), expected, "{accounts} accounts, {threads} threads");
            }
        }
    }
}
