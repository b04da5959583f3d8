//! The sequential reference executor: the semantics table of docs/SPEC.md, one tx at a time in
//! block order. It is deliberately plain — no batching, no parallelism, single-signature
//! checks — because it is the specification in code and the oracle for every backend.

use crate::error::{Error, Result};
use crate::exec::{amount_in, burn_amounts, mint_shares, quote, swap_out};
use crate::merkle::merkle_root;
use crate::receipt::{Amounts, Receipt, Status};
use crate::state::State;
use crate::tx::{
    Action, AddLiquidity, Block, Direction, RemoveLiquidity, Route, RouteMode, Swap, Transfer, Tx,
};
use crate::verify::{SigCheck, VerifyRule, cpu};

/// What the reference executor computes for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceOutcome {
    /// One receipt per tx, block order.
    pub receipts: Vec<Receipt>,
    /// Merkle root of the tx ids.
    pub tx_root: [u8; 32],
    /// Merkle root of the receipt leaves.
    pub receipts_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
    /// Hash of the block.
    pub block_hash: [u8; 32],
}

/// Applies `block` to `state` sequentially. On any error the state is left unchanged.
pub fn execute_block(state: &mut State, block: &Block) -> Result<ReferenceOutcome> {
    block.check_follows(state.height(), state.last_block_hash())?;
    let mut work = state.clone();
    let outcome = apply(&mut work, block)?;
    if let Some(claimed) = block.claimed_root()
        && claimed != outcome.state_root
    {
        return Err(Error::StateRootMismatch {
            height: block.height,
            claimed,
            computed: outcome.state_root,
        });
    }
    *state = work;
    Ok(outcome)
}

/// Runs the block on `state` without checking the claimed root (the generator uses this
/// to compute the root it then claims).
pub fn apply(state: &mut State, block: &Block) -> Result<ReferenceOutcome> {
    block.check_follows(state.height(), state.last_block_hash())?;
    let rule = state.verify_rule();
    let tx_ids: Vec<[u8; 32]> = block.txs().map(|b| *blake3::hash(b).as_bytes()).collect();

    // Steps 1–2 for every tx: `Err((status, zero amounts))` for malformed or bad signature.
    let checked: Vec<std::result::Result<Tx, (Status, Amounts)>> = block
        .txs()
        .map(|bytes| {
            let tx = Tx::decode(bytes).ok_or((Status::Malformed, Amounts::NONE))?;
            let check = SigCheck {
                public_key: tx.signer,
                signature: tx.signature,
                message: &bytes[64..],
            };
            let ok = match rule {
                VerifyRule::Strict => cpu::verify_strict_one(&check),
                VerifyRule::Zip215 => cpu::verify_zip215_one(&check),
            };
            if ok {
                Ok(tx)
            } else {
                Err((
                    Status::BadSignature,
                    Amounts::zero_of_kind(Some(tx.action.kind())),
                ))
            }
        })
        .collect();

    // Resolve: in block order, create every unknown recipient, then the fee collector,
    // named by a tx that passed steps 1–2.
    for tx in checked.iter().flatten() {
        if let Some(to) = tx.recipient() {
            state.create_account(to);
        }
        state.create_account(block.fee_collector);
    }

    let mut receipts = Vec::with_capacity(block.tx_count());
    for (i, tx) in checked.iter().enumerate() {
        let (status, amounts) = match tx {
            Err(rejected) => *rejected,
            Ok(tx) => apply_tx(state, tx, &block.fee_collector),
        };
        receipts.push(Receipt {
            tx_id: tx_ids[i],
            status,
            amounts,
        });
    }

    let tx_root = merkle_root(&tx_ids);
    let leaves: Vec<[u8; 32]> = receipts.iter().map(Receipt::leaf).collect();
    let receipts_root = merkle_root(&leaves);
    let state_root = state.state_root();
    let block_hash = block.block_hash(&tx_root);
    state.set_tip(block.height, block_hash);
    Ok(ReferenceOutcome {
        receipts,
        tx_root,
        receipts_root,
        state_root,
        block_hash,
    })
}

/// Steps 3–12 of the semantics tables for one decoded, signature-checked tx.
fn apply_tx(state: &mut State, tx: &Tx, fee_collector: &[u8; 32]) -> (Status, Amounts) {
    let zero = Amounts::zero_of_kind(Some(tx.action.kind()));
    // Step 3.
    let Some(s) = state.account_index(&tx.signer) else {
        return (Status::UnknownSigner, zero);
    };
    let s = s as usize;
    // Step 4.
    if tx.nonce != state.nonces()[s] || tx.nonce == u64::MAX {
        return (Status::BadNonce, zero);
    }
    // Step 5.
    if state.balance(s, 0) < tx.fee {
        return (Status::InsufficientFee, zero);
    }
    // Step 6. The fee collector exists: resolve created it for this tx.
    let fc = state
        .account_index(fee_collector)
        .expect("resolve created the fee collector") as usize;
    state.balances_mut()[0][s] -= tx.fee;
    state.nonces_mut()[s] += 1;
    state.balances_mut()[0][fc] += tx.fee;

    let (status, amounts) = match tx.action {
        Action::Transfer(t) => (transfer(state, s, &t), zero),
        Action::Swap(sw) => match swap(state, s, &sw) {
            Ok(out) => (Status::Ok, Amounts::Out { amount_out: out }),
            Err(status) => (status, zero),
        },
        Action::AddLiquidity(a) => add_liquidity(state, s, &a),
        Action::RemoveLiquidity(r) => remove_liquidity(state, s, &r),
        Action::Route(r) => route(state, s, &r),
    };
    if status == Status::Ok {
        (status, amounts)
    } else {
        (status, zero)
    }
}

/// Steps 7T–9T for a transfer whose signer (account `s`) has paid the fee.
fn transfer(state: &mut State, s: usize, t: &Transfer) -> Status {
    // Step 7T.
    if t.token as usize >= state.tokens() {
        return Status::UnknownToken;
    }
    let token = t.token as usize;
    // Step 8T.
    if state.balance(s, token) < t.amount {
        return Status::InsufficientBalance;
    }
    // Step 9T.
    let r = state
        .account_index(&t.to)
        .expect("resolve created the recipient") as usize;
    state.balances_mut()[token][s] -= t.amount;
    state.balances_mut()[token][r] += t.amount;
    Status::Ok
}

/// Steps 7S–10S for a swap whose signer (account `s`) has paid the fee: its output.
fn swap(state: &mut State, s: usize, sw: &Swap) -> Result<u64, Status> {
    // Step 7S.
    let Some(&pool) = state.pools().get(sw.pool as usize) else {
        return Err(Status::UnknownPool);
    };
    let (token_in, token_out, reserve_in, reserve_out) = match sw.direction {
        Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
        Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
    };
    // Step 8S.
    if state.balance(s, token_in as usize) < sw.amount_in {
        return Err(Status::InsufficientBalance);
    }
    // Step 9S.
    let out = swap_out(sw.amount_in, reserve_in, reserve_out, pool.fee_bps);
    if out < sw.min_out {
        return Err(Status::SlippageExceeded);
    }
    // Step 10S.
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
    Ok(out)
}

/// Steps 7–12 of AddLiquidity for a signer (account `s`) that has paid the fee.
fn add_liquidity(state: &mut State, s: usize, a: &AddLiquidity) -> (Status, Amounts) {
    let none = Amounts::NONE;
    // Steps 7 and 8.
    let Some(&pool) = state.pools().get(a.pool as usize) else {
        return (Status::UnknownPool, none);
    };
    let Some(lp) = pool.lp_token else {
        return (Status::NoLpToken, none);
    };
    // Step 9: the router's `_addLiquidity`; only the adjusted side is held to its minimum.
    let b_opt = quote(a.amount_a_desired, pool.reserve_a, pool.reserve_b);
    let (amount_a, amount_b) = match b_opt {
        Some(b_opt) if b_opt <= a.amount_b_desired => {
            if b_opt < a.amount_b_min {
                return (Status::SlippageExceeded, none);
            }
            (a.amount_a_desired, b_opt)
        }
        _ => {
            // b_opt > b_desired, so a_opt ≤ a_desired: it fits.
            let a_opt = quote(a.amount_b_desired, pool.reserve_b, pool.reserve_a)
                .expect("a_opt is at most a_desired");
            if a_opt < a.amount_a_min {
                return (Status::SlippageExceeded, none);
            }
            (a_opt, a.amount_b_desired)
        }
    };
    // Step 10.
    let (ta, tb) = (pool.token_a as usize, pool.token_b as usize);
    if state.balance(s, ta) < amount_a || state.balance(s, tb) < amount_b {
        return (Status::InsufficientBalance, none);
    }
    // Step 11.
    let Some((liquidity, supply)) = mint_shares(
        amount_a,
        amount_b,
        pool.reserve_a,
        pool.reserve_b,
        pool.lp_supply,
    ) else {
        return (Status::InsufficientLiquidity, none);
    };
    // Step 12.
    let balances = state.balances_mut();
    balances[ta][s] -= amount_a;
    balances[tb][s] -= amount_b;
    balances[lp as usize][s] += liquidity;
    let p = &mut state.pools_mut()[a.pool as usize];
    p.reserve_a += amount_a;
    p.reserve_b += amount_b;
    p.lp_supply = supply;
    (
        Status::Ok,
        Amounts::Liquidity {
            amount_a,
            amount_b,
            liquidity,
        },
    )
}

/// Steps 7–12 of RemoveLiquidity for a signer (account `s`) that has paid the fee.
fn remove_liquidity(state: &mut State, s: usize, r: &RemoveLiquidity) -> (Status, Amounts) {
    let none = Amounts::NONE;
    // Steps 7 and 8.
    let Some(&pool) = state.pools().get(r.pool as usize) else {
        return (Status::UnknownPool, none);
    };
    let Some(lp) = pool.lp_token else {
        return (Status::NoLpToken, none);
    };
    // Step 9.
    if state.balance(s, lp as usize) < r.liquidity {
        return (Status::InsufficientBalance, none);
    }
    // Step 10.
    let (amount_a, amount_b) =
        burn_amounts(r.liquidity, pool.reserve_a, pool.reserve_b, pool.lp_supply);
    if amount_a == 0 || amount_b == 0 {
        return (Status::InsufficientLiquidity, none);
    }
    // Step 11.
    if amount_a < r.amount_a_min || amount_b < r.amount_b_min {
        return (Status::SlippageExceeded, none);
    }
    // Step 12.
    let balances = state.balances_mut();
    balances[lp as usize][s] -= r.liquidity;
    balances[pool.token_a as usize][s] += amount_a;
    balances[pool.token_b as usize][s] += amount_b;
    let p = &mut state.pools_mut()[r.pool as usize];
    p.reserve_a -= amount_a;
    p.reserve_b -= amount_b;
    p.lp_supply -= r.liquidity;
    (
        Status::Ok,
        Amounts::Liquidity {
            amount_a,
            amount_b,
            liquidity: r.liquidity,
        },
    )
}

/// One hop of a route: the pool, whether it sells token A, and its reserves in the
/// hop's direction.
#[derive(Clone, Copy)]
struct Hop {
    pool: usize,
    a_to_b: bool,
    token_out: u16,
    reserve_in: u64,
    reserve_out: u64,
    fee_bps: u16,
}

/// Steps 7–12 of Route for a signer (account `s`) that has paid the fee.
fn route(state: &mut State, s: usize, r: &Route) -> (Status, Amounts) {
    let none = Amounts::NONE;
    // Step 7.
    let pools = r.pools();
    if pools.iter().any(|&p| p as usize >= state.pools().len()) {
        return (Status::UnknownPool, none);
    }
    // Step 8: each hop takes the token the previous one gives.
    let mut hops = Vec::with_capacity(pools.len());
    let mut token = r.token_in;
    for &p in pools {
        let pool = state.pools()[p as usize];
        let a_to_b = if pool.token_a == token {
            true
        } else if pool.token_b == token {
            false
        } else {
            return (Status::BadRoute, none);
        };
        let (token_out, reserve_in, reserve_out) = if a_to_b {
            (pool.token_b, pool.reserve_a, pool.reserve_b)
        } else {
            (pool.token_a, pool.reserve_b, pool.reserve_a)
        };
        hops.push(Hop {
            pool: p as usize,
            a_to_b,
            token_out,
            reserve_in,
            reserve_out,
            fee_bps: pool.fee_bps,
        });
        token = token_out;
    }
    // Step 9: x_0 … x_n; `None` is an amount of 2^64 or more.
    let mut x: Vec<Option<u64>> = vec![None; hops.len() + 1];
    match r.mode {
        RouteMode::ExactIn => {
            x[0] = Some(r.amount);
            for (i, h) in hops.iter().enumerate() {
                let input = x[i].expect("exact-in amounts are outputs of pools");
                x[i + 1] = Some(swap_out(input, h.reserve_in, h.reserve_out, h.fee_bps));
            }
        }
        RouteMode::ExactOut => {
            x[hops.len()] = Some(r.amount);
            for (i, h) in hops.iter().enumerate().rev() {
                match x[i + 1] {
                    Some(y) if y < h.reserve_out => {
                        x[i] = amount_in(y, h.reserve_in, h.reserve_out, h.fee_bps);
                    }
                    _ => return (Status::InsufficientLiquidity, none),
                }
            }
        }
    }
    // Step 10.
    let token_in = r.token_in as usize;
    let paid = match x[0] {
        Some(x0) if state.balance(s, token_in) >= x0 => x0,
        _ => return (Status::InsufficientBalance, none),
    };
    let received = x[hops.len()].expect("the last amount is an output or the exact amount");
    // Step 11.
    let within = match r.mode {
        RouteMode::ExactIn => received >= r.limit,
        RouteMode::ExactOut => paid <= r.limit,
    };
    if !within {
        return (Status::SlippageExceeded, none);
    }
    // Step 12: pay, then receive (a route may end in the token it started with).
    state.balances_mut()[token_in][s] -= paid;
    state.balances_mut()[token as usize][s] += received;
    for (i, h) in hops.iter().enumerate() {
        let input = x[i].expect("every amount of an applied route fits");
        let output = x[i + 1].expect("every amount of an applied route fits");
        let p = &mut state.pools_mut()[h.pool];
        if h.a_to_b {
            p.reserve_a += input;
            p.reserve_b -= output;
        } else {
            p.reserve_b += input;
            p.reserve_a -= output;
        }
        debug_assert_eq!(h.token_out, if h.a_to_b { p.token_b } else { p.token_a });
    }
    (
        Status::Ok,
        Amounts::Route {
            amount_in: paid,
            amount_out: received,
        },
    )
}
