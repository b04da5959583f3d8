// One level of the txwave Merkle tree (docs/FORMATS.md, "Roots"): parent = BLAKE3(0x01 ‖ left ‖
// right), an odd last node moves up unchanged. Needs shaders/shared/dispatch.wgsl and
// shaders/shared/blake3_compress.wgsl in front of it. CPU twin: src/commit/twin.rs.

// Keep in sync with `LevelParams` in src/commit/gpu_merkle.rs.
struct LevelParams {
    n_in: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

// Domain byte of an interior node; keep in sync with `commit::NODE_TAG`.
const MERKLE_NODE_TAG: u32 = 0x01u;

@group(0) @binding(0) var<uniform> level: LevelParams;
// 8 words per node.
@group(0) @binding(1) var<storage, read> nodes_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> nodes_out: array<u32>;

// BLAKE3 of the 65-byte message tag ‖ left ‖ right: one chunk of two blocks. The tag byte
// shifts every following byte by one, so each word of block 0 joins the top byte of one
// input word with the low three bytes of the next; block 1 holds the last byte of right.
fn node_hash(left: array<u32, 8>, right: array<u32, 8>) -> array<u32, 8> {
    var l = left;
    var r = right;
    var b0: array<u32, 16>;
    b0[0] = MERKLE_NODE_TAG | (l[0] << 8u);
    for (var k = 1u; k < 8u; k++) {
        b0[k] = (l[k - 1u] >> 24u) | (l[k] << 8u);
    }
    b0[8] = (l[7] >> 24u) | (r[0] << 8u);
    for (var k = 9u; k < 16u; k++) {
        b0[k] = (r[k - 9u] >> 24u) | (r[k - 8u] << 8u);
    }
    var b1: array<u32, 16>;
    b1[0] = r[7] >> 24u;
    let cv = blake3_compress(BLAKE3_IV, b0, 0u, 0u, BLAKE3_BLOCK_LEN, BLAKE3_CHUNK_START);
    return blake3_compress(cv, b1, 0u, 0u, 1u, BLAKE3_CHUNK_END | BLAKE3_ROOT);
}

fn load_node(index: u32) -> array<u32, 8> {
    var node: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) {
        node[k] = nodes_in[index * 8u + k];
    }
    return node;
}

fn store_node(index: u32, node: array<u32, 8>) {
    var v = node;
    for (var k = 0u; k < 8u; k++) {
        nodes_out[index * 8u + k] = v[k];
    }
}

// Invocation j writes node j of the next level from nodes 2j and 2j + 1 of this one.
@compute @workgroup_size(WORKGROUP_SIZE)
fn merkle_level(inv: Invocation) {
    let j = invocation_index(inv);
    let n_out = level.n_in / 2u + (level.n_in & 1u);
    if (j >= n_out) {
        return;
    }
    let left = load_node(2u * j);
    if (2u * j + 1u < level.n_in) {
        store_node(j, node_hash(left, load_node(2u * j + 1u)));
    } else {
        store_node(j, left);
    }
}
