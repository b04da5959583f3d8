//! CPU twin of `shaders/stages/exec.wgsl` and `shaders/test/exec_probe.wgsl` (the pieces
//! they stand on: `shaders/shared/u64.wgsl`'s is [`super::twin_u64`], re-exported here,
//! and `shaders/shared/wide.wgsl`'s is [`super::twin_wide`]): the
//! same functions under the same names and in the same loop shape, so each can be read
//! beside its shader, tested against big-integer and reference oracles, and compared with
//! the shader's results. u64 values are `[low word, high word]` as the shader's
//! `vec2<u32>`; the shader's atomics are plain wrapping adds here (one invocation at a
//! time), with the same carry detection.
//!
//! [`execute_block`] runs a whole block through [`BlockPlan`] and these functions on the
//! CPU, invocation by invocation, so the plan, the segment scheme and the kernels can be
//! checked against the reference without a GPU.
//!
//! Longer than most files on purpose: it mirrors two shader files function by function,
//! and reads best whole beside them.

use super::layout::{
    DIRECTION_A_TO_B, EXEC_STATUS_UNKNOWN_KIND, ExecParams, ExecTx, MAX_ROUTE_HOPS,
    MINIMUM_LIQUIDITY, POOL_GATHER_WORDS, RECEIPT_WORDS, ROUTE_EXACT_IN, SEGMENT_SERIAL, Segment,
    SwapProbe, TX_KIND_ADD_LIQUIDITY, TX_KIND_REMOVE_LIQUIDITY, TX_KIND_ROUTE, TX_KIND_SWAP,
    TX_KIND_TRANSFER,
};
use super::plan::BlockPlan;
pub use super::twin_u64::*;
use super::twin_wide::{amount_in, amount_out, ge_q64, isqrt128, le_q64, min_q64, quote};
use crate::error::Result;
use crate::exec::ExecResult;
use crate::gpu::resident::{NO_LP_TOKEN, PoolWords, pool_words, split};
use crate::receipt::Status;
use crate::resolve::ResolvedBlock;
use crate::schedule::Schedule;
use crate::state::State;

const STATUS_OK: u32 = Status::Ok as u32;
const STATUS_BAD_NONCE: u32 = Status::BadNonce as u32;
const STATUS_INSUFFICIENT_FEE: u32 = Status::InsufficientFee as u32;
const STATUS_UNKNOWN_TOKEN: u32 = Status::UnknownToken as u32;
const STATUS_UNKNOWN_POOL: u32 = Status::UnknownPool as u32;
const STATUS_INSUFFICIENT_BALANCE: u32 = Status::InsufficientBalance as u32;
const STATUS_SLIPPAGE_EXCEEDED: u32 = Status::SlippageExceeded as u32;
const STATUS_BAD_ROUTE: u32 = Status::BadRoute as u32;
const STATUS_NO_LP_TOKEN: u32 = Status::NoLpToken as u32;
const STATUS_INSUFFICIENT_LIQUIDITY: u32 = Status::InsufficientLiquidity as u32;

/// The buffers one dispatch of `exec.wgsl` binds, as host slices.
#[derive(Debug)]
pub struct Bindings<'a> {
    /// The dispatch's segment.
    pub segment: Segment,
    /// Block parameters.
    pub params: ExecParams,
    /// Ready txs.
    pub txs: &'a [ExecTx],
    /// Wave-order index list.
    pub order: &'a [u32],
    /// Nonce column, two words per account.
    pub nonces: &'a mut [u32],
    /// Balance columns, `account_cap` word pairs per token.
    pub balances: &'a mut [u32],
    /// Pools.
    pub pools: &'a mut [PoolWords],
    /// Receipts, then the gathered columns.
    pub out: &'a mut [u32],
    /// Accounts to gather, then pools.
    pub gather: &'a [u32],
}

/// Word index of the low word of (token, account).
pub fn balance_at(b: &Bindings<'_>, token: u32, account: u32) -> usize {
    2 * (token as usize * b.params.account_cap as usize + account as usize)
}

/// Loads a balance.
pub fn load_balance(b: &Bindings<'_>, token: u32, account: u32) -> [u32; 2] {
    let at = balance_at(b, token, account);
    [b.balances[at], b.balances[at + 1]]
}

/// Stores a balance of a Write key.
pub fn store_balance(b: &mut Bindings<'_>, token: u32, account: u32, value: [u32; 2]) {
    let at = balance_at(b, token, account);
    b.balances[at] = value[0];
    b.balances[at + 1] = value[1];
}

/// Credits a balance as the shader does: add the low word, detect the wrap, add the high
/// word plus the carry (see the proof at `credit` in shaders/stages/exec.wgsl).
pub fn credit(b: &mut Bindings<'_>, token: u32, account: u32, amount: [u32; 2]) {
    let at = balance_at(b, token, account);
    let old = b.balances[at];
    b.balances[at] = old.wrapping_add(amount[0]);
    let carry = u32::from(old.wrapping_add(amount[0]) < old);
    let high = amount[1].wrapping_add(carry);
    if high != 0 {
        b.balances[at + 1] = b.balances[at + 1].wrapping_add(high);
    }
}

/// Status and receipt amounts of one tx: the shader's `Outcome` (transfer and swap:
/// amount_out, 0, 0; route: amount_in, amount_out, 0; liquidity: amount_a, amount_b,
/// liquidity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Receipt status code, or [`EXEC_STATUS_UNKNOWN_KIND`].
    pub status: u32,
    /// First amount.
    pub first: [u32; 2],
    /// Second amount.
    pub second: [u32; 2],
    /// Third amount.
    pub third: [u32; 2],
}

/// A status with amounts 0: every failed step, and a transfer.
pub fn status_only(status: u32) -> Outcome {
    let none = [0, 0];
    Outcome {
        status,
        first: none,
        second: none,
        third: none,
    }
}

/// Writes the receipt of tx `i`.
pub fn write_receipt(b: &mut Bindings<'_>, i: u32, o: Outcome) {
    let at = RECEIPT_WORDS * i as usize;
    b.out[at] = o.status;
    b.out[at + 1] = o.first[0];
    b.out[at + 2] = o.first[1];
    b.out[at + 3] = o.second[0];
    b.out[at + 4] = o.second[1];
    b.out[at + 5] = o.third[0];
    b.out[at + 6] = o.third[1];
    b.out[at + 7] = 0;
}

/// Steps 7T–9T for a transfer whose signer `s` has paid the fee.
pub fn execute_transfer(b: &mut Bindings<'_>, tx: &ExecTx, s: u32) -> Outcome {
    let amount = tx.amounts[0];
    if tx.token_or_pool >= b.params.tokens {
        // Step 7T.
        return status_only(STATUS_UNKNOWN_TOKEN);
    }
    let balance = load_balance(b, tx.token_or_pool, s);
    if lt64(balance, amount) {
        // Step 8T.
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 9T. The signer is a Write key of this tx, the recipient a Credit key.
    store_balance(b, tx.token_or_pool, s, sub64(balance, amount));
    credit(b, tx.token_or_pool, tx.recipient, amount);
    status_only(STATUS_OK)
}

/// Steps 7S–10S for a swap whose signer `s` has paid the fee.
pub fn execute_swap(b: &mut Bindings<'_>, tx: &ExecTx, s: u32) -> Outcome {
    let amount_in = tx.amounts[0];
    let min_out = tx.amounts[1];
    if tx.token_or_pool >= b.params.n_pools {
        // Step 7S.
        return status_only(STATUS_UNKNOWN_POOL);
    }
    let pool = b.pools[tx.token_or_pool as usize];
    let a_to_b = tx.direction == DIRECTION_A_TO_B;
    let token_in = select(pool.token_b, pool.token_a, a_to_b);
    let token_out = select(pool.token_a, pool.token_b, a_to_b);
    let reserve_in = select(pool.reserve_b, pool.reserve_a, a_to_b);
    let reserve_out = select(pool.reserve_a, pool.reserve_b, a_to_b);
    let balance_in = load_balance(b, token_in, s);
    if lt64(balance_in, amount_in) {
        // Step 8S.
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    let got = swap_out(amount_in, reserve_in, reserve_out, pool.fee_bps);
    if lt64(got, min_out) {
        // Step 9S.
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 10S. The signer and the pool are Write keys of this tx.
    store_balance(b, token_in, s, sub64(balance_in, amount_in));
    let bought = add64(load_balance(b, token_out, s), got);
    store_balance(b, token_out, s, bought);
    let new_in = add64(reserve_in, amount_in);
    let new_out = sub64(reserve_out, got);
    let p = &mut b.pools[tx.token_or_pool as usize];
    if a_to_b {
        p.reserve_a = new_in;
        p.reserve_b = new_out;
    } else {
        p.reserve_b = new_in;
        p.reserve_a = new_out;
    }
    let none = [0, 0];
    Outcome {
        status: STATUS_OK,
        first: got,
        second: none,
        third: none,
    }
}

/// Steps 7 and 8 of both liquidity kinds: pool `id` exists and has an LP token.
pub fn lp_pool_status(b: &Bindings<'_>, id: u32) -> u32 {
    if id >= b.params.n_pools {
        return STATUS_UNKNOWN_POOL;
    }
    if b.pools[id as usize].lp_token == NO_LP_TOKEN {
        return STATUS_NO_LP_TOKEN;
    }
    STATUS_OK
}

/// Steps 7–12 of AddLiquidity for a signer `s` that has paid the fee.
pub fn execute_add_liquidity(b: &mut Bindings<'_>, tx: &ExecTx, s: u32) -> Outcome {
    let id = tx.token_or_pool;
    let checked = lp_pool_status(b, id);
    if checked != STATUS_OK {
        return status_only(checked);
    }
    let pool = b.pools[id as usize];
    let a_desired = tx.amounts[0];
    let b_desired = tx.amounts[1];
    let a_min = tx.amounts[2];
    let b_min = tx.amounts[3];
    // Step 9: only the adjusted side is checked against its minimum.
    let mut amount_a = a_desired;
    let mut amount_b = b_desired;
    let b_opt = quote(a_desired, pool.reserve_a, pool.reserve_b);
    if le_q64(b_opt, b_desired) {
        if !ge_q64(b_opt, b_min) {
            return status_only(STATUS_SLIPPAGE_EXCEEDED);
        }
        amount_b = b_opt.value;
    } else {
        // a_opt < a_desired here: never saturated.
        let a_opt = quote(b_desired, pool.reserve_b, pool.reserve_a);
        if !ge_q64(a_opt, a_min) {
            return status_only(STATUS_SLIPPAGE_EXCEEDED);
        }
        amount_a = a_opt.value;
    }
    // Step 10.
    let balance_a = load_balance(b, pool.token_a, s);
    let balance_b = load_balance(b, pool.token_b, s);
    if lt64(balance_a, amount_a) || lt64(balance_b, amount_b) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 11. The minted shares fit u64 (min(x, y) ≤ √(x·y) ≤ √(A·B)).
    let minimum = [MINIMUM_LIQUIDITY, 0];
    let liquidity;
    let supply;
    if eq64(pool.lp_supply, [0, 0]) {
        let root = isqrt128(amount_a, amount_b);
        if !lt64(minimum, root) {
            return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
        }
        liquidity = sub64(root, minimum);
        supply = root;
    } else {
        let shares = min_q64(
            quote(amount_a, pool.reserve_a, pool.lp_supply),
            quote(amount_b, pool.reserve_b, pool.lp_supply),
        );
        if !shares.over && eq64(shares.value, [0, 0]) {
            return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
        }
        liquidity = shares.value;
        supply = add64(pool.lp_supply, liquidity);
    }
    // Step 12. The LP token is neither of the pool's tokens.
    store_balance(b, pool.token_a, s, sub64(balance_a, amount_a));
    store_balance(b, pool.token_b, s, sub64(balance_b, amount_b));
    let minted = add64(load_balance(b, pool.lp_token, s), liquidity);
    store_balance(b, pool.lp_token, s, minted);
    let p = &mut b.pools[id as usize];
    p.reserve_a = add64(pool.reserve_a, amount_a);
    p.reserve_b = add64(pool.reserve_b, amount_b);
    p.lp_supply = supply;
    Outcome {
        status: STATUS_OK,
        first: amount_a,
        second: amount_b,
        third: liquidity,
    }
}

/// Steps 7–12 of RemoveLiquidity for a signer `s` that has paid the fee.
pub fn execute_remove_liquidity(b: &mut Bindings<'_>, tx: &ExecTx, s: u32) -> Outcome {
    let id = tx.token_or_pool;
    let checked = lp_pool_status(b, id);
    if checked != STATUS_OK {
        return status_only(checked);
    }
    let pool = b.pools[id as usize];
    let liquidity = tx.amounts[0];
    let a_min = tx.amounts[1];
    let b_min = tx.amounts[2];
    // Step 9.
    let lp_balance = load_balance(b, pool.lp_token, s);
    if lt64(lp_balance, liquidity) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 10: both 0 when S = 0.
    let mut amount_a = [0, 0];
    let mut amount_b = [0, 0];
    if !eq64(pool.lp_supply, [0, 0]) {
        amount_a = quote(liquidity, pool.lp_supply, pool.reserve_a).value;
        amount_b = quote(liquidity, pool.lp_supply, pool.reserve_b).value;
    }
    if eq64(amount_a, [0, 0]) || eq64(amount_b, [0, 0]) {
        return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
    }
    // Step 11.
    if lt64(amount_a, a_min) || lt64(amount_b, b_min) {
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 12.
    store_balance(b, pool.lp_token, s, sub64(lp_balance, liquidity));
    let got_a = add64(load_balance(b, pool.token_a, s), amount_a);
    store_balance(b, pool.token_a, s, got_a);
    let got_b = add64(load_balance(b, pool.token_b, s), amount_b);
    store_balance(b, pool.token_b, s, got_b);
    let p = &mut b.pools[id as usize];
    p.reserve_a = sub64(pool.reserve_a, amount_a);
    p.reserve_b = sub64(pool.reserve_b, amount_b);
    p.lp_supply = sub64(pool.lp_supply, liquidity);
    Outcome {
        status: STATUS_OK,
        first: amount_a,
        second: amount_b,
        third: liquidity,
    }
}

/// Steps 7–12 of Route for a signer `s` that has paid the fee.
pub fn execute_route(b: &mut Bindings<'_>, tx: &ExecTx, s: u32) -> Outcome {
    let hops = tx.hops.min(MAX_ROUTE_HOPS as u32) as usize;
    let route_pools = tx.route_pools;
    for &id in &route_pools[..hops] {
        if id >= b.params.n_pools {
            // Step 7.
            return status_only(STATUS_UNKNOWN_POOL);
        }
    }
    // Step 8.
    let mut a_to_b = [false; MAX_ROUTE_HOPS];
    let mut token = tx.token_or_pool;
    for h in 0..hops {
        let pool = b.pools[route_pools[h] as usize];
        if pool.token_a == token {
            a_to_b[h] = true;
            token = pool.token_b;
        } else if pool.token_b == token {
            a_to_b[h] = false;
            token = pool.token_a;
        } else {
            return status_only(STATUS_BAD_ROUTE);
        }
    }
    let token_in = tx.token_or_pool;
    let token_out = token;
    // Step 9.
    let mut x = [[0u32; 2]; MAX_ROUTE_HOPS + 1];
    let mut x0_over = false;
    if tx.direction == ROUTE_EXACT_IN {
        x[0] = tx.amounts[0];
        for h in 0..hops {
            let pool = b.pools[route_pools[h] as usize];
            let r_in = select(pool.reserve_b, pool.reserve_a, a_to_b[h]);
            let r_out = select(pool.reserve_a, pool.reserve_b, a_to_b[h]);
            x[h + 1] = amount_out(x[h], r_in, r_out, pool.fee_bps);
        }
    } else {
        x[hops] = tx.amounts[0];
        for k in 0..hops {
            let h = hops - 1 - k;
            let pool = b.pools[route_pools[h] as usize];
            let r_in = select(pool.reserve_b, pool.reserve_a, a_to_b[h]);
            let r_out = select(pool.reserve_a, pool.reserve_b, a_to_b[h]);
            // A saturated input from the hop before is ≥ every r_out: fails here too.
            if !lt64(x[h + 1], r_out) {
                return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
            }
            let need = amount_in(x[h + 1], r_in, r_out, pool.fee_bps);
            x[h] = need.value;
            x0_over = need.over;
        }
    }
    // Step 10.
    let balance_in = load_balance(b, token_in, s);
    if x0_over || lt64(balance_in, x[0]) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 11.
    let limit = tx.amounts[1];
    let exact_in = tx.direction == ROUTE_EXACT_IN;
    if (exact_in && lt64(x[hops], limit)) || (!exact_in && lt64(limit, x[0])) {
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 12: pay, then receive.
    store_balance(b, token_in, s, sub64(balance_in, x[0]));
    let received = add64(load_balance(b, token_out, s), x[hops]);
    store_balance(b, token_out, s, received);
    for h in 0..hops {
        let p = &mut b.pools[route_pools[h] as usize];
        if a_to_b[h] {
            p.reserve_a = add64(p.reserve_a, x[h]);
            p.reserve_b = sub64(p.reserve_b, x[h + 1]);
        } else {
            p.reserve_b = add64(p.reserve_b, x[h]);
            p.reserve_a = sub64(p.reserve_a, x[h + 1]);
        }
    }
    Outcome {
        status: STATUS_OK,
        first: x[0],
        second: x[hops],
        third: [0, 0],
    }
}

/// Steps 4–10 of docs/SPEC.md (Semantics) for tx `i`, receipt included.
pub fn execute_tx(b: &mut Bindings<'_>, i: u32) {
    let tx = b.txs[i as usize];
    let s = tx.signer;
    let su = s as usize;
    // Step 4.
    let nonce = [b.nonces[2 * su], b.nonces[2 * su + 1]];
    if !eq64(tx.nonce, nonce) || eq64(tx.nonce, [u32::MAX, u32::MAX]) {
        write_receipt(b, i, status_only(STATUS_BAD_NONCE));
        return;
    }
    // Step 5.
    let fee_balance = load_balance(b, 0, s);
    if lt64(fee_balance, tx.fee) {
        write_receipt(b, i, status_only(STATUS_INSUFFICIENT_FEE));
        return;
    }
    // Step 6.
    store_balance(b, 0, s, sub64(fee_balance, tx.fee));
    let next = add64(nonce, [1, 0]);
    b.nonces[2 * su] = next[0];
    b.nonces[2 * su + 1] = next[1];
    let fc = b.params.fee_collector;
    credit(b, 0, fc, tx.fee);

    // The shader's `switch`: one arm per kind, and its `default` for a kind the host
    // never uploads (the fee and nonce changes above stay, as on the device).
    let outcome = match tx.kind {
        TX_KIND_TRANSFER => execute_transfer(b, &tx, s),
        TX_KIND_SWAP => execute_swap(b, &tx, s),
        TX_KIND_ADD_LIQUIDITY => execute_add_liquidity(b, &tx, s),
        TX_KIND_REMOVE_LIQUIDITY => execute_remove_liquidity(b, &tx, s),
        TX_KIND_ROUTE => execute_route(b, &tx, s),
        _ => status_only(EXEC_STATUS_UNKNOWN_KIND),
    };
    write_receipt(b, i, outcome);
}

/// Invocation `j` of the `exec_segment` entry point.
pub fn exec_segment(j: u32, b: &mut Bindings<'_>) {
    if b.segment.mode == SEGMENT_SERIAL {
        if j == 0 {
            for k in 0..b.segment.count {
                let i = b.order[(b.segment.first + k) as usize];
                execute_tx(b, i);
            }
        }
        return;
    }
    if j >= b.segment.count {
        return;
    }
    let i = b.order[(b.segment.first + j) as usize];
    execute_tx(b, i);
}

/// Invocation `j` of the `gather_changed` entry point.
pub fn gather_changed(j: u32, b: &mut Bindings<'_>) {
    if j >= b.segment.count {
        return;
    }
    let k = b.segment.first + j;
    let account_words = 2 + 2 * b.params.tokens;
    if k < b.params.n_gather_accounts {
        let a = b.gather[k as usize];
        let at = (b.params.gather_offset + k * account_words) as usize;
        b.out[at] = b.nonces[2 * a as usize];
        b.out[at + 1] = b.nonces[2 * a as usize + 1];
        for t in 0..b.params.tokens {
            let v = load_balance(b, t, a);
            b.out[at + 2 + 2 * t as usize] = v[0];
            b.out[at + 3 + 2 * t as usize] = v[1];
        }
    } else if k < b.params.n_gather_accounts + b.params.n_gather_pools {
        let p = b.gather[k as usize] as usize;
        let at = (b.params.gather_offset
            + b.params.n_gather_accounts * account_words
            + (k - b.params.n_gather_accounts) * POOL_GATHER_WORDS as u32)
            as usize;
        b.out[at] = b.pools[p].reserve_a[0];
        b.out[at + 1] = b.pools[p].reserve_a[1];
        b.out[at + 2] = b.pools[p].reserve_b[0];
        b.out[at + 3] = b.pools[p].reserve_b[1];
        b.out[at + 4] = b.pools[p].lp_supply[0];
        b.out[at + 5] = b.pools[p].lp_supply[1];
    }
}

/// Invocation `i` of the `swap_out_probe` test entry point: (swap_out, mul_wide(amount_in
/// low, reserve_out high)).
pub fn swap_out_probe(p: &SwapProbe) -> ([u32; 2], [u32; 2]) {
    let q = swap_out(p.amount_in, p.reserve_in, p.reserve_out, p.fee_bps);
    let m = mul_wide(p.amount_in[0], p.reserve_out[1]);
    (q, m)
}

/// Executes a block as the GPU does — same plan, same segments, same functions — one
/// invocation at a time on the CPU, and writes what changed into `state`.
///
/// `serial_wave_max` and `max_parallel` are [`BlockPlan::build`]'s.
pub fn execute_block(
    state: &mut State,
    resolved: &ResolvedBlock,
    sched: &Schedule,
    serial_wave_max: usize,
    max_parallel: usize,
) -> Result<Vec<ExecResult>> {
    let plan = BlockPlan::build(
        resolved,
        sched,
        state.account_count(),
        state.pools().len(),
        serial_wave_max,
        max_parallel,
    )?;
    let out = run_plan(state, &plan);
    let results = plan.results(resolved, &out)?;
    plan.write_back(state, &out)?;
    Ok(results)
}

/// Runs every dispatch of `plan` (`exec_segment`, then `gather_changed`) over a copy of
/// `state`'s columns laid out as on the device, and returns the output buffer: receipts,
/// then the gathered columns. The words the GPU executor reads back, for the same plan.
pub fn run_plan(state: &State, plan: &BlockPlan) -> Vec<u32> {
    let tokens = state.tokens();
    let n = state.account_count();
    let account_cap = n.max(1);
    let mut nonces: Vec<u32> = state.nonces().iter().flat_map(|&v| split(v)).collect();
    let mut balances = vec![0u32; 2 * account_cap * tokens];
    for t in 0..tokens {
        for (a, &v) in state.balance_column(t).iter().enumerate() {
            let at = 2 * (t * account_cap + a);
            balances[at..at + 2].copy_from_slice(&split(v));
        }
    }
    let mut pools: Vec<PoolWords> = state.pools().iter().map(pool_words).collect();
    let mut out = vec![0u32; plan.out_words(tokens)];
    let gather = plan.gather_list();
    let mut b = Bindings {
        segment: Segment::default(),
        params: plan.params(tokens, account_cap, pools.len()),
        txs: &plan.txs,
        order: &plan.order,
        nonces: &mut nonces,
        balances: &mut balances,
        pools: &mut pools,
        out: &mut out,
        gather: &gather,
    };
    for seg in &plan.segments {
        b.segment = *seg;
        let invocations = if seg.mode == SEGMENT_SERIAL {
            1
        } else {
            seg.count
        };
        for j in 0..invocations {
            exec_segment(j, &mut b);
        }
    }
    for seg in &plan.gather_segments {
        b.segment = *seg;
        for j in 0..seg.count {
            gather_changed(j, &mut b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::layout::DEFAULT_SERIAL_WAVE_MAX as DEFAULT;
    use crate::exec::swap_out as swap_out_u128;
    use crate::gpu::resident::join;
    use num_bigint::BigUint;
    use rand::{Rng, SeedableRng};

    fn oracle(amount_in: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> u64 {
        let a = BigUint::from(amount_in) * BigUint::from(10_000 - u64::from(fee_bps));
        let d = BigUint::from(reserve_in) * BigUint::from(10_000u64) + &a;
        u64::try_from(a * BigUint::from(reserve_out) / d).expect("quotient below reserve_out")
    }

    fn limbs(amount_in: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> u64 {
        join(swap_out(
            split(amount_in),
            split(reserve_in),
            split(reserve_out),
            u32::from(fee_bps),
        ))
    }

    #[test]
    fn mul_wide_and_mac_equal_u64_arithmetic() {
        let words = [
            0u32,
            1,
            2,
            0xffff,
            0x1_0000,
            0x1_0001,
            0x8000_0000,
            u32::MAX - 1,
            u32::MAX,
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut xs: Vec<u32> = words.to_vec();
        xs.extend((0..200).map(|_| rng.r#gen::<u32>()));
        for &x in &xs {
            for &y in &xs {
                assert_eq!(
                    join(mul_wide(x, y)),
                    u64::from(x) * u64::from(y),
                    "{x} × {y}"
                );
                for (acc, carry) in [(0, 0), (u32::MAX, u32::MAX), (x, y)] {
                    let want = u128::from(x) * u128::from(y) + u128::from(acc) + u128::from(carry);
                    assert_eq!(u128::from(join(mac(x, y, acc, carry))), want);
                }
            }
        }
    }

    #[test]
    fn u64_pairs_equal_u64_arithmetic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut vals: Vec<u64> = LIMB_EDGES.to_vec();
        vals.extend((0..100).map(|_| rng.r#gen::<u64>()));
        for &a in &vals {
            for &b in &vals {
                assert_eq!(join(add64(split(a), split(b))), a.wrapping_add(b));
                assert_eq!(join(sub64(split(a), split(b))), a.wrapping_sub(b));
                assert_eq!(lt64(split(a), split(b)), a < b);
                assert_eq!(eq64(split(a), split(b)), a == b);
            }
        }
    }

    #[test]
    fn three_word_compare_and_subtract_equal_u128() {
        let to3 = |v: u128| [v as u32, (v >> 32) as u32, (v >> 64) as u32];
        let from3 =
            |w: [u32; 3]| u128::from(w[0]) | u128::from(w[1]) << 32 | u128::from(w[2]) << 64;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut vals: Vec<u128> = vec![
            0,
            1,
            u32::MAX as u128,
            1 << 32,
            u64::MAX as u128,
            1 << 64,
            (1 << 96) - 1,
        ];
        vals.extend((0..100).map(|_| rng.r#gen::<u128>() >> 32));
        for &a in &vals {
            for &b in &vals {
                assert_eq!(lt96(to3(a), to3(b)), a < b);
                if a >= b {
                    assert_eq!(from3(sub96(to3(a), to3(b))), a - b, "{a} − {b}");
                }
            }
        }
    }

    #[test]
    fn swap_out_limbs_equal_big_integer_oracle_on_extremes() {
        for &amount in &LIMB_EDGES {
            for &r_in in LIMB_EDGES.iter().filter(|&&r| r >= 1) {
                for &r_out in &LIMB_EDGES {
                    for fee in [0u16, 1, 30, 9_999] {
                        let want = oracle(amount, r_in, r_out, fee);
                        assert_eq!(
                            limbs(amount, r_in, r_out, fee),
                            want,
                            "amount={amount} r_in={r_in} r_out={r_out} fee={fee}"
                        );
                        assert_eq!(swap_out_u128(amount, r_in, r_out, fee), want);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn swap_out_limbs_equal_oracle_and_u128_formula(
            amount in proptest::num::u64::ANY,
            r_in in 1u64..,
            r_out in proptest::num::u64::ANY,
            fee in 0u16..10_000,
        ) {
            let want = oracle(amount, r_in, r_out, fee);
            proptest::prop_assert_eq!(limbs(amount, r_in, r_out, fee), want);
            proptest::prop_assert_eq!(swap_out_u128(amount, r_in, r_out, fee), want);
        }
    }

    #[test]
    fn credits_carry_across_the_low_word() {
        // One account credited repeatedly across the 2^32 boundary, as the fee collector is.
        let mut balances = vec![u32::MAX - 5, 7];
        let mut out = vec![];
        let mut b = Bindings {
            segment: Segment::default(),
            params: ExecParams {
                account_cap: 1,
                tokens: 1,
                ..Default::default()
            },
            txs: &[],
            order: &[],
            nonces: &mut [],
            balances: &mut balances,
            pools: &mut [],
            out: &mut out,
            gather: &[],
        };
        let mut want = join([u32::MAX - 5, 7]);
        for amount in [
            3u64,
            3,
            u32::MAX as u64,
            1 << 32,
            (1 << 33) + 17,
            u32::MAX as u64 * 5,
        ] {
            credit(&mut b, 0, 0, split(amount));
            want += amount;
            assert_eq!(
                join(load_balance(&b, 0, 0)),
                want,
                "after crediting {amount}"
            );
        }
        // A high word of 2^32 − 1 plus a carry adds 0 to the high word, mod 2^32.
        let mut balances = vec![1, 0];
        b.balances = &mut balances;
        credit(&mut b, 0, 0, split(u64::MAX - 1));
        assert_eq!(join(load_balance(&b, 0, 0)), u64::MAX);
    }

    /// Runs `block` through decode, verify, resolve, schedule and the twin executor.
    fn twin_block(
        state: &mut State,
        block: &crate::tx::Block,
        serial_wave_max: usize,
        max_parallel: usize,
    ) -> Vec<ExecResult> {
        let decoded: Vec<Option<crate::tx::Tx>> = block.txs().map(crate::tx::Tx::decode).collect();
        let (checks, check_of) = crate::verify::block_checks(block, &decoded);
        let verdicts = checks
            .iter()
            .map(crate::verify::cpu::verify_zip215_one)
            .collect();
        let sig_ok = crate::verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
        let resolved = crate::resolve::resolve(state, block, &decoded, &sig_ok);
        let sched = Schedule::build(&resolved, state.account_count());
        execute_block(state, &resolved, &sched, serial_wave_max, max_parallel).expect("valid plan")
    }

    #[test]
    fn twin_block_executor_equals_the_reference_on_every_workload() {
        use crate::workload::{GenConfig, generate};
        let base = GenConfig {
            accounts: 200,
            pools: 4,
            blocks: 2,
            txs_per_block: 400,
            seed: 11,
            ..Default::default()
        };
        let workloads = [
            ("uniform", base.clone()),
            (
                "hot pool 30%",
                GenConfig {
                    hot_pool_share: 0.3,
                    swap_share: 0.6,
                    ..base.clone()
                },
            ),
            (
                "all one pool",
                GenConfig {
                    hot_pool_share: 1.0,
                    swap_share: 1.0,
                    ..base.clone()
                },
            ),
            (
                "transfers only, skewed",
                GenConfig {
                    swap_share: 0.0,
                    account_skew: 1.2,
                    ..base.clone()
                },
            ),
        ];
        for (name, cfg) in workloads {
            let g = generate(&cfg, |_, _| {}).expect("valid config");
            // Every wave its own dispatch (split at 7 txs), the defaults, all serial.
            for (serial_wave_max, max_parallel) in
                [(0, 7), (DEFAULT, usize::MAX), (usize::MAX, usize::MAX)]
            {
                let mut twin = State::from_genesis(&g.genesis).expect("genesis");
                let mut reference = twin.clone();
                for (h, block) in g.blocks.iter().enumerate() {
                    let want = crate::exec::reference::execute_block(&mut reference, block)
                        .expect("generated blocks are valid");
                    let got = twin_block(&mut twin, block, serial_wave_max, max_parallel);
                    let want: Vec<ExecResult> = want
                        .receipts
                        .iter()
                        .map(|r| (r.status, r.amounts))
                        .collect();
                    assert_eq!(
                        got, want,
                        "{name}, block {h}, serial_wave_max {serial_wave_max}"
                    );
                    twin.set_tip(reference.height(), reference.last_block_hash());
                    assert!(twin == reference, "{name}, block {h}: state differs");
                }
            }
        }
    }

    #[test]
    fn unknown_kind_status_only_at_an_injected_kind_and_an_internal_error() {
        use crate::error::GpuErrorKind;
        use crate::exec::layout::EXEC_STATUS_UNKNOWN_KIND;
        use crate::workload::{GenConfig, generate};
        let g = generate(
            &GenConfig {
                accounts: 100,
                pools: 3,
                blocks: 1,
                txs_per_block: 300,
                seed: 5,
                swap_share: 0.5,
                ..Default::default()
            },
            |_, _| {},
        )
        .expect("valid config");
        let mut state = State::from_genesis(&g.genesis).expect("genesis");
        let block = &g.blocks[0];
        let decoded: Vec<Option<crate::tx::Tx>> = block.txs().map(crate::tx::Tx::decode).collect();
        let (checks, check_of) = crate::verify::block_checks(block, &decoded);
        let verdicts = checks
            .iter()
            .map(crate::verify::cpu::verify_zip215_one)
            .collect();
        let sig_ok = crate::verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
        let resolved = crate::resolve::resolve(&mut state, block, &decoded, &sig_ok);
        let sched = Schedule::build(&resolved, state.account_count());
        let plan = BlockPlan::build(
            &resolved,
            &sched,
            state.account_count(),
            state.pools().len(),
            DEFAULT,
            usize::MAX,
        )
        .expect("valid plan");
        let status = |out: &[u32], k: usize| out[RECEIPT_WORDS * k];
        let out = run_plan(&state, &plan);
        assert!(
            (0..plan.txs.len()).all(|k| status(&out, k) != EXEC_STATUS_UNKNOWN_KIND),
            "a valid block shows the unknown-kind status"
        );
        // Inject unknown kinds (0, 6 and u32::MAX) into a transfer and a swap that got past
        // step 6 in the valid run: their receipts, and only theirs, carry the status.
        let past_fee = |k: &usize| {
            u8::try_from(status(&out, *k))
                .ok()
                .and_then(Status::from_code)
                .is_some_and(Status::fee_charged)
        };
        let transfer = (0..plan.txs.len())
            .filter(past_fee)
            .find(|&k| plan.txs[k].kind == TX_KIND_TRANSFER)
            .expect("a transfer past step 6");
        let swap = (0..plan.txs.len())
            .filter(past_fee)
            .find(|&k| plan.txs[k].kind == TX_KIND_SWAP)
            .expect("a swap past step 6");
        for bad_kind in [0, 6, u32::MAX] {
            let mut bad = plan.clone();
            bad.txs[transfer].kind = bad_kind;
            bad.txs[swap].kind = bad_kind;
            let out = run_plan(&state, &bad);
            for k in 0..bad.txs.len() {
                assert_eq!(
                    status(&out, k) == EXEC_STATUS_UNKNOWN_KIND,
                    k == transfer || k == swap,
                    "kind {bad_kind}, tx {k}"
                );
            }
            let err = bad
                .results(&resolved, &out)
                .expect_err("an unknown kind is an error");
            assert_eq!(err.gpu_kind(), Some(GpuErrorKind::Internal), "{err}");
        }
    }

    #[test]
    fn twin_block_executor_equals_the_reference_on_the_shipped_dataset() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/defi-small");
        let genesis = std::fs::read_to_string(dir.join("genesis.json")).expect("genesis file");
        let log = std::fs::read(dir.join("blocks.blk")).expect("block log");
        let blocks = crate::tx::Block::decode_log(&log).expect("block log decodes");
        for (serial_wave_max, max_parallel) in [(0, usize::MAX), (64, usize::MAX)] {
            let mut twin = State::from_genesis_json(&genesis).expect("genesis");
            let mut reference = twin.clone();
            for (h, block) in blocks.iter().enumerate() {
                let want = crate::exec::reference::execute_block(&mut reference, block)
                    .expect("shipped blocks are valid");
                let got = twin_block(&mut twin, block, serial_wave_max, max_parallel);
                for (i, (g, w)) in got.iter().zip(&want.receipts).enumerate() {
                    assert_eq!(
                        *g,
                        (w.status, w.amounts),
                        "block {h}, tx {i}, serial {serial_wave_max}"
                    );
                }
                twin.set_tip(reference.height(), reference.last_block_hash());
                assert!(twin == reference, "block {h}: state differs");
            }
        }
    }
}
