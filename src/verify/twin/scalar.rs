//! CPU twin of `shaders/shared/scalar25519.wgsl`: scalars mod ℓ = 2^252 + δ, δ =
//! 27742317777372353535851937790883648493.
//!
//! A 512-bit hash is reduced by folding with 2^252 ≡ −δ (mod ℓ) in signed 12-bit limbs
//! (252 = 12·21, so the fold point is a limb boundary), three times, then adding ℓ once if
//! the result is negative. Products are 12 × 12 bits and a column sums at most 11 of them,
//! so everything fits in `i32`.

/// Limbs of the working representation (43 hold 512 bits, one more for the sign/carry).
pub const SCALAR_LIMBS: usize = 44;
/// Bits per limb.
pub const SCALAR_LIMB_BITS: u32 = 12;
const SCALAR_LIMB_MASK: i32 = (1 << SCALAR_LIMB_BITS) - 1;
/// Index of the limb holding bit 252.
const FOLD_LIMB: usize = 21;

/// δ = ℓ − 2^252 in 12-bit limbs.
pub const DELTA_12: [i32; 11] = [
    1005, 3933, 2652, 1585, 2066, 3429, 1948, 2607, 2526, 3567, 20,
];

/// ℓ as 8 little-endian words.
pub const ELL_WORDS: [u32; 8] = [
    0x5cf5d3ed,
    0x5812631a,
    0xa2f79cd6,
    0x14def9de,
    0,
    0,
    0,
    0x1000_0000,
];

/// Signed carry: afterwards limbs 0..42 are in [0, 2^12) and limb 43 holds the rest.
///
/// Precondition: every limb in (−2^30, 2^30), so limb + carry-in stays inside `i32`.
fn signed_carry(x: &mut [i32; SCALAR_LIMBS]) {
    for k in 0..SCALAR_LIMBS - 1 {
        let c = x[k] >> SCALAR_LIMB_BITS; // arithmetic shift: floor division
        x[k] -= c << SCALAR_LIMB_BITS;
        x[k + 1] += c;
    }
}

/// One fold: x = lo + hi·2^252 becomes lo − hi·δ, carried.
///
/// Precondition: limbs 0..42 in [0, 2^12) and limb 43 in [−1, 0] (the output of
/// `signed_carry` for |x| < 2^516). Then every column is a sum of at most 11 products of
/// magnitude < 2^24, so it stays inside (−2^28, 2^12).
fn fold_once(x: [i32; SCALAR_LIMBS]) -> [i32; SCALAR_LIMBS] {
    let mut r = [0i32; SCALAR_LIMBS];
    r[..FOLD_LIMB].copy_from_slice(&x[..FOLD_LIMB]);
    for i in 0..SCALAR_LIMBS - FOLD_LIMB {
        for j in 0..DELTA_12.len() {
            r[i + j] -= x[FOLD_LIMB + i] * DELTA_12[j];
        }
    }
    signed_carry(&mut r);
    r
}

/// Reduces a 512-bit little-endian number (16 words; a SHA-512 digest) mod ℓ, as
/// curve25519-dalek's `Scalar::from_bytes_mod_order_wide`. Returns 8 little-endian words.
pub fn reduce_wide(words: [u32; 16]) -> [u32; 8] {
    let mut x = [0i32; SCALAR_LIMBS];
    for (i, limb) in x.iter_mut().enumerate().take(SCALAR_LIMBS - 1) {
        let pos = SCALAR_LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        let mut v = words[word] >> off;
        if off > 32 - SCALAR_LIMB_BITS && word + 1 < 16 {
            v |= words[word + 1] << (32 - off);
        }
        *limb = (v & SCALAR_LIMB_MASK as u32) as i32;
    }
    // |x| < 2^512 → after fold 1: x ∈ (−2^385, 2^252); fold 2: x ∈ [0, 2^257.5);
    // fold 3: x ∈ (−2^130, 2^252).
    x = fold_once(x);
    x = fold_once(x);
    x = fold_once(x);
    // One conditional ℓ brings (−2^130, 2^252) into [0, ℓ).
    let negative = x[SCALAR_LIMBS - 1] < 0;
    if negative {
        // ℓ = 2^252 + δ: limb 21 gets the 2^252, limbs 0..10 get δ.
        x[FOLD_LIMB] += 1;
        for j in 0..DELTA_12.len() {
            x[j] += DELTA_12[j];
        }
        signed_carry(&mut x);
    }
    let mut out = [0u32; 8];
    for i in 0..=FOLD_LIMB {
        let pos = SCALAR_LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        let limb = x[i] as u32;
        out[word] |= limb << off;
        if off > 32 - SCALAR_LIMB_BITS && word + 1 < 8 {
            out[word + 1] |= limb >> (32 - off);
        }
    }
    out
}

/// Whether the 256-bit little-endian number is < ℓ (the canonical-S check of both rules).
pub fn is_canonical(words: [u32; 8]) -> bool {
    for i in (0..8).rev() {
        if words[i] != ELL_WORDS[i] {
            return words[i] < ELL_WORDS[i];
        }
    }
    false
}

/// Signed radix-16 digits d\[i\] ∈ \[−8, 8\] with Σ d\[i\]·16^i = the scalar.
///
/// Precondition: scalar < 2^255 (true for every reduced k and every canonical S), so the
/// last carry leaves d\[63\] ≤ 8.
pub fn signed_radix16(words: [u32; 8]) -> [i32; 64] {
    let mut d = [0i32; 64];
    for (i, digit) in d.iter_mut().enumerate() {
        *digit = ((words[i / 8] >> (4 * (i % 8))) & 15) as i32;
    }
    for i in 0..63 {
        let c = (d[i] + 8) >> 4;
        d[i] -= c << 4;
        d[i + 1] += c;
    }
    d
}
