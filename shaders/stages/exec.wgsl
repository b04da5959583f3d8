// Execution of a block's waves over resident structure-of-arrays state: docs/SPEC.md
// (Semantics, and "Liquidity and routes") steps 4–12 for every ready tx. Needs
// shaders/shared/dispatch.wgsl, shaders/shared/u64.wgsl, shaders/shared/wide.wgsl and
// shaders/shared/pool_words.wgsl in front. CPU twin: src/exec/twin.rs.
// Host side, buffer layout and the dispatch scheme: src/exec/gpu.rs.

// Keep in sync with `ExecParams` in src/exec/layout.rs.
struct ExecParams {
    fee_collector: u32,
    tokens: u32,
    // Accounts per balance column: the balance of (token t, account a) is the word pair
    // at 2 × (t × account_cap + a).
    account_cap: u32,
    n_pools: u32,
    n_gather_accounts: u32,
    n_gather_pools: u32,
    // Word offset in `out` where the gathered columns start.
    gather_offset: u32,
    pad0: u32,
}

// One dispatch: `count` entries of `order` from `first`. Keep in sync with `Segment` in
// src/exec/layout.rs.
struct Segment {
    first: u32,
    count: u32,
    mode: u32,
    pad0: u32,
}

// A ready tx. Keep in sync with `ExecTx` in src/exec/layout.rs.
struct ExecTx {
    kind: u32,
    signer: u32,
    // NO_ACCOUNT for every kind but a transfer.
    recipient: u32,
    // Transfer: token. Swap, AddLiquidity, RemoveLiquidity: pool index. Route: token_in.
    token_or_pool: u32,
    // Swap: DIRECTION_*. Route: ROUTE_EXACT_IN or ROUTE_EXACT_OUT. Others: 0.
    direction: u32,
    // Route: pools in `route_pools` (1 to MAX_ROUTE_HOPS). Others: 0.
    hops: u32,
    nonce: vec2<u32>,
    fee: vec2<u32>,
    // Transfer: amount. Swap: amount_in, min_out. AddLiquidity: amount_a_desired,
    // amount_b_desired, amount_a_min, amount_b_min. RemoveLiquidity: liquidity,
    // amount_a_min, amount_b_min. Route: amount, limit. Unused entries are 0.
    amounts: array<vec2<u32>, 4>,
    // Route: the pools, in order. Others: 0.
    route_pools: array<u32, 4>,
}

// Keep in sync with the constants of the same names in src/exec/layout.rs.
const NO_ACCOUNT: u32 = 0xffffffffu;
const TX_KIND_TRANSFER: u32 = 1u;
const TX_KIND_SWAP: u32 = 2u;
const TX_KIND_ADD_LIQUIDITY: u32 = 3u;
const TX_KIND_REMOVE_LIQUIDITY: u32 = 4u;
const TX_KIND_ROUTE: u32 = 5u;
const DIRECTION_A_TO_B: u32 = 0u;
const ROUTE_EXACT_IN: u32 = 0u;
const ROUTE_EXACT_OUT: u32 = 1u;
const MAX_ROUTE_HOPS: u32 = 4u;
// Shares locked for ever at a pool's first mint.
const MINIMUM_LIQUIDITY: u32 = 1000u;
const SEGMENT_PARALLEL: u32 = 0u;
const SEGMENT_SERIAL: u32 = 1u;
const RECEIPT_WORDS: u32 = 8u;
const POOL_GATHER_WORDS: u32 = 6u;
// Receipt status codes of docs/SPEC.md; keep in sync with `receipt::Status` (src/receipt.rs).
const STATUS_OK: u32 = 0u;
const STATUS_BAD_NONCE: u32 = 4u;
const STATUS_INSUFFICIENT_FEE: u32 = 5u;
const STATUS_UNKNOWN_TOKEN: u32 = 6u;
const STATUS_UNKNOWN_POOL: u32 = 7u;
const STATUS_INSUFFICIENT_BALANCE: u32 = 8u;
const STATUS_SLIPPAGE_EXCEEDED: u32 = 9u;
const STATUS_BAD_ROUTE: u32 = 10u;
const STATUS_NO_LP_TOKEN: u32 = 11u;
const STATUS_INSUFFICIENT_LIQUIDITY: u32 = 12u;
// Not a receipt code (those are one byte): a tx whose kind this kernel does not know. It
// cannot come from a decoded tx; the host turns it into an internal error, never a
// receipt. Keep in sync with `EXEC_STATUS_UNKNOWN_KIND` in src/exec/layout.rs.
const EXEC_STATUS_UNKNOWN_KIND: u32 = 0x100u;

@group(0) @binding(0) var<uniform> segment: Segment;
@group(0) @binding(1) var<uniform> params: ExecParams;
@group(0) @binding(2) var<storage, read> txs: array<ExecTx>;
// Indices into `txs`, wave by wave, block order inside a wave.
@group(0) @binding(3) var<storage, read> order: array<u32>;
// Resident columns: two words per account.
@group(0) @binding(4) var<storage, read_write> nonces: array<u32>;
// Resident columns: one column of `account_cap` word pairs per token.
@group(0) @binding(5) var<storage, read_write> balances: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> pools: array<PoolWords>;
// RECEIPT_WORDS per tx (status, three amounts as (low, high), 0), then the gathered
// columns. The amounts: transfer and swap (amount_out, 0, 0); route (amount_in,
// amount_out, 0); liquidity (amount_a, amount_b, liquidity).
@group(0) @binding(7) var<storage, read_write> out: array<u32>;
// Account indices to gather, then pool indices.
@group(0) @binding(8) var<storage, read> gather: array<u32>;

fn balance_at(token: u32, account: u32) -> u32 {
    return 2u * (token * params.account_cap + account);
}

fn load_balance(token: u32, account: u32) -> vec2<u32> {
    let at = balance_at(token, account);
    return vec2<u32>(atomicLoad(&balances[at]), atomicLoad(&balances[at + 1u]));
}

// Only for a key the calling tx holds in Write mode: no other invocation of the dispatch
// touches it.
fn store_balance(token: u32, account: u32, value: vec2<u32>) {
    let at = balance_at(token, account);
    atomicStore(&balances[at], value.x);
    atomicStore(&balances[at + 1u], value.y);
}

// Adds `amount` to a balance that other invocations of the same dispatch may credit too
// (Credit mode: a transfer recipient, the fee collector).
//
// Why the result is exact. Within one dispatch the words of a credited account are touched
// only by atomicAdd: the scheduler puts every Write of that key in another wave, and a
// serial segment runs in one invocation. Atomic adds on one word take effect in some total
// order and each returns the word before it; an add of l < 2^32 wraps at most once, and
// exactly when old + l overflows, which `old + l < old` detects. So after credits
// (l_k, h_k) the low word is (L0 + Σ l_k) mod 2^32 and the wraps number
// ⌊(L0 + Σ l_k) / 2^32⌋; the high word is (H0 + Σ h_k + wraps) mod 2^32. Together that is
// (L0 + 2^32·H0 + Σ amounts) mod 2^64, and the genesis supply bound keeps the true sum
// below 2^64, so it is the exact balance. Between the two adds of one credit the pair is
// inconsistent, but nothing reads it before the dispatch ends, and wgpu puts a barrier
// between dispatches that share a read_write storage buffer, so the next wave reads the
// final words.
fn credit(token: u32, account: u32, amount: vec2<u32>) {
    let at = balance_at(token, account);
    let old = atomicAdd(&balances[at], amount.x);
    let carry = select(0u, 1u, old + amount.x < old);
    // Adding 2^32 (high word 2^32 − 1 plus a carry) is adding 0 mod 2^32.
    let high = amount.y + carry;
    if (high != 0u) {
        atomicAdd(&balances[at + 1u], high);
    }
}

// Status and receipt amounts of one tx (see `out` for which amount is which).
struct Outcome {
    status: u32,
    first: vec2<u32>,
    second: vec2<u32>,
    third: vec2<u32>,
}

// A status with amounts 0: every failed step, and a transfer.
fn status_only(status: u32) -> Outcome {
    let none = vec2<u32>(0u, 0u);
    return Outcome(status, none, none, none);
}

fn write_receipt(i: u32, o: Outcome) {
    let at = RECEIPT_WORDS * i;
    out[at] = o.status;
    out[at + 1u] = o.first.x;
    out[at + 2u] = o.first.y;
    out[at + 3u] = o.second.x;
    out[at + 4u] = o.second.y;
    out[at + 5u] = o.third.x;
    out[at + 6u] = o.third.y;
    out[at + 7u] = 0u;
}

// Steps 7T–9T for a transfer whose signer `s` has paid the fee.
fn execute_transfer(tx: ExecTx, s: u32) -> Outcome {
    let amount = tx.amounts[0];
    if (tx.token_or_pool >= params.tokens) {
        // Step 7T.
        return status_only(STATUS_UNKNOWN_TOKEN);
    }
    let balance = load_balance(tx.token_or_pool, s);
    if (lt64(balance, amount)) {
        // Step 8T.
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 9T. The signer is a Write key of this tx, the recipient a Credit key.
    store_balance(tx.token_or_pool, s, sub64(balance, amount));
    credit(tx.token_or_pool, tx.recipient, amount);
    return status_only(STATUS_OK);
}

// Steps 7S–10S for a swap whose signer `s` has paid the fee.
fn execute_swap(tx: ExecTx, s: u32) -> Outcome {
    let amount_in = tx.amounts[0];
    let min_out = tx.amounts[1];
    if (tx.token_or_pool >= params.n_pools) {
        // Step 7S.
        return status_only(STATUS_UNKNOWN_POOL);
    }
    let pool = pools[tx.token_or_pool];
    let a_to_b = tx.direction == DIRECTION_A_TO_B;
    let token_in = select(pool.token_b, pool.token_a, a_to_b);
    let token_out = select(pool.token_a, pool.token_b, a_to_b);
    let reserve_in = select(pool.reserve_b, pool.reserve_a, a_to_b);
    let reserve_out = select(pool.reserve_a, pool.reserve_b, a_to_b);
    let balance_in = load_balance(token_in, s);
    if (lt64(balance_in, amount_in)) {
        // Step 8S.
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    let got = swap_out(amount_in, reserve_in, reserve_out, pool.fee_bps);
    if (lt64(got, min_out)) {
        // Step 9S.
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 10S. The signer and the pool are Write keys of this tx.
    store_balance(token_in, s, sub64(balance_in, amount_in));
    store_balance(token_out, s, add64(load_balance(token_out, s), got));
    let new_in = add64(reserve_in, amount_in);
    let new_out = sub64(reserve_out, got);
    if (a_to_b) {
        pools[tx.token_or_pool].reserve_a = new_in;
        pools[tx.token_or_pool].reserve_b = new_out;
    } else {
        pools[tx.token_or_pool].reserve_b = new_in;
        pools[tx.token_or_pool].reserve_a = new_out;
    }
    let none = vec2<u32>(0u, 0u);
    return Outcome(STATUS_OK, got, none, none);
}

// Steps 7–12 of AddLiquidity ("Liquidity and routes") for a signer `s` that has paid the
// fee. The signer and the pool are Write keys of this tx.
// Steps 7 and 8 of both liquidity kinds: pool `id` exists and has an LP token.
fn lp_pool_status(id: u32) -> u32 {
    if (id >= params.n_pools) {
        return STATUS_UNKNOWN_POOL;
    }
    if (pools[id].lp_token == NO_LP_TOKEN) {
        return STATUS_NO_LP_TOKEN;
    }
    return STATUS_OK;
}

fn execute_add_liquidity(tx: ExecTx, s: u32) -> Outcome {
    let id = tx.token_or_pool;
    let checked = lp_pool_status(id);
    if (checked != STATUS_OK) {
        return status_only(checked);
    }
    let pool = pools[id];
    let a_desired = tx.amounts[0];
    let b_desired = tx.amounts[1];
    let a_min = tx.amounts[2];
    let b_min = tx.amounts[3];
    // Step 9, the router's _addLiquidity at full width: only the adjusted side is
    // checked against its minimum.
    var amount_a = a_desired;
    var amount_b = b_desired;
    let b_opt = quote(a_desired, pool.reserve_a, pool.reserve_b);
    if (le_q64(b_opt, b_desired)) {
        if (!ge_q64(b_opt, b_min)) {
            return status_only(STATUS_SLIPPAGE_EXCEEDED);
        }
        amount_b = b_opt.value;
    } else {
        // b_opt > b_desired means a_desired·r_b > b_desired·r_a, so a_opt < a_desired:
        // never saturated.
        let a_opt = quote(b_desired, pool.reserve_b, pool.reserve_a);
        if (!ge_q64(a_opt, a_min)) {
            return status_only(STATUS_SLIPPAGE_EXCEEDED);
        }
        amount_a = a_opt.value;
    }
    // Step 10.
    let balance_a = load_balance(pool.token_a, s);
    let balance_b = load_balance(pool.token_b, s);
    if (lt64(balance_a, amount_a) || lt64(balance_b, amount_b)) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 11. The minted shares fit u64: min(x, y) ≤ √(x·y) ≤ √(A·B) < 2^64, as
    // x·y = A·B·S² / (r_a·r_b) and S² ≤ r_a·r_b.
    let minimum = vec2<u32>(MINIMUM_LIQUIDITY, 0u);
    var liquidity: vec2<u32>;
    var supply: vec2<u32>;
    if (eq64(pool.lp_supply, vec2<u32>(0u, 0u))) {
        let root = isqrt128(amount_a, amount_b);
        if (!lt64(minimum, root)) {
            return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
        }
        liquidity = sub64(root, minimum);
        supply = root;
    } else {
        let shares = min_q64(
            quote(amount_a, pool.reserve_a, pool.lp_supply),
            quote(amount_b, pool.reserve_b, pool.lp_supply),
        );
        if (!shares.over && eq64(shares.value, vec2<u32>(0u, 0u))) {
            return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
        }
        liquidity = shares.value;
        supply = add64(pool.lp_supply, liquidity);
    }
    // Step 12. The LP token is neither of the pool's tokens (genesis check).
    store_balance(pool.token_a, s, sub64(balance_a, amount_a));
    store_balance(pool.token_b, s, sub64(balance_b, amount_b));
    store_balance(pool.lp_token, s, add64(load_balance(pool.lp_token, s), liquidity));
    pools[id].reserve_a = add64(pool.reserve_a, amount_a);
    pools[id].reserve_b = add64(pool.reserve_b, amount_b);
    pools[id].lp_supply = supply;
    return Outcome(STATUS_OK, amount_a, amount_b, liquidity);
}

// Steps 7–12 of RemoveLiquidity for a signer `s` that has paid the fee.
fn execute_remove_liquidity(tx: ExecTx, s: u32) -> Outcome {
    let id = tx.token_or_pool;
    let checked = lp_pool_status(id);
    if (checked != STATUS_OK) {
        return status_only(checked);
    }
    let pool = pools[id];
    let liquidity = tx.amounts[0];
    let a_min = tx.amounts[1];
    let b_min = tx.amounts[2];
    // Step 9.
    let lp_balance = load_balance(pool.lp_token, s);
    if (lt64(lp_balance, liquidity)) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 10: both 0 when S = 0. A holder has at most S − 1000 < S shares, so the
    // quotients are below the reserves.
    var amount_a = vec2<u32>(0u, 0u);
    var amount_b = vec2<u32>(0u, 0u);
    if (!eq64(pool.lp_supply, vec2<u32>(0u, 0u))) {
        amount_a = quote(liquidity, pool.lp_supply, pool.reserve_a).value;
        amount_b = quote(liquidity, pool.lp_supply, pool.reserve_b).value;
    }
    if (eq64(amount_a, vec2<u32>(0u, 0u)) || eq64(amount_b, vec2<u32>(0u, 0u))) {
        return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
    }
    // Step 11.
    if (lt64(amount_a, a_min) || lt64(amount_b, b_min)) {
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 12.
    store_balance(pool.lp_token, s, sub64(lp_balance, liquidity));
    store_balance(pool.token_a, s, add64(load_balance(pool.token_a, s), amount_a));
    store_balance(pool.token_b, s, add64(load_balance(pool.token_b, s), amount_b));
    pools[id].reserve_a = sub64(pool.reserve_a, amount_a);
    pools[id].reserve_b = sub64(pool.reserve_b, amount_b);
    pools[id].lp_supply = sub64(pool.lp_supply, liquidity);
    return Outcome(STATUS_OK, amount_a, amount_b, liquidity);
}

// Steps 7–12 of Route for a signer `s` that has paid the fee. The pools are distinct, so
// pricing each hop on the reserves as they are before the tx equals pricing it as the
// hop runs. Loop iterations, at most: 4 (step 7) + 4 (step 8) + 4 hops × (1 + 104 for
// amount_in, or 76 for amount_out) (step 9) + 4 (step 12) = 432.
fn execute_route(tx: ExecTx, s: u32) -> Outcome {
    // The decoder keeps 1 ≤ hops ≤ MAX_ROUTE_HOPS; the min keeps every index in bounds.
    let hops = min(tx.hops, MAX_ROUTE_HOPS);
    var route_pools = tx.route_pools;
    for (var h = 0u; h < hops; h++) {
        if (route_pools[h] >= params.n_pools) {
            // Step 7.
            return status_only(STATUS_UNKNOWN_POOL);
        }
    }
    // Step 8: each hop takes the token the previous one gives.
    var a_to_b: array<bool, 4>;
    var token = tx.token_or_pool;
    for (var h = 0u; h < hops; h++) {
        let pool = pools[route_pools[h]];
        if (pool.token_a == token) {
            a_to_b[h] = true;
            token = pool.token_b;
        } else if (pool.token_b == token) {
            a_to_b[h] = false;
            token = pool.token_a;
        } else {
            return status_only(STATUS_BAD_ROUTE);
        }
    }
    let token_in = tx.token_or_pool;
    let token_out = token;
    // Step 9: x[0] is the input, x[hops] the output.
    var x: array<vec2<u32>, 5>;
    // x[0] ≥ 2^64 (exact_out): never covered by a balance (step 10).
    var x0_over = false;
    if (tx.direction == ROUTE_EXACT_IN) {
        x[0] = tx.amounts[0];
        for (var h = 0u; h < hops; h++) {
            let pool = pools[route_pools[h]];
            let r_in = select(pool.reserve_b, pool.reserve_a, a_to_b[h]);
            let r_out = select(pool.reserve_a, pool.reserve_b, a_to_b[h]);
            x[h + 1u] = amount_out(x[h], r_in, r_out, pool.fee_bps);
        }
    } else {
        x[hops] = tx.amounts[0];
        for (var k = 0u; k < hops; k++) {
            let h = hops - 1u - k;
            let pool = pools[route_pools[h]];
            let r_in = select(pool.reserve_b, pool.reserve_a, a_to_b[h]);
            let r_out = select(pool.reserve_a, pool.reserve_b, a_to_b[h]);
            // An input of 2^64 or more needed from the hop before is saturated to
            // 2^64 − 1 ≥ r_out, so it fails here too.
            if (!lt64(x[h + 1u], r_out)) {
                return status_only(STATUS_INSUFFICIENT_LIQUIDITY);
            }
            let need = amount_in(x[h + 1u], r_in, r_out, pool.fee_bps);
            x[h] = need.value;
            x0_over = need.over;
        }
    }
    // Step 10.
    let balance_in = load_balance(token_in, s);
    if (x0_over || lt64(balance_in, x[0])) {
        return status_only(STATUS_INSUFFICIENT_BALANCE);
    }
    // Step 11.
    let limit = tx.amounts[1];
    let exact_in = tx.direction == ROUTE_EXACT_IN;
    if ((exact_in && lt64(x[hops], limit)) || (!exact_in && lt64(limit, x[0]))) {
        return status_only(STATUS_SLIPPAGE_EXCEEDED);
    }
    // Step 12: pay, then receive (the last token may be token_in).
    store_balance(token_in, s, sub64(balance_in, x[0]));
    store_balance(token_out, s, add64(load_balance(token_out, s), x[hops]));
    for (var h = 0u; h < hops; h++) {
        let id = route_pools[h];
        if (a_to_b[h]) {
            pools[id].reserve_a = add64(pools[id].reserve_a, x[h]);
            pools[id].reserve_b = sub64(pools[id].reserve_b, x[h + 1u]);
        } else {
            pools[id].reserve_b = add64(pools[id].reserve_b, x[h]);
            pools[id].reserve_a = sub64(pools[id].reserve_a, x[h + 1u]);
        }
    }
    return Outcome(STATUS_OK, x[0], x[hops], vec2<u32>(0u, 0u));
}

// Steps 4–10 of docs/SPEC.md (Semantics) for tx `i`, receipt included.
fn execute_tx(i: u32) {
    let tx = txs[i];
    let s = tx.signer;
    // Step 4. nonce < 2^64 − 1 also keeps the increment below from wrapping.
    let nonce = vec2<u32>(nonces[2u * s], nonces[2u * s + 1u]);
    if (!eq64(tx.nonce, nonce) || eq64(tx.nonce, vec2<u32>(0xffffffffu, 0xffffffffu))) {
        write_receipt(i, status_only(STATUS_BAD_NONCE));
        return;
    }
    // Step 5.
    let fee_balance = load_balance(0u, s);
    if (lt64(fee_balance, tx.fee)) {
        write_receipt(i, status_only(STATUS_INSUFFICIENT_FEE));
        return;
    }
    // Step 6.
    store_balance(0u, s, sub64(fee_balance, tx.fee));
    let next = add64(nonce, vec2<u32>(1u, 0u));
    nonces[2u * s] = next.x;
    nonces[2u * s + 1u] = next.y;
    credit(0u, params.fee_collector, tx.fee);

    // One case per kind; `default` is a kind the host never uploads. Its fee and nonce
    // changes above stay on the device, which the host then drops with the block.
    var outcome = status_only(EXEC_STATUS_UNKNOWN_KIND);
    switch (tx.kind) {
        case TX_KIND_TRANSFER: { outcome = execute_transfer(tx, s); }
        case TX_KIND_SWAP: { outcome = execute_swap(tx, s); }
        case TX_KIND_ADD_LIQUIDITY: { outcome = execute_add_liquidity(tx, s); }
        case TX_KIND_REMOVE_LIQUIDITY: { outcome = execute_remove_liquidity(tx, s); }
        case TX_KIND_ROUTE: { outcome = execute_route(tx, s); }
        default: { outcome = status_only(EXEC_STATUS_UNKNOWN_KIND); }
    }
    write_receipt(i, outcome);
}

// One segment: a parallel wave (invocation j runs entry j) or a serial run of consecutive
// small waves (invocation 0 runs every entry in order: waves in order, and inside a wave
// any order is serial-equivalent).
@compute @workgroup_size(WORKGROUP_SIZE)
fn exec_segment(inv: Invocation) {
    let j = invocation_index(inv);
    if (segment.mode == SEGMENT_SERIAL) {
        if (j == 0u) {
            for (var k = 0u; k < segment.count; k++) {
                execute_tx(order[segment.first + k]);
            }
        }
        return;
    }
    if (j >= segment.count) {
        return;
    }
    execute_tx(order[segment.first + j]);
}

// After every segment: copies the columns the block may have changed (nonce and balances
// of each gathered account, reserves and LP supply of each gathered pool) to `out` for
// the readback.
// Invocation j handles gather entry `segment.first + j`.
@compute @workgroup_size(WORKGROUP_SIZE)
fn gather_changed(inv: Invocation) {
    let j = invocation_index(inv);
    if (j >= segment.count) {
        return;
    }
    let k = segment.first + j;
    let account_words = 2u + 2u * params.tokens;
    if (k < params.n_gather_accounts) {
        let a = gather[k];
        let at = params.gather_offset + k * account_words;
        out[at] = nonces[2u * a];
        out[at + 1u] = nonces[2u * a + 1u];
        for (var t = 0u; t < params.tokens; t++) {
            let b = load_balance(t, a);
            out[at + 2u + 2u * t] = b.x;
            out[at + 3u + 2u * t] = b.y;
        }
    } else if (k < params.n_gather_accounts + params.n_gather_pools) {
        let p = gather[k];
        let at = params.gather_offset + params.n_gather_accounts * account_words
            + (k - params.n_gather_accounts) * POOL_GATHER_WORDS;
        out[at] = pools[p].reserve_a.x;
        out[at + 1u] = pools[p].reserve_a.y;
        out[at + 2u] = pools[p].reserve_b.x;
        out[at + 3u] = pools[p].reserve_b.y;
        out[at + 4u] = pools[p].lp_supply.x;
        out[at + 5u] = pools[p].lp_supply.y;
    }
}
