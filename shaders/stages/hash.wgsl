// Batch BLAKE3 of many messages of any length (BLAKE3 specification, sections 2.3–2.5).
// Needs shaders/shared/dispatch.wgsl and shaders/shared/blake3_compress.wgsl in front of
// it. CPU twin: src/hash/twin.rs.
//
// A batch is split into 1024-byte chunks, globally numbered. `hash_chunks` runs one
// invocation per chunk: a one-chunk message is finished there (ROOT on its last block) and
// its hash written to `digests`; a chunk of a longer message writes its chaining value to
// `cvs`. `reduce_chunk_trees` then runs one invocation per message and folds the chunk
// chaining values of each multi-chunk message into its hash.

// Keep in sync with `HashParams` in src/hash/gpu.rs.
struct HashParams {
    n_chunks: u32,
    n_msgs: u32,
    pad0: u32,
    pad1: u32,
}

// Keep in sync with `MsgDesc` in src/hash/gpu.rs.
struct MsgDesc {
    // Where the message starts in `data`, in words; messages start on word boundaries and
    // the host zero-fills the last word of each.
    offset_words: u32,
    len_bytes: u32,
    // Global index of the message's first chunk: its slot in `cvs`.
    first_chunk: u32,
    // max(1, ceil(len_bytes / 1024)): the empty message is one empty chunk.
    n_chunks: u32,
}

@group(0) @binding(0) var<uniform> params: HashParams;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> descs: array<MsgDesc>;
// Message index of every global chunk.
@group(0) @binding(3) var<storage, read> chunk_msg: array<u32>;
// 8 words per global chunk; only multi-chunk messages use their slots.
@group(0) @binding(4) var<storage, read_write> cvs: array<u32>;
// 8 words per message: the hashes.
@group(0) @binding(5) var<storage, read_write> digests: array<u32>;

// The 16 words of the block that starts at byte `block_start` of message d, zero past its end.
fn load_block(d: MsgDesc, block_start: u32) -> array<u32, 16> {
    var m: array<u32, 16>;
    for (var k = 0u; k < 16u; k++) {
        let at = block_start + 4u * k;
        if (at < d.len_bytes) {
            m[k] = data[d.offset_words + at / 4u];
        } else {
            m[k] = 0u;
        }
    }
    return m;
}

// Chaining value of chunk `chunk` of message d (specification section 2.4). `last_flags`
// is added to the flags of the chunk's last block: BLAKE3_ROOT for a one-chunk message.
fn chunk_cv(d: MsgDesc, chunk: u32, last_flags: u32) -> array<u32, 8> {
    let start = chunk * BLAKE3_CHUNK_LEN;
    let chunk_len = min(BLAKE3_CHUNK_LEN, d.len_bytes - start);
    let n_blocks = max(1u, (chunk_len + BLAKE3_BLOCK_LEN - 1u) / BLAKE3_BLOCK_LEN);
    var cv = BLAKE3_IV;
    for (var b = 0u; b < n_blocks; b++) {
        var flags = 0u;
        if (b == 0u) {
            flags |= BLAKE3_CHUNK_START;
        }
        if (b + 1u == n_blocks) {
            flags |= BLAKE3_CHUNK_END | last_flags;
        }
        let block_start = start + b * BLAKE3_BLOCK_LEN;
        let block_len = min(BLAKE3_BLOCK_LEN, chunk_len - b * BLAKE3_BLOCK_LEN);
        // The chunk counter is the chunk's index in its message; messages are < 4 GiB, so
        // its high word is 0.
        cv = blake3_compress(cv, load_block(d, block_start), chunk, 0u, block_len, flags);
    }
    return cv;
}

fn load_cv(slot: u32) -> array<u32, 8> {
    var cv: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) {
        cv[k] = cvs[slot * 8u + k];
    }
    return cv;
}

fn store_cv(slot: u32, cv: array<u32, 8>) {
    var v = cv;
    for (var k = 0u; k < 8u; k++) {
        cvs[slot * 8u + k] = v[k];
    }
}

fn store_digest(msg: u32, cv: array<u32, 8>) {
    var v = cv;
    for (var k = 0u; k < 8u; k++) {
        digests[msg * 8u + k] = v[k];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn hash_chunks(inv: Invocation) {
    let i = invocation_index(inv);
    if (i >= params.n_chunks) {
        return;
    }
    let msg = chunk_msg[i];
    let d = descs[msg];
    let chunk = i - d.first_chunk;
    if (d.n_chunks == 1u) {
        store_digest(msg, chunk_cv(d, chunk, BLAKE3_ROOT));
    } else {
        store_cv(i, chunk_cv(d, chunk, 0u));
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_chunk_trees(inv: Invocation) {
    let msg = invocation_index(inv);
    if (msg >= params.n_msgs) {
        return;
    }
    let d = descs[msg];
    if (d.n_chunks < 2u) {
        return;
    }
    // Pair neighbours level by level, in place; an odd last value moves up unchanged. This
    // builds the tree of specification section 2.5 (the left subtree holds the largest
    // power of two of chunks that leaves the right one non-empty). Writing slot j after
    // reading slots 2j and 2j + 1 never overwrites a value still to be read.
    let base = d.first_chunk;
    var n = d.n_chunks;
    while (n > 2u) {
        let half = n / 2u;
        for (var j = 0u; j < half; j++) {
            store_cv(base + j, parent_cv(load_cv(base + 2u * j), load_cv(base + 2u * j + 1u), 0u));
        }
        if ((n & 1u) == 1u) {
            store_cv(base + half, load_cv(base + n - 1u));
        }
        n = half + (n & 1u);
    }
    store_digest(msg, parent_cv(load_cv(base), load_cv(base + 1u), BLAKE3_ROOT));
}
