//! CPU executor over resolved transactions (steps 4–10 of docs/SPEC.md (Semantics) on account indices).
//!
//! `apply_tx` is the one implementation of steps 4–10 on account indices; it runs over
//! any `Ledger`: the state itself here, or the shared columns of the wave executor
//! (`exec::waves`), so both executors share the same arithmetic and checks.

use crate::exec::{ExecResult, amount_in, burn_amounts, mint_shares, quote, swap_out};
use crate::receipt::{Amounts, Status};
use crate::resolve::{ReadyTx, Resolved, ResolvedBlock};
use crate::state::{Pool, State};
use crate::tx::{Action, AddLiquidity, Direction, MAX_HOPS, RemoveLiquidity, Route, RouteMode};

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
    /// Sets the LP supply of pool `p` (the tx's own pool).
    fn set_lp_supply(&mut self, p: usize, supply: u64);
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
    #[inline]
    fn set_lp_supply(&mut self, p: usize, supply: u64) {
        self.pools_mut()[p].lp_supply = supply;
    }
}

/// What execution needs of one resolved tx: signature and public keys are done with
/// after resolve, and the wave executor reads txs out of block order, so their size is
/// most of its memory traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExecTx {
    /// Signer account.
    pub signer: u32,
    /// Nonce the tx carries.
    pub nonce: u64,
    /// Fee in token 0.
    pub fee: u64,
    /// What the tx does.
    pub kind: ExecKind,
}

/// The action of an [`ExecTx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExecKind {
    /// Transfer `amount` of `token` to account `to`.
    Transfer {
        /// Recipient account.
        to: u32,
        /// Token id.
        token: u16,
        /// Amount moved.
        amount: u64,
    },
    /// Swap into pool `pool`.
    Swap {
        /// Pool id.
        pool: u32,
        /// Which token is sold.
        direction: Direction,
        /// Amount sold.
        amount_in: u64,
        /// Least output.
        min_out: u64,
    },
    /// Liquidity in.
    AddLiquidity(AddLiquidity),
    /// Liquidity out.
    RemoveLiquidity(RemoveLiquidity),
    /// Swap along pools.
    Route(Route),
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
            nonce: 0,
            fee: 0,
            kind: ExecKind::Done(status),
        }
    }

    /// The compact form of a tx ready for steps 4–12.
    #[inline]
    pub fn ready(r: &ReadyTx) -> ExecTx {
        let kind = match r.tx.action {
            Action::Transfer(t) => ExecKind::Transfer {
                to: r.recipient,
                token: t.token,
                amount: t.amount,
            },
            Action::Swap(s) => ExecKind::Swap {
                pool: s.pool,
                direction: s.direction,
                amount_in: s.amount_in,
                min_out: s.min_out,
            },
            Action::AddLiquidity(a) => ExecKind::AddLiquidity(a),
            Action::RemoveLiquidity(a) => ExecKind::RemoveLiquidity(a),
            Action::Route(a) => ExecKind::Route(a),
        };
        ExecTx {
            signer: r.signer,
            nonce: r.tx.nonce,
            fee: r.tx.fee,
            kind,
        }
    }
}

/// Executes every tx of a resolved block in block order; returns (status, amounts) per
/// tx (amounts are [`Amounts::NONE`] unless the status is `ok`; receipts take the zero
/// amounts of the tx's kind from [`ResolvedBlock::receipt`]).
pub fn execute_in_order(state: &mut State, block: &ResolvedBlock) -> Vec<ExecResult> {
    block
        .txs
        .iter()
        .map(|r| match r {
            Resolved::Rejected(s) => (*s, Amounts::NONE),
            Resolved::UnknownSigner { .. } => (Status::UnknownSigner, Amounts::NONE),
            Resolved::Ready(tx) => apply_ready(state, tx, block.fee_collector),
        })
        .collect()
}

/// Steps 4–12 for one tx whose signer and recipient are resolved.
#[inline]
pub fn apply_ready(state: &mut State, r: &ReadyTx, fee_collector: u32) -> ExecResult {
    apply_tx(state, &ExecTx::ready(r), fee_collector)
}

/// Steps 4–12 for one tx over any [`Ledger`]: steps 4–6 here, then the kind's own apply
/// function. Touches only the keys of the tx's access list (`resolve/access.rs`) and in
/// their modes: the signer's nonce and balances and the pools it names (Write), credits
/// to the recipient and the fee collector (Credit).
#[inline]
pub(crate) fn apply_tx<L: Ledger>(l: &mut L, tx: &ExecTx, fee_collector: u32) -> ExecResult {
    if let ExecKind::Done(status) = tx.kind {
        return (status, Amounts::NONE);
    }
    let s = tx.signer as usize;
    // Step 4.
    let nonce = l.nonce(s);
    if tx.nonce != nonce || tx.nonce == u64::MAX {
        return (Status::BadNonce, Amounts::NONE);
    }
    // Step 5.
    let fee_balance = l.balance(0, s);
    if fee_balance < tx.fee {
        return (Status::InsufficientFee, Amounts::NONE);
    }
    // Step 6.
    l.set_balance(0, s, fee_balance - tx.fee);
    l.set_nonce(s, nonce + 1);
    l.credit_fee(fee_collector as usize, s, tx.fee);
    let applied = match tx.kind {
        ExecKind::Transfer { to, token, amount } => {
            apply_transfer(l, s, to, token, amount).map(|()| Amounts::NONE)
        }
        ExecKind::Swap {
            pool,
            direction,
            amount_in,
            min_out,
        } => apply_swap(l, s, pool, direction, amount_in, min_out)
            .map(|amount_out| Amounts::Out { amount_out }),
        ExecKind::AddLiquidity(a) => apply_add_liquidity(l, s, &a),
        ExecKind::RemoveLiquidity(r) => apply_remove_liquidity(l, s, &r),
        ExecKind::Route(r) => apply_route(l, s, &r),
        ExecKind::Done(status) => Err(status),
    };
    match applied {
        Ok(amounts) => (Status::Ok, amounts),
        Err(status) => (status, Amounts::NONE),
    }
}

/// Steps 7T–9T for a transfer whose signer `s` has paid the fee.
#[inline]
fn apply_transfer<L: Ledger>(
    l: &mut L,
    s: usize,
    to: u32,
    token: u16,
    amount: u64,
) -> Result<(), Status> {
    // Step 7T.
    let token = token as usize;
    if token >= l.tokens() {
        return Err(Status::UnknownToken);
    }
    // Step 8T.
    let balance = l.balance(token, s);
    if balance < amount {
        return Err(Status::InsufficientBalance);
    }
    // Step 9T. Debit before credit: for a self-transfer the credit restores it.
    l.set_balance(token, s, balance - amount);
    l.credit(token, to as usize, amount);
    Ok(())
}

/// Steps 7S–10S for a swap whose signer `s` has paid the fee: its output.
#[inline]
fn apply_swap<L: Ledger>(
    l: &mut L,
    s: usize,
    p: u32,
    direction: Direction,
    amount: u64,
    min_out: u64,
) -> Result<u64, Status> {
    // Step 7S.
    let pool = l.pool(p as usize).ok_or(Status::UnknownPool)?;
    let (token_in, token_out, reserve_in, reserve_out) = match direction {
        Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
        Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
    };
    let (token_in, token_out) = (token_in as usize, token_out as usize);
    // Step 8S.
    let balance_in = l.balance(token_in, s);
    if balance_in < amount {
        return Err(Status::InsufficientBalance);
    }
    // Step 9S.
    let out = swap_out(amount, reserve_in, reserve_out, pool.fee_bps);
    if out < min_out {
        return Err(Status::SlippageExceeded);
    }
    // Step 10S. token_in ≠ token_out (genesis check), so the two cells differ.
    l.set_balance(token_in, s, balance_in - amount);
    let balance_out = l.balance(token_out, s);
    l.set_balance(token_out, s, balance_out + out);
    let (reserve_in, reserve_out) = (reserve_in + amount, reserve_out - out);
    match direction {
        Direction::AtoB => l.set_reserves(p as usize, reserve_in, reserve_out),
        Direction::BtoA => l.set_reserves(p as usize, reserve_out, reserve_in),
    }
    Ok(out)
}

/// Steps 7–8 of the liquidity kinds: the pool, which must exist and have an LP token.
#[inline]
fn lp_pool<L: Ledger>(l: &L, p: u32) -> Result<(Pool, usize), Status> {
    let pool = l.pool(p as usize).ok_or(Status::UnknownPool)?;
    let lp = pool.lp_token.ok_or(Status::NoLpToken)?;
    Ok((pool, lp as usize))
}

/// Steps 7–12 of AddLiquidity for a signer `s` that has paid the fee.
fn apply_add_liquidity<L: Ledger>(
    l: &mut L,
    s: usize,
    a: &AddLiquidity,
) -> Result<Amounts, Status> {
    let (pool, lp) = lp_pool(l, a.pool)?;
    // Step 9.
    let (amount_a, amount_b) = match quote(a.amount_a_desired, pool.reserve_a, pool.reserve_b) {
        Some(b_opt) if b_opt <= a.amount_b_desired => {
            if b_opt < a.amount_b_min {
                return Err(Status::SlippageExceeded);
            }
            (a.amount_a_desired, b_opt)
        }
        _ => {
            // b_opt > b_desired gives a_opt ≤ a_desired.
            let a_opt =
                quote(a.amount_b_desired, pool.reserve_b, pool.reserve_a).unwrap_or(u64::MAX);
            if a_opt < a.amount_a_min {
                return Err(Status::SlippageExceeded);
            }
            (a_opt, a.amount_b_desired)
        }
    };
    // Step 10.
    let (ta, tb) = (pool.token_a as usize, pool.token_b as usize);
    let (balance_a, balance_b) = (l.balance(ta, s), l.balance(tb, s));
    if balance_a < amount_a || balance_b < amount_b {
        return Err(Status::InsufficientBalance);
    }
    // Step 11.
    let (liquidity, supply) = mint_shares(
        amount_a,
        amount_b,
        pool.reserve_a,
        pool.reserve_b,
        pool.lp_supply,
    )
    .ok_or(Status::InsufficientLiquidity)?;
    // Step 12. The LP token is neither of the pool's tokens (genesis check).
    l.set_balance(ta, s, balance_a - amount_a);
    l.set_balance(tb, s, balance_b - amount_b);
    let shares = l.balance(lp, s);
    l.set_balance(lp, s, shares + liquidity);
    l.set_reserves(
        a.pool as usize,
        pool.reserve_a + amount_a,
        pool.reserve_b + amount_b,
    );
    l.set_lp_supply(a.pool as usize, supply);
    Ok(Amounts::Liquidity {
        amount_a,
        amount_b,
        liquidity,
    })
}

/// Steps 7–12 of RemoveLiquidity for a signer `s` that has paid the fee.
fn apply_remove_liquidity<L: Ledger>(
    l: &mut L,
    s: usize,
    r: &RemoveLiquidity,
) -> Result<Amounts, Status> {
    let (pool, lp) = lp_pool(l, r.pool)?;
    // Step 9.
    let shares = l.balance(lp, s);
    if shares < r.liquidity {
        return Err(Status::InsufficientBalance);
    }
    // Step 10.
    let (amount_a, amount_b) =
        burn_amounts(r.liquidity, pool.reserve_a, pool.reserve_b, pool.lp_supply);
    if amount_a == 0 || amount_b == 0 {
        return Err(Status::InsufficientLiquidity);
    }
    // Step 11.
    if amount_a < r.amount_a_min || amount_b < r.amount_b_min {
        return Err(Status::SlippageExceeded);
    }
    // Step 12.
    let (ta, tb) = (pool.token_a as usize, pool.token_b as usize);
    l.set_balance(lp, s, shares - r.liquidity);
    let balance_a = l.balance(ta, s);
    l.set_balance(ta, s, balance_a + amount_a);
    let balance_b = l.balance(tb, s);
    l.set_balance(tb, s, balance_b + amount_b);
    l.set_reserves(
        r.pool as usize,
        pool.reserve_a - amount_a,
        pool.reserve_b - amount_b,
    );
    l.set_lp_supply(r.pool as usize, pool.lp_supply - r.liquidity);
    Ok(Amounts::Liquidity {
        amount_a,
        amount_b,
        liquidity: r.liquidity,
    })
}

/// Steps 7–12 of Route for a signer `s` that has paid the fee.
fn apply_route<L: Ledger>(l: &mut L, s: usize, r: &Route) -> Result<Amounts, Status> {
    let pools = r.pools();
    let n = pools.len();
    // Step 7.
    let mut hop = [Pool::new(0, 0, 0, 0, 0); MAX_HOPS];
    for (h, &p) in hop.iter_mut().zip(pools) {
        *h = l.pool(p as usize).ok_or(Status::UnknownPool)?;
    }
    // Step 8. `a_to_b[i]`: hop i sells token A of its pool.
    let mut a_to_b = [false; MAX_HOPS];
    let mut token = r.token_in;
    for (i, pool) in hop[..n].iter().enumerate() {
        a_to_b[i] = if pool.token_a == token {
            true
        } else if pool.token_b == token {
            false
        } else {
            return Err(Status::BadRoute);
        };
        token = if a_to_b[i] {
            pool.token_b
        } else {
            pool.token_a
        };
    }
    let reserves = |i: usize| -> (u64, u64) {
        let p = &hop[i];
        if a_to_b[i] {
            (p.reserve_a, p.reserve_b)
        } else {
            (p.reserve_b, p.reserve_a)
        }
    };
    // Step 9. Every amount of a route that gets past it fits u64 except x_0 of an
    // exact-out route (`None`: 2^64 or more, which step 10 refuses).
    let mut x = [0u64; MAX_HOPS + 1];
    let first = match r.mode {
        RouteMode::ExactIn => {
            x[0] = r.amount;
            for i in 0..n {
                let (r_in, r_out) = reserves(i);
                x[i + 1] = swap_out(x[i], r_in, r_out, hop[i].fee_bps);
            }
            Some(r.amount)
        }
        RouteMode::ExactOut => {
            x[n] = r.amount;
            let mut need = Some(r.amount);
            for i in (0..n).rev() {
                let (r_in, r_out) = reserves(i);
                match need {
                    Some(y) if y < r_out => need = amount_in(y, r_in, r_out, hop[i].fee_bps),
                    _ => return Err(Status::InsufficientLiquidity),
                }
                if let Some(v) = need {
                    x[i] = v;
                }
            }
            need
        }
    };
    // Step 10.
    let token_in = r.token_in as usize;
    let balance_in = l.balance(token_in, s);
    let paid = first
        .filter(|&x0| x0 <= balance_in)
        .ok_or(Status::InsufficientBalance)?;
    let received = x[n];
    // Step 11.
    let within = match r.mode {
        RouteMode::ExactIn => received >= r.limit,
        RouteMode::ExactOut => paid <= r.limit,
    };
    if !within {
        return Err(Status::SlippageExceeded);
    }
    // Step 12: pay, then receive (the last token may be token_in).
    l.set_balance(token_in, s, balance_in - paid);
    let balance_out = l.balance(token as usize, s);
    l.set_balance(token as usize, s, balance_out + received);
    for i in 0..n {
        let (r_in, r_out) = reserves(i);
        let (r_in, r_out) = (r_in + x[i], r_out - x[i + 1]);
        let (ra, rb) = if a_to_b[i] {
            (r_in, r_out)
        } else {
            (r_out, r_in)
        };
        l.set_reserves(pools[i] as usize, ra, rb);
    }
    Ok(Amounts::Route {
        amount_in: paid,
        amount_out: received,
    })
}
