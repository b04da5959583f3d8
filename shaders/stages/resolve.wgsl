// Account lookups for the resolve stage: public key → account index through a hash table
// kept on the device beside the executor's resident pubkeys. Needs
// shaders/shared/dispatch.wgsl and shaders/shared/blake3_compress.wgsl in front of it.
// CPU twin: `lookup` and `home_slot` in src/resolve/gpu.rs.
//
// The table has a power-of-two number of slots, each an account index or RESOLVE_EMPTY,
// filled by linear probing from the slot a keyed BLAKE3 hash of the pubkey names (the key
// is random per executor, so no one can pick keys that collide on purpose). The host keeps
// the same table, inserts the accounts each block appends, uploads only the slots that
// changed, and passes the longest probe run so every loop is bounded.

// Keep in sync with `ResolveParams` in src/resolve/gpu.rs.
struct ResolveParams {
    n_queries: u32,
    // Slots − 1.
    mask: u32,
    // Longest run any entry sits from its home slot; a lookup probes at most this + 1.
    max_probe: u32,
    pad0: u32,
    key_lo: vec4<u32>,
    key_hi: vec4<u32>,
}

const RESOLVE_EMPTY: u32 = 0xFFFFFFFFu;
// BLAKE3 specification table 3.
const RESOLVE_KEYED_HASH: u32 = 16u;

@group(0) @binding(0) var<uniform> resolve_params: ResolveParams;
// 8 words per account: the executor's resident pubkeys.
@group(0) @binding(1) var<storage, read> resolve_pubkeys: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
// 8 words per query.
@group(0) @binding(3) var<storage, read> queries: array<u32>;
// Per query: the account index, or RESOLVE_EMPTY when no account has that pubkey.
@group(0) @binding(4) var<storage, read_write> found: array<u32>;

// Home slot of a pubkey: the first word of its keyed BLAKE3 hash, masked.
fn home_slot(pk: array<u32, 8>) -> u32 {
    let key = array<u32, 8>(
        resolve_params.key_lo.x, resolve_params.key_lo.y, resolve_params.key_lo.z,
        resolve_params.key_lo.w, resolve_params.key_hi.x, resolve_params.key_hi.y,
        resolve_params.key_hi.z, resolve_params.key_hi.w,
    );
    var block: array<u32, 16>;
    for (var k = 0u; k < 8u; k++) {
        block[k] = pk[k];
    }
    let flags = BLAKE3_CHUNK_START | BLAKE3_CHUNK_END | BLAKE3_ROOT | RESOLVE_KEYED_HASH;
    let h = blake3_compress(key, block, 0u, 0u, 32u, flags);
    return h[0] & resolve_params.mask;
}

fn pubkey_matches(account: u32, pk: array<u32, 8>) -> bool {
    var p = pk;
    for (var k = 0u; k < 8u; k++) {
        if (resolve_pubkeys[account * 8u + k] != p[k]) {
            return false;
        }
    }
    return true;
}

fn lookup(pk: array<u32, 8>) -> u32 {
    let home = home_slot(pk);
    for (var p = 0u; p <= resolve_params.max_probe; p++) {
        let entry = table[(home + p) & resolve_params.mask];
        if (entry == RESOLVE_EMPTY) {
            return RESOLVE_EMPTY;
        }
        if (pubkey_matches(entry, pk)) {
            return entry;
        }
    }
    return RESOLVE_EMPTY;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn lookup_accounts(inv: Invocation) {
    let q = invocation_index(inv);
    if (q >= resolve_params.n_queries) {
        return;
    }
    var pk: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) {
        pk[k] = queries[q * 8u + k];
    }
    found[q] = lookup(pk);
}
