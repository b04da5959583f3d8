//! CPU executor over resolved transactions (steps 4–10 of docs/SPEC.md (Semantics) on account indices).
//!
//! `apply_tx` is the one implementation of steps 4–10 on account indices; it runs over
//! any `Ledger`: the state itself here, or the shared columns of the wave executor
//! (`exec::waves`), so both executors share the same arithmetic and checks.

use crate::exec::swap_out;
use crate::receipt::Status;
use crate::resolve::{ReadyTx, Resolved, ResolvedBlock};
use crate::state::{Pool, State};
use crate::tx::{Action, Direction};

/// The cells steps 4–10 read and write, by account and pool index.
pub(crate) trait Ledger {
    /// Number of tokens.
    fn tokens(&self) -> usize;
    /// Nonce of account `a`.
    fn nonce(&self, a: usize) -> u64;
    /// Sets the nonce of account `a` (the tx's own signer).
    fn set_nonce(&mut self, a: usize, v: u64);
    /// Balance of account `a` in token `t`.
    fn balance(&self, t: usize, a: usize) -> u64;
    /// Sets a balance of the tx's own signer.
    fn set_balance(&mut self, t: usize, a: usize, v: u64);
    /// Adds to a balance that other txs of the same wave may credit too. Never overflows:
    /// the genesis supply bound holds every balance below 2^64.
    fn credit(&mut self, t: usize, a: usize, v: u64);
    /// Pays `fee` (token 0) from `signer` into the fee collector `fc`.
    fn credit_fee(&mut self, fc: usize, signer: usize, fee: u64) {
        let _ = signer;
        self.credit(0, fc, fee);
    }
    /// Pool `p`, if it exists.
    fn pool(&self, p: usize) -> Option<Pool>;
    /// Sets the reserves of pool `p` (the tx's own pool).
    fn set_reserves(&mut self, p: usize, reserve_a: u64, reserve_b: u64);
}

impl Ledger for State {
    #[inline]
    fn tokens(&self) -> usize {
        State::tokens(self)
    }
    #[inline]
    fn nonce(&self, a: usize) -> u64 {
        self.nonces()[a]
    }
    #[inline]
    fn set_nonce(&mut self, a: usize, v: u64) {
        self.nonces_mut()[a] = v;
    }
    #[inline]
    fn balance(&self, t: usize, a: usize) -> u64 {
        State::balance(self, a, t)
    }
    #[inline]
    fn set_balance(&mut self, t: usize, a: usize, v: u64) {
        self.balances_mut()[t][a] = v;
    }
    #[inline]
    fn credit(&mut self, t: usize, a: usize, v: u64) {
        self.balances_mut()[t][a] += v;
    }
    #[inline]
    fn pool(&self, p: usize) -> Option<Pool> {
        self.pools().get(p).copied()
    }
    #[inline]
    fn set_reserves(&mut self, p: usize, reserve_a: u64, reserve_b: u64) {
        let pool = &mut self.pools_mut()[p];
        pool.reserve_a = reserve_a;
        pool.reserve_b = reserve_b;
    }
}

/// What execution needs of one resolved tx, in 48 bytes instead of the decoded tx's
/// 176 (signature and public keys are done with after resolve). The wave executor reads
/// txs out of block order, so their size is most of its memory traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExecTx {
    /// Signer account.
    pub signer: u32,
    /// Transfer recipient account, or swap pool id.
    pub target: u32,
    /// Nonce the tx carries.
    pub nonce: u64,
    /// Fee in token 0.
    pub fee: u64,
    /// Transfer amount or swap `amount_in`.
    pub amount: u64,
    /// Swap `min_out` (0 for a transfer).
    pub min_out: u64,
    /// Transfer token (0 for a swap).
    pub token: u16,
    /// What the tx does.
    pub kind: ExecKind,
}

/// The action of an [`ExecTx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExecKind {
    /// Transfer `amount` of `token` to account `target`.
    Transfer,
    /// Swap into pool `target`, selling token A.
    SwapAtoB,
    /// Swap into pool `target`, selling token B.
    SwapBtoA,
    /// Finished before step 4 with this status (rejected or unknown signer).
    Done(Status),
}

impl ExecTx {
    /// The compact form of a resolved tx.
    #[inline]
    pub fn of(r: &Resolved) -> ExecTx {
        match r {
            Resolved::Ready(r) => ExecTx::ready(r),
            Resolved::Rejected(s) => ExecTx::done(*s),
            Resolved::UnknownSigner { .. } => ExecTx::done(Status::UnknownSigner),
        }
    }

    fn done(status: Status) -> ExecTx {
        ExecTx {
            signer: 0,
            target: 0,
            nonce: 0,
            fee: 0,
            amount: 0,
            min_out: 0,
            token: 0,
            kind: ExecKind::Done(status),
        }
    }

    /// The compact form of a tx ready for steps 4–10.
    #[inline]
    pub fn ready(r: &ReadyTx) -> ExecTx {
        let (target, amount, min_out, token, kind) = match r.tx.action {
            Action::Transfer(t) => (r.recipient, t.amount, 0, t.token, ExecKind::Transfer),
            Action::Swap(s) => (
                s.pool,
                s.amount_in,
                s.min_out,
                0,
                match s.direction {
                    Direction::AtoB => ExecKind::SwapAtoB,
                    Direction::BtoA => ExecKind::SwapBtoA,
                },
            ),
        };
        ExecTx {
            signer: r.signer,
            target,
            nonce: r.tx.nonce,
            fee: r.tx.fee,
            amount,
            min_out,
            token,
            kind,
        }
    }
}

/// Executes every tx of a resolved block in block order; returns (status, amount_out)
/// per tx.
pub fn execute_in_order(state: &mut State, block: &ResolvedBlock) -> Vec<(Status, u64)> {
    block
        .txs
        .iter()
        .map(|r| match r {
            Resolved::Rejected(s) => (*s, 0),
            Resolved::UnknownSigner { .. } => (Status::UnknownSigner, 0),
            Resolved::Ready(tx) => apply_ready(state, tx, block.fee_collector),
        })
        .collect()
}

/// Steps 4–10 for one tx whose signer and recipient are resolved.
#[inline]
pub fn apply_ready(state: &mut State, r: &ReadyTx, fee_collector: u32) -> (Status, u64) {
    apply_tx(state, &ExecTx::ready(r), fee_collector)
}

/// Steps 4–10 for one tx over any [`Ledger`]: steps 4–6 here, then the kind's own apply
/// function. Touches only the keys of the tx's access list (`resolve/access.rs`) and in
/// their modes: the signer's nonce and balances and a swap's pool (Write), credits to
/// the recipient and the fee collector (Credit).
#[inline]
pub(crate) fn apply_tx<L: Ledger>(l: &mut L, tx: &ExecTx, fee_collector: u32) -> (Status, u64) {
    if let ExecKind::Done(status) = tx.kind {
        return (status, 0);
    }
    let s = tx.signer as usize;
    // Step 4.
    let nonce = l.nonce(s);
    if tx.nonce != nonce || tx.nonce == u64::MAX {
        return (Status::BadNonce, 0);
    }
    // Step 5.
    let fee_balance = l.balance(0, s);
    if fee_balance < tx.fee {
        return (Status::InsufficientFee, 0);
    }
    // Step 6.
    l.set_balance(0, s, fee_balance - tx.fee);
    l.set_nonce(s, nonce + 1);
    l.credit_fee(fee_collector as usize, s, tx.fee);
    match tx.kind {
        ExecKind::Transfer => apply_transfer(l, tx, s),
        ExecKind::SwapAtoB => apply_swap(l, tx, s, Direction::AtoB),
        ExecKind::SwapBtoA => apply_swap(l, tx, s, Direction::BtoA),
        ExecKind::Done(status) => (status, 0),
    }
}

/// Steps 7T–9T for a transfer whose signer `s` has paid the fee.
#[inline]
fn apply_transfer<L: Ledger>(l: &mut L, tx: &ExecTx, s: usize) -> (Status, u64) {
    // Step 7T.
    let token = tx.token as usize;
    if token >= l.tokens() {
        return (Status::UnknownToken, 0);
    }
    // Step 8T.
    let balance = l.balance(token, s);
    if balance < tx.amount {
        return (Status::InsufficientBalance, 0);
    }
    // Step 9T. Debit before credit: for a self-transfer the credit restores it.
    l.set_balance(token, s, balance - tx.amount);
    l.credit(token, tx.target as usize, tx.amount);
    (Status::Ok, 0)
}

/// Steps 7S–10S for a swap whose signer `s` has paid the fee.
#[inline]
fn apply_swap<L: Ledger>(l: &mut L, tx: &ExecTx, s: usize, direction: Direction) -> (Status, u64) {
    // Step 7S.
    let Some(pool) = l.pool(tx.target as usize) else {
        return (Status::UnknownPool, 0);
    };
    let (token_in, token_out, reserve_in, reserve_out) = match direction {
        Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
        Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
    };
    let (token_in, token_out) = (token_in as usize, token_out as usize);
    // Step 8S.
    let balance_in = l.balance(token_in, s);
    if balance_in < tx.amount {
        return (Status::InsufficientBalance, 0);
    }
    // Step 9S.
    let out = swap_out(tx.amount, reserve_in, reserve_out, pool.fee_bps);
    if out < tx.min_out {
        return (Status::SlippageExceeded, 0);
    }
    // Step 10S. token_in ≠ token_out (genesis check), so the two cells differ.
    l.set_balance(token_in, s, balance_in - tx.amount);
    let balance_out = l.balance(token_out, s);
    l.set_balance(token_out, s, balance_out + out);
    let (reserve_in, reserve_out) = (reserve_in + tx.amount, reserve_out - out);
    match direction {
        Direction::AtoB => l.set_reserves(tx.target as usize, reserve_in, reserve_out),
        Direction::BtoA => l.set_reserves(tx.target as usize, reserve_out, reserve_in),
    }
    (Status::Ok, out)
}
