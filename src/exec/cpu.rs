//! CPU executor over resolved transactions (steps 4–10 of DESIGN.md on account indices).
//!
//! [`apply_tx`] is the one implementation of steps 4–10 on account indices; it runs over
//! any [`Ledger`]: the state itself here, or the shared columns of the wave executor
//! (`exec::waves`), so both executors share the same arithmetic and checks.

use crate::exec::{Status, swap_out};
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
pub fn apply_ready(state: &mut State, r: &ReadyTx, fee_collector: u32) -> (Status, u64) {
    apply_tx(state, r, fee_collector)
}

/// Steps 4–10 for one tx over any [`Ledger`]. Touches only the signer's nonce and
/// balances, the swap's pool (Write keys) and credits to the recipient and the fee
/// collector (Credit keys), matching the scheduler's keys.
#[inline]
pub(crate) fn apply_tx<L: Ledger>(l: &mut L, r: &ReadyTx, fee_collector: u32) -> (Status, u64) {
    let s = r.signer as usize;
    let tx = &r.tx;
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
    match tx.action {
        Action::Transfer(t) => {
            // Step 7T.
            let token = t.token as usize;
            if token >= l.tokens() {
                return (Status::UnknownToken, 0);
            }
            // Step 8T.
            let balance = l.balance(token, s);
            if balance < t.amount {
                return (Status::InsufficientBalance, 0);
            }
            // Step 9T. Debit before credit: for a self-transfer the credit restores it.
            l.set_balance(token, s, balance - t.amount);
            l.credit(token, r.recipient as usize, t.amount);
            (Status::Ok, 0)
        }
        Action::Swap(sw) => {
            // Step 7S.
            let Some(pool) = l.pool(sw.pool as usize) else {
                return (Status::UnknownPool, 0);
            };
            let (token_in, token_out, reserve_in, reserve_out) = match sw.direction {
                Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
                Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
            };
            let (token_in, token_out) = (token_in as usize, token_out as usize);
            // Step 8S.
            let balance_in = l.balance(token_in, s);
            if balance_in < sw.amount_in {
                return (Status::InsufficientBalance, 0);
            }
            // Step 9S.
            let out = swap_out(sw.amount_in, reserve_in, reserve_out, pool.fee_bps);
            if out < sw.min_out {
                return (Status::SlippageExceeded, 0);
            }
            // Step 10S. token_in ≠ token_out (genesis check), so the two cells differ.
            l.set_balance(token_in, s, balance_in - sw.amount_in);
            let balance_out = l.balance(token_out, s);
            l.set_balance(token_out, s, balance_out + out);
            let (reserve_in, reserve_out) = (reserve_in + sw.amount_in, reserve_out - out);
            match sw.direction {
                Direction::AtoB => l.set_reserves(sw.pool as usize, reserve_in, reserve_out),
                Direction::BtoA => l.set_reserves(sw.pool as usize, reserve_out, reserve_in),
            }
            (Status::Ok, out)
        }
    }
}
