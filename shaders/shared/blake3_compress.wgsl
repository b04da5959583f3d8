// BLAKE3 compression function, 32-bit words only (core WGSL: u32 arithmetic wraps mod 2^32).
//
// Source: the BLAKE3 specification (Aumasson, Neves, O'Connor, Wilcox-O'Hearn, 2021),
// section 2.2, and the reference implementation `reference_impl.rs` of BLAKE3-team/BLAKE3.
// The 16-word state is held as four rows of vec4<u32> — the row layout of the reference
// SSE implementation — so the column step and the diagonal step are each four G functions
// at once: lane k of rows (a, b, c, d) is the k-th G of the step.
//
// This file has no bindings and no entry points; Rust concatenates it in front of
// shaders/stages/hash.wgsl, shaders/stages/merkle.wgsl and shaders/stages/state_leaves.wgsl. CPU twin:
// src/hash/twin.rs.

const BLAKE3_IV: array<u32, 8> = array<u32, 8>(
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
);

// Domain flags (specification table 3).
const BLAKE3_CHUNK_START: u32 = 1u;
const BLAKE3_CHUNK_END: u32 = 2u;
const BLAKE3_PARENT: u32 = 4u;
const BLAKE3_ROOT: u32 = 8u;

const BLAKE3_BLOCK_LEN: u32 = 64u;
const BLAKE3_CHUNK_LEN: u32 = 1024u;

// The state as four rows: a = words 0..3, b = 4..7, c = 8..11, d = 12..15.
struct Blake3Rows {
    a: vec4<u32>,
    b: vec4<u32>,
    c: vec4<u32>,
    d: vec4<u32>,
}

// Rotate every lane right by n bits, 0 < n < 32.
fn blake3_rotr(x: vec4<u32>, n: u32) -> vec4<u32> {
    return (x >> vec4<u32>(n)) | (x << vec4<u32>(32u - n));
}

// Four G functions side by side; mx and my hold the two message words of each lane.
fn blake3_g4(r: Blake3Rows, mx: vec4<u32>, my: vec4<u32>) -> Blake3Rows {
    var a = r.a;
    var b = r.b;
    var c = r.c;
    var d = r.d;
    a = a + b + mx;
    d = blake3_rotr(d ^ a, 16u);
    c = c + d;
    b = blake3_rotr(b ^ c, 12u);
    a = a + b + my;
    d = blake3_rotr(d ^ a, 8u);
    c = c + d;
    b = blake3_rotr(b ^ c, 7u);
    return Blake3Rows(a, b, c, d);
}

// One round: columns (0,4,8,12) .. (3,7,11,15), then diagonals (0,5,10,15) .. (3,4,9,14).
fn blake3_round(r: Blake3Rows, m: array<u32, 16>) -> Blake3Rows {
    var s = blake3_g4(r, vec4<u32>(m[0], m[2], m[4], m[6]), vec4<u32>(m[1], m[3], m[5], m[7]));
    // Rotate rows b, c, d left by 1, 2, 3 lanes: each diagonal now sits in one lane.
    s = Blake3Rows(s.a, s.b.yzwx, s.c.zwxy, s.d.wxyz);
    s = blake3_g4(s, vec4<u32>(m[8], m[10], m[12], m[14]), vec4<u32>(m[9], m[11], m[13], m[15]));
    // And back.
    return Blake3Rows(s.a, s.b.wxyz, s.c.zwxy, s.d.yzwx);
}

// The message word permutation applied between rounds (specification table 2).
fn blake3_permute(m: array<u32, 16>) -> array<u32, 16> {
    return array<u32, 16>(
        m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
        m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8],
    );
}

// Compresses one 64-byte block (as 16 little-endian words, zero past block_len) into the
// chaining value cv. Returns the first 8 words of the output: the new chaining value, or
// the 32-byte hash when flags has BLAKE3_ROOT. The 64-bit counter is split in two words.
fn blake3_compress(
    cv: array<u32, 8>,
    block: array<u32, 16>,
    counter_lo: u32,
    counter_hi: u32,
    block_len: u32,
    flags: u32,
) -> array<u32, 8> {
    var r = Blake3Rows(
        vec4<u32>(cv[0], cv[1], cv[2], cv[3]),
        vec4<u32>(cv[4], cv[5], cv[6], cv[7]),
        vec4<u32>(BLAKE3_IV[0], BLAKE3_IV[1], BLAKE3_IV[2], BLAKE3_IV[3]),
        vec4<u32>(counter_lo, counter_hi, block_len, flags),
    );
    var m = block;
    for (var i = 0u; i < 7u; i++) {
        r = blake3_round(r, m);
        m = blake3_permute(m);
    }
    let lo = r.a ^ r.c;
    let hi = r.b ^ r.d;
    return array<u32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

// Parent node of two chaining values (specification section 2.5).
fn parent_cv(left: array<u32, 8>, right: array<u32, 8>, extra_flags: u32) -> array<u32, 8> {
    let block = array<u32, 16>(
        left[0], left[1], left[2], left[3], left[4], left[5], left[6], left[7],
        right[0], right[1], right[2], right[3], right[4], right[5], right[6], right[7],
    );
    return blake3_compress(BLAKE3_IV, block, 0u, 0u, BLAKE3_BLOCK_LEN, BLAKE3_PARENT | extra_flags);
}
