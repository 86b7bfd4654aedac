//! The native execution engine: the spec's rules for deposits, transfers and withdrawals applied to
//! an account map, sequentially (the reference) or with Block-STM (`blockstm`), and the state root
//! computed once per batch from the touched leaves (`state`).
//!
//! The rules here mirror `zkpipe.spec.apply` check for check, in the same order, with the same
//! stable codes; a differential test in `tests/execution` holds them to it. Two checks are
//! *deferred*: the recipient's balance overflow and the fee account's overflow. They are the last
//! checks of a transfer (and the fee check the last of a withdrawal), so a transaction that passes
//! every other check is valid exactly when its credits fit, which the fold in [`state`] decides in
//! order. That is what lets the parallel engine record credits as deltas instead of reads.

pub mod blockstm;
pub mod state;
pub mod txdata;

use crate::hash::Digest;
use crate::sig;

/// A 40-byte ECgFp5 public key (five little-endian u64 limbs).
pub type Key = [u8; 40];

/// The largest nonce (u32); an account whose nonce reaches it can no longer send.
pub const MAX_NONCE: u32 = u32::MAX;
/// The operator's fee account: it neither sends nor receives on L2.
pub const FEE_ACCOUNT: u64 = 0;

/// One account of the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    pub key: Key,
    pub balance: u64,
    pub nonce: u32,
}

/// Why a transaction is invalid or a deposit refunded: the spec's `TxError`, same names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxCode {
    MalformedEncoding,
    AccountIndexOutOfRange,
    UnknownAccount,
    SelfTransfer,
    ZeroAmount,
    FeeAccountMisuse,
    WrongNonce,
    NonceOverflow,
    BadSignature,
    InsufficientBalance,
    BalanceOverflow,
    FeeOverflow,
    ZeroL1Address,
    InvalidPublicKey,
    DepositKeyMismatch,
    DepositOutOfOrder,
}

impl TxCode {
    /// The stable code, as `zkpipe.errors.TxError` spells it.
    pub fn code(self) -> &'static str {
        match self {
            TxCode::MalformedEncoding => "MALFORMED_ENCODING",
            TxCode::AccountIndexOutOfRange => "ACCOUNT_INDEX_OUT_OF_RANGE",
            TxCode::UnknownAccount => "UNKNOWN_ACCOUNT",
            TxCode::SelfTransfer => "SELF_TRANSFER",
            TxCode::ZeroAmount => "ZERO_AMOUNT",
            TxCode::FeeAccountMisuse => "FEE_ACCOUNT_MISUSE",
            TxCode::WrongNonce => "WRONG_NONCE",
            TxCode::NonceOverflow => "NONCE_OVERFLOW",
            TxCode::BadSignature => "BAD_SIGNATURE",
            TxCode::InsufficientBalance => "INSUFFICIENT_BALANCE",
            TxCode::BalanceOverflow => "BALANCE_OVERFLOW",
            TxCode::FeeOverflow => "FEE_OVERFLOW",
            TxCode::ZeroL1Address => "ZERO_L1_ADDRESS",
            TxCode::InvalidPublicKey => "INVALID_PUBLIC_KEY",
            TxCode::DepositKeyMismatch => "DEPOSIT_KEY_MISMATCH",
            TxCode::DepositOutOfOrder => "DEPOSIT_OUT_OF_ORDER",
        }
    }
}

/// What became of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Ok,
    /// A deposit consumed from the queue and paid back on L1 (valid, changes no account).
    Refunded(TxCode),
    /// Rejected; the state is unchanged.
    Invalid(TxCode),
}

/// A user transaction's authorization: the spec's signing digest (computed by the caller, so the
/// signing rule has one home) and the signature, with an optional result verified ahead of time.
#[derive(Clone, Debug)]
pub struct Auth {
    pub message: Digest,
    pub signature: Vec<u8>,
    /// A verification already done under some key: used only when that key is the sender's.
    pub checked: Option<(Key, bool)>,
}

impl Auth {
    /// Whether the signature is valid under `key` (the spec's rule: malformed is simply invalid).
    pub fn is_valid_under(&self, key: &Key) -> bool {
        if let Some((checked_key, ok)) = &self.checked {
            if checked_key == key {
                return *ok;
            }
        }
        sig::verify(key, &self.message, &self.signature).unwrap_or(false)
    }
}

/// A transaction in the engine's form (the caller has checked the encoding's ranges).
#[derive(Clone, Debug)]
pub enum Tx {
    /// A transaction without a canonical encoding: always MALFORMED_ENCODING.
    Malformed,
    Deposit { queue_index: u64, recipient: u64, key: Vec<u8>, amount: u64 },
    Transfer { sender: u64, recipient: u64, amount: u64, fee: u64, nonce: u32, auth: Auth },
    Withdraw { sender: u64, l1_address: [u8; 20], amount: u64, fee: u64, nonce: u32, auth: Auth },
}

impl Tx {
    /// The account that signs the transaction, if it is a user transaction.
    pub fn sender(&self) -> Option<u64> {
        match self {
            Tx::Transfer { sender, .. } | Tx::Withdraw { sender, .. } => Some(*sender),
            _ => None,
        }
    }

    /// The authorization of a user transaction.
    pub fn auth(&self) -> Option<&Auth> {
        match self {
            Tx::Transfer { auth, .. } | Tx::Withdraw { auth, .. } => Some(auth),
            _ => None,
        }
    }

    fn auth_mut(&mut self) -> Option<&mut Auth> {
        match self {
            Tx::Transfer { auth, .. } | Tx::Withdraw { auth, .. } => Some(auth),
            _ => None,
        }
    }
}

/// One state change a transaction asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The account's new value (a sender, or a deposit's recipient).
    Account(u64, Account),
    /// A lazy credit to an existing account; it must not overflow (checked by the fold).
    Credit(u64, u64),
    /// The next deposit-queue index.
    DepositIndex(u64),
}

/// The result of running the rules on one transaction: an outcome, writes, and a pending fee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    pub outcome: Outcome,
    pub writes: Vec<Write>,
    /// Joins the pending fees if the fold accepts the transaction (must not overflow).
    pub fee: u64,
}

impl Effects {
    fn invalid(code: TxCode) -> Self {
        Effects { outcome: Outcome::Invalid(code), writes: Vec::new(), fee: 0 }
    }
}

/// Where the rules read the state; `Err(i)` means "transaction i may still write here: wait".
pub trait View {
    /// The account at `index` with every earlier credit applied.
    fn account(&mut self, index: u64) -> Result<Option<Account>, usize>;
    /// Whether an account exists at `index` (credits never change that, so they are not read).
    fn exists(&mut self, index: u64) -> Result<bool, usize>;
    /// The deposit-queue index the next deposit must have.
    fn next_deposit_index(&mut self) -> Result<u64, usize>;
}

fn in_range(depth: u32, index: u64) -> bool {
    depth >= 64 || index >> depth == 0
}

/// Runs the spec's rules for `tx` against `view` (`apply_tx` without the deferred credit checks).
pub fn execute_tx(tx: &Tx, depth: u32, view: &mut impl View) -> Result<Effects, usize> {
    match tx {
        Tx::Malformed => Ok(Effects::invalid(TxCode::MalformedEncoding)),
        Tx::Deposit { queue_index, recipient, key, amount } => {
            // Verify the deposit is the next one in the L1 queue
            let next = view.next_deposit_index()?;
            if *queue_index != next {
                return Ok(Effects::invalid(TxCode::DepositOutOfOrder));
            }
            let consumed = Write::DepositIndex(next + 1);
            let refund = |code| Effects { outcome: Outcome::Refunded(code), writes: vec![consumed], fee: 0 };
            // Verify it can be credited, else refund it (get_deposit_refund_reason)
            if !in_range(depth, *recipient) {
                return Ok(refund(TxCode::AccountIndexOutOfRange));
            }
            if *recipient == FEE_ACCOUNT {
                return Ok(refund(TxCode::FeeAccountMisuse));
            }
            let parsed: std::result::Result<Key, _> = key.as_slice().try_into();
            let key = match parsed {
                Ok(k) if sig::validate_public_key(&k).is_ok() => k,
                _ => return Ok(refund(TxCode::InvalidPublicKey)),
            };
            let account = match view.account(*recipient)? {
                None => Account { key, balance: 0, nonce: 0 },
                Some(a) if a.key != key => return Ok(refund(TxCode::DepositKeyMismatch)),
                Some(a) => a,
            };
            let Some(balance) = account.balance.checked_add(*amount) else {
                return Ok(refund(TxCode::BalanceOverflow));
            };
            Ok(Effects {
                outcome: Outcome::Ok,
                writes: vec![Write::Account(*recipient, Account { balance, ..account }), consumed],
                fee: 0,
            })
        }
        Tx::Transfer { sender, recipient, amount, fee, nonce, auth } => {
            // Verify both indices are slots of the tree
            if !in_range(depth, *sender) || !in_range(depth, *recipient) {
                return Ok(Effects::invalid(TxCode::AccountIndexOutOfRange));
            }
            // Verify the transfer moves funds between two accounts, neither the fee account
            if sender == recipient {
                return Ok(Effects::invalid(TxCode::SelfTransfer));
            }
            if *sender == FEE_ACCOUNT || *recipient == FEE_ACCOUNT {
                return Ok(Effects::invalid(TxCode::FeeAccountMisuse));
            }
            // Verify the amount is positive
            if *amount == 0 {
                return Ok(Effects::invalid(TxCode::ZeroAmount));
            }
            // Verify both accounts exist (the recipient's balance is not read: its credit is lazy)
            let from = view.account(*sender)?;
            let to_exists = view.exists(*recipient)?;
            let Some(from) = from else { return Ok(Effects::invalid(TxCode::UnknownAccount)) };
            if !to_exists {
                return Ok(Effects::invalid(TxCode::UnknownAccount));
            }
            let debited = match check_sender(&from, *amount, *fee, *nonce, auth) {
                Ok(a) => a,
                Err(code) => return Ok(Effects::invalid(code)),
            };
            Ok(Effects {
                outcome: Outcome::Ok,
                writes: vec![Write::Account(*sender, debited), Write::Credit(*recipient, *amount)],
                fee: *fee,
            })
        }
        Tx::Withdraw { sender, l1_address, amount, fee, nonce, auth } => {
            // Verify the sender index is a slot of the tree, and not the fee account
            if !in_range(depth, *sender) {
                return Ok(Effects::invalid(TxCode::AccountIndexOutOfRange));
            }
            if *sender == FEE_ACCOUNT {
                return Ok(Effects::invalid(TxCode::FeeAccountMisuse));
            }
            // Verify the amount is positive and the L1 address not zero
            if *amount == 0 {
                return Ok(Effects::invalid(TxCode::ZeroAmount));
            }
            if l1_address.iter().all(|&b| b == 0) {
                return Ok(Effects::invalid(TxCode::ZeroL1Address));
            }
            // Verify the sender exists
            let Some(from) = view.account(*sender)? else { return Ok(Effects::invalid(TxCode::UnknownAccount)) };
            let debited = match check_sender(&from, *amount, *fee, *nonce, auth) {
                Ok(a) => a,
                Err(code) => return Ok(Effects::invalid(code)),
            };
            Ok(Effects { outcome: Outcome::Ok, writes: vec![Write::Account(*sender, debited)], fee: *fee })
        }
    }
}

/// The sender's checks in the spec's order (nonce, nonce overflow, signature, balance); the
/// debited account if they pass.
fn check_sender(from: &Account, amount: u64, fee: u64, nonce: u32, auth: &Auth) -> Result<Account, TxCode> {
    if nonce != from.nonce {
        return Err(TxCode::WrongNonce);
    }
    if from.nonce == MAX_NONCE {
        return Err(TxCode::NonceOverflow);
    }
    if !auth.is_valid_under(&from.key) {
        return Err(TxCode::BadSignature);
    }
    let cost = amount as u128 + fee as u128;
    if cost > from.balance as u128 {
        return Err(TxCode::InsufficientBalance);
    }
    Ok(Account { key: from.key, balance: from.balance - cost as u64, nonce: from.nonce + 1 })
}
