//! CPU executor over resolved transactions (steps 4–10 of DESIGN.md on account indices).

use crate::exec::{Status, swap_out};
use crate::resolve::{ReadyTx, Resolved, ResolvedBlock};
use crate::state::State;
use crate::tx::{Action, Direction};

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
    let s = r.signer as usize;
    let tx = &r.tx;
    if tx.nonce != state.nonces()[s] || tx.nonce == u64::MAX {
        return (Status::BadNonce, 0);
    }
    if state.balance(s, 0) < tx.fee {
        return (Status::InsufficientFee, 0);
    }
    let fc = fee_collector as usize;
    state.balances_mut()[0][s] -= tx.fee;
    state.nonces_mut()[s] += 1;
    state.balances_mut()[0][fc] += tx.fee;
    match tx.action {
        Action::Transfer(t) => {
            let token = t.token as usize;
            if token >= state.tokens() {
                return (Status::UnknownToken, 0);
            }
            if state.balance(s, token) < t.amount {
                return (Status::InsufficientBalance, 0);
            }
            let col = &mut state.balances_mut()[token];
            col[s] -= t.amount;
            col[r.recipient as usize] += t.amount;
            (Status::Ok, 0)
        }
        Action::Swap(sw) => {
            let Some(&pool) = state.pools().get(sw.pool as usize) else {
                return (Status::UnknownPool, 0);
            };
            let (token_in, token_out, reserve_in, reserve_out) = match sw.direction {
                Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
                Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
            };
            if state.balance(s, token_in as usize) < sw.amount_in {
                return (Status::InsufficientBalance, 0);
            }
            let out = swap_out(sw.amount_in, reserve_in, reserve_out, pool.fee_bps);
            if out < sw.min_out {
                return (Status::SlippageExceeded, 0);
            }
            let balances = state.balances_mut();
            balances[token_in as usize][s] -= sw.amount_in;
            balances[token_out as usize][s] += out;
            let p = &mut state.pools_mut()[sw.pool as usize];
            match sw.direction {
                Direction::AtoB => {
                    p.reserve_a += sw.amount_in;
                    p.reserve_b -= out;
                }
                Direction::BtoA => {
                    p.reserve_b += sw.amount_in;
                    p.reserve_a -= out;
                }
            }
            (Status::Ok, out)
        }
    }
}
