// Execution of a block's waves over resident structure-of-arrays state: docs/SPEC.md
// (Semantics) steps 4–10 for every ready tx. Needs shaders/shared/dispatch.wgsl,
// shaders/shared/u64.wgsl and shaders/shared/pool_words.wgsl in front. CPU twin:
// src/exec/twin.rs.
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
    // NO_ACCOUNT for a swap.
    recipient: u32,
    // Transfer: token. Swap: pool index.
    token_or_pool: u32,
    direction: u32,
    pad0: u32,
    nonce: vec2<u32>,
    fee: vec2<u32>,
    // Transfer: amount. Swap: amount_in.
    amount: vec2<u32>,
    min_out: vec2<u32>,
    pad1: vec2<u32>,
}

// Keep in sync with the constants of the same names in src/exec/layout.rs.
const NO_ACCOUNT: u32 = 0xffffffffu;
const TX_KIND_TRANSFER: u32 = 1u;
const TX_KIND_SWAP: u32 = 2u;
const DIRECTION_A_TO_B: u32 = 0u;
const SEGMENT_PARALLEL: u32 = 0u;
const SEGMENT_SERIAL: u32 = 1u;
const RECEIPT_WORDS: u32 = 4u;
const POOL_GATHER_WORDS: u32 = 4u;
// Receipt status codes of docs/SPEC.md; keep in sync with `receipt::Status` (src/receipt.rs).
const STATUS_OK: u32 = 0u;
const STATUS_BAD_NONCE: u32 = 4u;
const STATUS_INSUFFICIENT_FEE: u32 = 5u;
const STATUS_UNKNOWN_TOKEN: u32 = 6u;
const STATUS_UNKNOWN_POOL: u32 = 7u;
const STATUS_INSUFFICIENT_BALANCE: u32 = 8u;
const STATUS_SLIPPAGE_EXCEEDED: u32 = 9u;
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
// RECEIPT_WORDS per tx (status, amount_out low, high, 0), then the gathered columns.
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

fn write_receipt(i: u32, status: u32, amount_out: vec2<u32>) {
    let at = RECEIPT_WORDS * i;
    out[at] = status;
    out[at + 1u] = amount_out.x;
    out[at + 2u] = amount_out.y;
    out[at + 3u] = 0u;
}

// Status and amount_out of one tx.
struct Outcome {
    status: u32,
    amount_out: vec2<u32>,
}

// Steps 7T–9T for a transfer whose signer `s` has paid the fee.
fn execute_transfer(tx: ExecTx, s: u32) -> Outcome {
    let none = vec2<u32>(0u, 0u);
    if (tx.token_or_pool >= params.tokens) {
        // Step 7T.
        return Outcome(STATUS_UNKNOWN_TOKEN, none);
    }
    let balance = load_balance(tx.token_or_pool, s);
    if (lt64(balance, tx.amount)) {
        // Step 8T.
        return Outcome(STATUS_INSUFFICIENT_BALANCE, none);
    }
    // Step 9T. The signer is a Write key of this tx, the recipient a Credit key.
    store_balance(tx.token_or_pool, s, sub64(balance, tx.amount));
    credit(tx.token_or_pool, tx.recipient, tx.amount);
    return Outcome(STATUS_OK, none);
}

// Steps 7S–10S for a swap whose signer `s` has paid the fee.
fn execute_swap(tx: ExecTx, s: u32) -> Outcome {
    let none = vec2<u32>(0u, 0u);
    if (tx.token_or_pool >= params.n_pools) {
        // Step 7S.
        return Outcome(STATUS_UNKNOWN_POOL, none);
    }
    let pool = pools[tx.token_or_pool];
    let a_to_b = tx.direction == DIRECTION_A_TO_B;
    let token_in = select(pool.token_b, pool.token_a, a_to_b);
    let token_out = select(pool.token_a, pool.token_b, a_to_b);
    let reserve_in = select(pool.reserve_b, pool.reserve_a, a_to_b);
    let reserve_out = select(pool.reserve_a, pool.reserve_b, a_to_b);
    let balance_in = load_balance(token_in, s);
    if (lt64(balance_in, tx.amount)) {
        // Step 8S.
        return Outcome(STATUS_INSUFFICIENT_BALANCE, none);
    }
    let got = swap_out(tx.amount, reserve_in, reserve_out, pool.fee_bps);
    if (lt64(got, tx.min_out)) {
        // Step 9S.
        return Outcome(STATUS_SLIPPAGE_EXCEEDED, none);
    }
    // Step 10S. The signer and the pool are Write keys of this tx.
    store_balance(token_in, s, sub64(balance_in, tx.amount));
    store_balance(token_out, s, add64(load_balance(token_out, s), got));
    let new_in = add64(reserve_in, tx.amount);
    let new_out = sub64(reserve_out, got);
    if (a_to_b) {
        pools[tx.token_or_pool].reserve_a = new_in;
        pools[tx.token_or_pool].reserve_b = new_out;
    } else {
        pools[tx.token_or_pool].reserve_b = new_in;
        pools[tx.token_or_pool].reserve_a = new_out;
    }
    return Outcome(STATUS_OK, got);
}

// Steps 4–10 of docs/SPEC.md (Semantics) for tx `i`, receipt included.
fn execute_tx(i: u32) {
    let tx = txs[i];
    let s = tx.signer;
    // Step 4. nonce < 2^64 − 1 also keeps the increment below from wrapping.
    let nonce = vec2<u32>(nonces[2u * s], nonces[2u * s + 1u]);
    if (!eq64(tx.nonce, nonce) || eq64(tx.nonce, vec2<u32>(0xffffffffu, 0xffffffffu))) {
        write_receipt(i, STATUS_BAD_NONCE, vec2<u32>(0u, 0u));
        return;
    }
    // Step 5.
    let fee_balance = load_balance(0u, s);
    if (lt64(fee_balance, tx.fee)) {
        write_receipt(i, STATUS_INSUFFICIENT_FEE, vec2<u32>(0u, 0u));
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
    var outcome = Outcome(EXEC_STATUS_UNKNOWN_KIND, vec2<u32>(0u, 0u));
    switch (tx.kind) {
        case TX_KIND_TRANSFER: { outcome = execute_transfer(tx, s); }
        case TX_KIND_SWAP: { outcome = execute_swap(tx, s); }
        default: { outcome = Outcome(EXEC_STATUS_UNKNOWN_KIND, vec2<u32>(0u, 0u)); }
    }
    write_receipt(i, outcome.status, outcome.amount_out);
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
// of each gathered account, reserves of each gathered pool) to `out` for the readback.
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
    }
}
