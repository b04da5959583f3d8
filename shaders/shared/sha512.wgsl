// SHA-512 (FIPS 180-4) with every 64-bit word held as vec2<u32>(high, low), because core
// WGSL has no 64-bit integers. CPU twin: src/verify/twin/sha512.rs (same names and loop
// shapes). SHA512_K and SHA512_IV are generated from the twin by src/verify/wgsl_gen.rs.
//
// The including module defines `fn load_data_word(index: u32) -> u32`, the word source of
// the hashed bytes (little-endian storage, each record zero-padded to a whole word).

// a + b mod 2^64.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.y + b.y;
    let carry = select(0u, 1u, lo < a.y);
    return vec2<u32>(a.x + b.x + carry, lo);
}

// Rotate right by n, 0 < n < 64, n != 32.
fn rotr64(a: vec2<u32>, n: u32) -> vec2<u32> {
    if (n < 32u) {
        return vec2<u32>((a.x >> n) | (a.y << (32u - n)), (a.y >> n) | (a.x << (32u - n)));
    }
    let m = n - 32u;
    return vec2<u32>((a.y >> m) | (a.x << (32u - m)), (a.x >> m) | (a.y << (32u - m)));
}

// Shift right by n, 0 < n < 32.
fn shr64(a: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>(a.x >> n, (a.y >> n) | (a.x << (32u - n)));
}

// One application of the compression function; the message schedule is a 16-word ring.
fn sha512_compress(state: array<vec2<u32>, 8>, block: array<vec2<u32>, 16>) -> array<vec2<u32>, 8> {
    var w = block;
    var v = state;
    for (var t = 0u; t < 80u; t++) {
        var wt: vec2<u32>;
        if (t < 16u) {
            wt = w[t];
        } else {
            let w15 = w[(t + 1u) % 16u];
            let w2 = w[(t + 14u) % 16u];
            let s0 = rotr64(w15, 1u) ^ rotr64(w15, 8u) ^ shr64(w15, 7u);
            let s1 = rotr64(w2, 19u) ^ rotr64(w2, 61u) ^ shr64(w2, 6u);
            wt = add64(add64(w[t % 16u], s0), add64(w[(t + 9u) % 16u], s1));
            w[t % 16u] = wt;
        }
        let e = v[4];
        let big_s1 = rotr64(e, 14u) ^ rotr64(e, 18u) ^ rotr64(e, 41u);
        let ch = (e & v[5]) ^ (~e & v[6]);
        let t1 = add64(add64(add64(v[7], big_s1), add64(ch, SHA512_K[t])), wt);
        let a = v[0];
        let big_s0 = rotr64(a, 28u) ^ rotr64(a, 34u) ^ rotr64(a, 39u);
        let maj = (a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]);
        let t2 = add64(big_s0, maj);
        v[7] = v[6];
        v[6] = v[5];
        v[5] = v[4];
        v[4] = add64(v[3], t1);
        v[3] = v[2];
        v[2] = v[1];
        v[1] = v[0];
        v[0] = add64(t1, t2);
    }
    var out: array<vec2<u32>, 8>;
    for (var i = 0u; i < 8u; i++) {
        out[i] = add64(state[i], v[i]);
    }
    return out;
}

// Little-endian storage <-> big-endian SHA words.
fn byte_swap(x: u32) -> u32 {
    return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// Number of 128-byte blocks of a padded message of len bytes (len + 0x80 + 16 length
// bytes, rounded up), without overflowing near 2^32.
fn block_count(len: u32) -> u32 {
    return len / 128u + select(2u, 1u, len % 128u < 112u);
}

// Big-endian word w of the padded message whose len bytes start at word base.
fn padded_word(base: u32, len: u32, w: u32) -> u32 {
    let total_words = block_count(len) * 32u;
    if (w == total_words - 2u) {
        return len >> 29u;
    }
    if (w == total_words - 1u) {
        return len << 3u;
    }
    let byte = w * 4u;
    if (byte >= len) {
        return select(0u, 0x80000000u, byte == len);
    }
    let v = byte_swap(load_data_word(base + w));
    let keep = len - byte;
    if (keep >= 4u) {
        return v;
    }
    // 1..3 message bytes, then the 0x80 terminator.
    return (v & (0xffffffffu << (8u * (4u - keep)))) | (0x80u << (8u * (3u - keep)));
}

// SHA-512 of the len bytes starting at word base: the 64-byte digest as 16 little-endian
// words.
fn sha512_words(base: u32, len: u32) -> array<u32, 16> {
    var state = SHA512_IV;
    let blocks = block_count(len);
    for (var b = 0u; b < blocks; b++) {
        var block: array<vec2<u32>, 16>;
        for (var i = 0u; i < 16u; i++) {
            let w = b * 32u + 2u * i;
            block[i] = vec2<u32>(padded_word(base, len, w), padded_word(base, len, w + 1u));
        }
        state = sha512_compress(state, block);
    }
    var out: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        out[2u * i] = byte_swap(state[i].x);
        out[2u * i + 1u] = byte_swap(state[i].y);
    }
    return out;
}
