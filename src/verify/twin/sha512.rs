//! CPU twin of `shaders/shared/sha512.wgsl`: SHA-512 (FIPS 180-4) with every 64-bit word held as a
//! (high, low) pair of `u32`s, because core WGSL has no 64-bit integers.

/// A 64-bit word as \[high 32 bits, low 32 bits\] (WGSL `vec2<u32>` with `.x` high).
pub type Word64 = [u32; 2];

/// The 80 round constants K of FIPS 180-4 §4.2.3, as (high, low) pairs.
pub const K: [Word64; 80] = {
    const K64: [u64; 80] = [
        0x428a2f98d728ae22,
        0x7137449123ef65cd,
        0xb5c0fbcfec4d3b2f,
        0xe9b5dba58189dbbc,
        0x3956c25bf348b538,
        0x59f111f1b605d019,
        0x923f82a4af194f9b,
        0xab1c5ed5da6d8118,
        0xd807aa98a3030242,
        0x12835b0145706fbe,
        0x243185be4ee4b28c,
        0x550c7dc3d5ffb4e2,
        0x72be5d74f27b896f,
        0x80deb1fe3b1696b1,
        0x9bdc06a725c71235,
        0xc19bf174cf692694,
        0xe49b69c19ef14ad2,
        0xefbe4786384f25e3,
        0x0fc19dc68b8cd5b5,
        0x240ca1cc77ac9c65,
        0x2de92c6f592b0275,
        0x4a7484aa6ea6e483,
        0x5cb0a9dcbd41fbd4,
        0x76f988da831153b5,
        0x983e5152ee66dfab,
        0xa831c66d2db43210,
        0xb00327c898fb213f,
        0xbf597fc7beef0ee4,
        0xc6e00bf33da88fc2,
        0xd5a79147930aa725,
        0x06ca6351e003826f,
        0x142929670a0e6e70,
        0x27b70a8546d22ffc,
        0x2e1b21385c26c926,
        0x4d2c6dfc5ac42aed,
        0x53380d139d95b3df,
        0x650a73548baf63de,
        0x766a0abb3c77b2a8,
        0x81c2c92e47edaee6,
        0x92722c851482353b,
        0xa2bfe8a14cf10364,
        0xa81a664bbc423001,
        0xc24b8b70d0f89791,
        0xc76c51a30654be30,
        0xd192e819d6ef5218,
        0xd69906245565a910,
        0xf40e35855771202a,
        0x106aa07032bbd1b8,
        0x19a4c116b8d2d0c8,
        0x1e376c085141ab53,
        0x2748774cdf8eeb99,
        0x34b0bcb5e19b48a8,
        0x391c0cb3c5c95a63,
        0x4ed8aa4ae3418acb,
        0x5b9cca4f7763e373,
        0x682e6ff3d6b2b8a3,
        0x748f82ee5defb2fc,
        0x78a5636f43172f60,
        0x84c87814a1f0ab72,
        0x8cc702081a6439ec,
        0x90befffa23631e28,
        0xa4506cebde82bde9,
        0xbef9a3f7b2c67915,
        0xc67178f2e372532b,
        0xca273eceea26619c,
        0xd186b8c721c0c207,
        0xeada7dd6cde0eb1e,
        0xf57d4f7fee6ed178,
        0x06f067aa72176fba,
        0x0a637dc5a2c898a6,
        0x113f9804bef90dae,
        0x1b710b35131c471b,
        0x28db77f523047d84,
        0x32caab7b40c72493,
        0x3c9ebe0a15c9bebc,
        0x431d67c49c100d4c,
        0x4cc5d4becb3e42b6,
        0x597f299cfc657e2a,
        0x5fcb6fab3ad6faec,
        0x6c44198c4a475817,
    ];
    let mut k = [[0u32; 2]; 80];
    let mut i = 0;
    while i < 80 {
        k[i] = [(K64[i] >> 32) as u32, K64[i] as u32];
        i += 1;
    }
    k
};

/// Initial hash value H(0) of FIPS 180-4 §5.3.5.
pub const IV: [Word64; 8] = [
    [0x6a09e667, 0xf3bcc908],
    [0xbb67ae85, 0x84caa73b],
    [0x3c6ef372, 0xfe94f82b],
    [0xa54ff53a, 0x5f1d36f1],
    [0x510e527f, 0xade682d1],
    [0x9b05688c, 0x2b3e6c1f],
    [0x1f83d9ab, 0xfb41bd6b],
    [0x5be0cd19, 0x137e2179],
];

/// a + b mod 2^64.
pub fn add64(a: Word64, b: Word64) -> Word64 {
    let lo = a[1].wrapping_add(b[1]);
    let carry = u32::from(lo < a[1]);
    [a[0].wrapping_add(b[0]).wrapping_add(carry), lo]
}

/// Rotate right by n, 0 < n < 64, n ≠ 32.
pub fn rotr64(a: Word64, n: u32) -> Word64 {
    if n < 32 {
        [
            (a[0] >> n) | (a[1] << (32 - n)),
            (a[1] >> n) | (a[0] << (32 - n)),
        ]
    } else {
        let m = n - 32;
        [
            (a[1] >> m) | (a[0] << (32 - m)),
            (a[0] >> m) | (a[1] << (32 - m)),
        ]
    }
}

/// Shift right by n, 0 < n < 32.
pub fn shr64(a: Word64, n: u32) -> Word64 {
    [a[0] >> n, (a[1] >> n) | (a[0] << (32 - n))]
}

fn xor3(a: Word64, b: Word64, c: Word64) -> Word64 {
    [a[0] ^ b[0] ^ c[0], a[1] ^ b[1] ^ c[1]]
}

/// One application of the SHA-512 compression function to `state` with a 16-word block.
/// The message schedule is kept as a 16-word ring, as in the shader.
pub fn sha512_compress(state: &mut [Word64; 8], block: &[Word64; 16]) {
    let mut w = *block;
    let mut v = *state;
    for t in 0..80 {
        let wt = if t < 16 {
            w[t]
        } else {
            let w15 = w[(t + 1) % 16];
            let w2 = w[(t + 14) % 16];
            let s0 = xor3(rotr64(w15, 1), rotr64(w15, 8), shr64(w15, 7));
            let s1 = xor3(rotr64(w2, 19), rotr64(w2, 61), shr64(w2, 6));
            let next = add64(add64(w[t % 16], s0), add64(w[(t + 9) % 16], s1));
            w[t % 16] = next;
            next
        };
        let e = v[4];
        let big_s1 = xor3(rotr64(e, 14), rotr64(e, 18), rotr64(e, 41));
        let ch = [
            (e[0] & v[5][0]) ^ (!e[0] & v[6][0]),
            (e[1] & v[5][1]) ^ (!e[1] & v[6][1]),
        ];
        let t1 = add64(add64(add64(v[7], big_s1), add64(ch, K[t])), wt);
        let a = v[0];
        let big_s0 = xor3(rotr64(a, 28), rotr64(a, 34), rotr64(a, 39));
        let maj = [
            (a[0] & v[1][0]) ^ (a[0] & v[2][0]) ^ (v[1][0] & v[2][0]),
            (a[1] & v[1][1]) ^ (a[1] & v[2][1]) ^ (v[1][1] & v[2][1]),
        ];
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
    for i in 0..8 {
        state[i] = add64(state[i], v[i]);
    }
}

/// Reverses the bytes of a word (little-endian storage ↔ big-endian SHA words).
pub fn byte_swap(x: u32) -> u32 {
    (x << 24) | ((x << 8) & 0x00ff_0000) | ((x >> 8) & 0x0000_ff00) | (x >> 24)
}

/// Number of 128-byte blocks of a padded message of `len` bytes.
pub fn block_count(len: u32) -> u32 {
    // len + 1 byte of 0x80 + 16 bytes of length, rounded up to 128; computed without
    // overflowing for len close to 2^32.
    len / 128 + if len % 128 < 112 { 1 } else { 2 }
}

/// Big-endian 32-bit word `w` of the padded message whose `len` bytes start at word `base`
/// of `data` (stored little-endian, zero-padded to a whole word).
pub fn padded_word(data: &[u32], base: u32, len: u32, w: u32) -> u32 {
    let total_words = block_count(len) * 32;
    if w == total_words - 2 {
        return len >> 29;
    }
    if w == total_words - 1 {
        return len << 3;
    }
    let byte = w * 4;
    if byte >= len {
        return if byte == len { 0x8000_0000 } else { 0 };
    }
    let v = byte_swap(data[(base + w) as usize]);
    let keep = len - byte;
    if keep >= 4 {
        return v;
    }
    // 1..=3 message bytes, then the 0x80 terminator.
    (v & (0xffff_ffff << (8 * (4 - keep)))) | (0x80 << (8 * (3 - keep)))
}

/// SHA-512 of the `len` bytes starting at word `base` of `data`, as the 16 little-endian
/// words of the 64-byte digest.
pub fn sha512_words(data: &[u32], base: u32, len: u32) -> [u32; 16] {
    let mut state = IV;
    let blocks = block_count(len);
    for b in 0..blocks {
        let mut block = [[0u32; 2]; 16];
        for (i, word) in block.iter_mut().enumerate() {
            let w = b * 32 + 2 * i as u32;
            *word = [
                padded_word(data, base, len, w),
                padded_word(data, base, len, w + 1),
            ];
        }
        sha512_compress(&mut state, &block);
    }
    let mut out = [0u32; 16];
    for i in 0..8 {
        out[2 * i] = byte_swap(state[i][0]);
        out[2 * i + 1] = byte_swap(state[i][1]);
    }
    out
}
