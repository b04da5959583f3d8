// Account and pool leaves (docs/FORMATS.md, "Roots") hashed straight from the executor's
// resident columns, so the commit stage uploads nothing but the list of accounts a block
// touched. Needs shaders/shared/dispatch.wgsl, shaders/shared/blake3_compress.wgsl and
// shaders/shared/pool_words.wgsl in front of it. CPU twin: src/commit/twin.rs.
//
// Account leaf message: 0x00 ‖ pubkey ‖ nonce ‖ balance of every token (u64 little-endian),
// 41 + 8·tokens bytes. After the tag byte the message is a run of whole words V — the
// pubkey's 8 words, the nonce's 2, then 2 per token — so message word w is the top byte of
// V[w − 1] joined with the low three bytes of V[w]. Pool leaf message: 0x02 ‖ token_a ‖
// token_b ‖ fee_bps (u16 each) ‖ reserve_a ‖ reserve_b (u64), 23 bytes; a pool with an LP
// token: 0x04, the same fields, then lp_token (u16) ‖ lp_supply (u64), 33 bytes. One
// block either way.

// Keep in sync with `LeafParams` in src/commit/gpu_leaves.rs.
struct LeafParams {
    // Accounts to hash: entries of `dirty`, or accounts 0..count when all_accounts is 1.
    count: u32,
    all_accounts: u32,
    tokens: u32,
    // Accounts per balance column (the executor's `account_cap`).
    account_cap: u32,
    n_pools: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

const ACCOUNT_LEAF_TAG: u32 = 0x00u;
const POOL_LEAF_TAG: u32 = 0x02u;
const LP_POOL_LEAF_TAG: u32 = 0x04u;

@group(0) @binding(0) var<uniform> leaf_params: LeafParams;
// 8 words per account.
@group(0) @binding(1) var<storage, read> pubkeys: array<u32>;
// 2 words per account, low word first.
@group(0) @binding(2) var<storage, read> leaf_nonces: array<u32>;
// Column per token, `account_cap` accounts each, 2 words per balance.
@group(0) @binding(3) var<storage, read> leaf_balances: array<u32>;
// Accounts to rehash (unused when all_accounts is 1).
@group(0) @binding(4) var<storage, read> dirty: array<u32>;
// 8 words per account: the leaves, kept between blocks.
@group(0) @binding(5) var<storage, read_write> account_leaves: array<u32>;
@group(0) @binding(6) var<storage, read> leaf_pools: array<PoolWords>;
// 8 words per pool.
@group(0) @binding(7) var<storage, read_write> pool_leaves: array<u32>;

// Word k of the run V of account i (everything after the tag byte).
fn account_run_word(i: u32, k: u32) -> u32 {
    if (k < 8u) {
        return pubkeys[i * 8u + k];
    }
    if (k < 10u) {
        return leaf_nonces[i * 2u + (k - 8u)];
    }
    let t = (k - 10u) / 2u;
    return leaf_balances[(t * leaf_params.account_cap + i) * 2u + ((k - 10u) & 1u)];
}

// Word w of account i's leaf message; zero past its end.
fn account_message_word(i: u32, w: u32) -> u32 {
    let run = 10u + 2u * leaf_params.tokens;
    if (w > run) {
        return 0u;
    }
    var word = 0u;
    if (w == 0u) {
        word = ACCOUNT_LEAF_TAG;
    } else {
        word = account_run_word(i, w - 1u) >> 24u;
    }
    if (w < run) {
        word |= account_run_word(i, w) << 8u;
    }
    return word;
}

// Chaining value of chunk c of account i's leaf message (BLAKE3 specification 2.4);
// `last_flags` joins the flags of the chunk's last block.
fn account_chunk_cv(i: u32, len: u32, c: u32, last_flags: u32) -> array<u32, 8> {
    let start = c * BLAKE3_CHUNK_LEN;
    let chunk_len = min(BLAKE3_CHUNK_LEN, len - start);
    let n_blocks = (chunk_len + BLAKE3_BLOCK_LEN - 1u) / BLAKE3_BLOCK_LEN;
    var cv = BLAKE3_IV;
    for (var b = 0u; b < n_blocks; b++) {
        var block: array<u32, 16>;
        let first_word = (start + b * BLAKE3_BLOCK_LEN) / 4u;
        for (var k = 0u; k < 16u; k++) {
            block[k] = account_message_word(i, first_word + k);
        }
        var flags = 0u;
        if (b == 0u) {
            flags |= BLAKE3_CHUNK_START;
        }
        if (b + 1u == n_blocks) {
            flags |= BLAKE3_CHUNK_END | last_flags;
        }
        let block_len = min(BLAKE3_BLOCK_LEN, chunk_len - b * BLAKE3_BLOCK_LEN);
        cv = blake3_compress(cv, block, c, 0u, block_len, flags);
    }
    return cv;
}

// BLAKE3 of account i's leaf message. With at most 256 tokens the message is at most 2089
// bytes: one, two or three chunks, whose tree is the root itself, parent(c0, c1), or
// parent(parent(c0, c1), c2) (specification 2.5: the left subtree holds the largest power
// of two of chunks).
fn account_leaf_hash(i: u32) -> array<u32, 8> {
    let len = 41u + 8u * leaf_params.tokens;
    let n_chunks = (len + BLAKE3_CHUNK_LEN - 1u) / BLAKE3_CHUNK_LEN;
    if (n_chunks == 1u) {
        return account_chunk_cv(i, len, 0u, BLAKE3_ROOT);
    }
    let c0 = account_chunk_cv(i, len, 0u, 0u);
    let c1 = account_chunk_cv(i, len, 1u, 0u);
    if (n_chunks == 2u) {
        return parent_cv(c0, c1, BLAKE3_ROOT);
    }
    let c2 = account_chunk_cv(i, len, 2u, 0u);
    return parent_cv(parent_cv(c0, c1, 0u), c2, BLAKE3_ROOT);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hash_account_leaves(inv: Invocation) {
    let j = invocation_index(inv);
    if (j >= leaf_params.count) {
        return;
    }
    var i = j;
    if (leaf_params.all_accounts == 0u) {
        i = dirty[j];
    }
    var leaf = account_leaf_hash(i);
    for (var k = 0u; k < 8u; k++) {
        account_leaves[i * 8u + k] = leaf[k];
    }
}

// The pool leaf message as a block: 23 bytes in 6 words (the last holds 3 bytes), or
// with an LP token 33 bytes in 9 words (the last holds 1 byte); see pool_message_len.
fn pool_message(p: PoolWords) -> array<u32, 16> {
    let has_lp = p.lp_token != NO_LP_TOKEN;
    let tag = select(POOL_LEAF_TAG, LP_POOL_LEAF_TAG, has_lp);
    var m: array<u32, 16>;
    m[0] = tag | ((p.token_a & 0xFFFFu) << 8u) | ((p.token_b & 0xFFu) << 24u);
    m[1] = ((p.token_b >> 8u) & 0xFFu) | ((p.fee_bps & 0xFFFFu) << 8u) | (p.reserve_a.x << 24u);
    m[2] = (p.reserve_a.x >> 8u) | (p.reserve_a.y << 24u);
    m[3] = (p.reserve_a.y >> 8u) | (p.reserve_b.x << 24u);
    m[4] = (p.reserve_b.x >> 8u) | (p.reserve_b.y << 24u);
    m[5] = p.reserve_b.y >> 8u;
    if (has_lp) {
        // Bytes 23–24 lp_token, 25–32 lp_supply.
        m[5] |= (p.lp_token & 0xFFu) << 24u;
        m[6] = ((p.lp_token >> 8u) & 0xFFu) | (p.lp_supply.x << 8u);
        m[7] = (p.lp_supply.x >> 24u) | (p.lp_supply.y << 8u);
        m[8] = p.lp_supply.y >> 24u;
    }
    return m;
}

// Bytes of the pool leaf message.
fn pool_message_len(p: PoolWords) -> u32 {
    return select(23u, 33u, p.lp_token != NO_LP_TOKEN);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hash_pool_leaves(inv: Invocation) {
    let j = invocation_index(inv);
    if (j >= leaf_params.n_pools) {
        return;
    }
    let flags = BLAKE3_CHUNK_START | BLAKE3_CHUNK_END | BLAKE3_ROOT;
    let p = leaf_pools[j];
    var leaf = blake3_compress(BLAKE3_IV, pool_message(p), 0u, 0u, pool_message_len(p), flags);
    for (var k = 0u; k < 8u; k++) {
        pool_leaves[j * 8u + k] = leaf[k];
    }
}
