//! CPU twin of `shaders/field25519.wgsl`: arithmetic mod p = 2^255 − 19 in 20 limbs of 13 bits.
//!
//! Every function here has a WGSL function of the same name and the same loop shape, so the
//! two can be read side by side. Rust's overflow checks (on in tests) turn any violated
//! `// Precondition:` bound below into a test failure instead of a silent wrap.
//!
//! Bounds used throughout:
//! - *tight*: limb 1 ≤ 2^13 + 2^7 = 8320, every other limb < 2^13. Every function that
//!   returns a field element returns it tight.
//! - a tight element is below 2^260.02, and is congruent (not necessarily equal) to its
//!   value mod p; [`to_canonical`] gives the unique representative in [0, p).

/// Number of limbs.
pub const LIMBS: usize = 20;
/// Bits per limb.
pub const LIMB_BITS: u32 = 13;
/// Mask of one limb.
pub const LIMB_MASK: u32 = (1 << LIMB_BITS) - 1;
/// 2^260 mod p = 2^5 · 19: what a carry out of limb 19 is worth at limb 0.
pub const FOLD_260: u32 = 608;
/// Largest value a limb of a tight element can hold (limb 1; the others stay below 2^13).
pub const TIGHT_MAX: u32 = (1 << 13) + (1 << 7);

/// An element of GF(2^255 − 19) as Σ limb\[i\]·2^(13·i), 20 limbs of 13 bits in `u32`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldElement13x20(pub [u32; LIMBS]);

/// 64·p written with every limb ≥ 2^13 + 2^7, so `a + SUB_BIAS − b` never goes below zero
/// for tight `b`: limb 0 = 2^14 − 2 − 1214, limbs 1..19 = 2^14 − 2 (Σ = 2^261 − 1216 = 64p).
pub const SUB_BIAS: [u32; LIMBS] = [
    15168, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382,
    16382, 16382, 16382, 16382, 16382, 16382, 16382,
];

/// d = −121665/121666, the Edwards curve constant.
pub const FE_D: FieldElement13x20 = FieldElement13x20([
    6307, 6859, 4740, 5787, 5982, 3157, 1287, 2472, 4106, 3, 6694, 3827, 1943, 928, 3635, 8142,
    2927, 1905, 219, 164,
]);
/// 2·d.
pub const FE_D2: FieldElement13x20 = FieldElement13x20([
    4441, 5527, 1289, 3383, 3773, 6315, 2574, 4944, 20, 7, 5196, 7655, 3886, 1856, 7270, 8092,
    5855, 3810, 438, 72,
]);
/// The even square root of −1 (2^((p−1)/4)).
pub const FE_SQRT_M1: FieldElement13x20 = FieldElement13x20([
    176, 4213, 2514, 7222, 3150, 4668, 5311, 213, 792, 6522, 5609, 7159, 2451, 1664, 3245, 7137,
    4033, 1026, 201, 87,
]);
/// 0.
pub const FE_ZERO: FieldElement13x20 = FieldElement13x20([0; LIMBS]);
/// 1.
pub const FE_ONE: FieldElement13x20 = {
    let mut l = [0; LIMBS];
    l[0] = 1;
    FieldElement13x20(l)
};

/// Propagates carries so the result is tight.
///
/// Precondition: every limb < 2^23.
/// Then the carry into limb 19 is < 2^10 + 1, the fold adds ≤ 1025·608 < 2^19.25 to limb 0,
/// and limb 1 ends ≤ 8191 + 77 < 8320.
pub fn carry(a: FieldElement13x20) -> FieldElement13x20 {
    let mut l = a.0;
    for i in 0..LIMBS - 1 {
        l[i + 1] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
    let top = l[LIMBS - 1] >> LIMB_BITS;
    l[LIMBS - 1] &= LIMB_MASK;
    l[0] += top * FOLD_260;
    l[1] += l[0] >> LIMB_BITS;
    l[0] &= LIMB_MASK;
    FieldElement13x20(l)
}

/// a + b.
pub fn add(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: a, b tight, so the sum ≤ 16640 < 2^23 (carry's precondition).
        l[i] = a.0[i] + b.0[i];
    }
    carry(FieldElement13x20(l))
}

/// a − b, computed as a + 64p − b so no limb goes negative.
pub fn sub(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: a, b tight: SUB_BIAS[i] ≥ 15168 > b[i], and the sum < 2^15.
        l[i] = a.0[i] + SUB_BIAS[i] - b.0[i];
    }
    carry(FieldElement13x20(l))
}

/// −a.
pub fn neg(a: FieldElement13x20) -> FieldElement13x20 {
    sub(FE_ZERO, a)
}

/// Reduces a 39-column product to a tight element: carry the columns into 40 limbs of 13
/// bits, then fold limbs 20..39 down with 2^260 ≡ 608.
///
/// Precondition: every column < 2^31 (so column + carry-in < 2^32), and the product is
/// < 2^520.05, so the top limb after carrying is < 2^13.05.
fn reduce_product(mut t: [u32; 2 * LIMBS]) -> FieldElement13x20 {
    for k in 0..2 * LIMBS - 1 {
        t[k + 1] += t[k] >> LIMB_BITS;
        t[k] &= LIMB_MASK;
    }
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: t[i] < 2^13, t[i + 20] < 2^13.05: the sum < 2^13 + 608·2^13.05 < 2^23.
        l[i] = t[i] + t[i + LIMBS] * FOLD_260;
    }
    carry(FieldElement13x20(l))
}

/// a · b, schoolbook.
pub fn mul(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut t = [0u32; 2 * LIMBS];
    for i in 0..LIMBS {
        for j in 0..LIMBS {
            // Precondition: a, b tight: each product ≤ 8320² < 2^26.05 and a column sums at
            // most 20 of them: < 1.39·10^9 < 2^31.
            t[i + j] += a.0[i] * b.0[j];
        }
    }
    reduce_product(t)
}

/// a², with each cross product computed once and doubled.
pub fn square(a: FieldElement13x20) -> FieldElement13x20 {
    let mut t = [0u32; 2 * LIMBS];
    for i in 0..LIMBS {
        // Precondition: a tight: a[i]² < 2^26.05, 2·a[i]·a[j] < 2^27.05, and a column holds
        // the same total as in `mul` (< 2^31).
        t[2 * i] += a.0[i] * a.0[i];
        let twice = 2 * a.0[i];
        for j in i + 1..LIMBS {
            t[i + j] += twice * a.0[j];
        }
    }
    reduce_product(t)
}

/// a^(2^k), k ≥ 1 squarings.
pub fn pow2k(a: FieldElement13x20, k: u32) -> FieldElement13x20 {
    let mut r = a;
    for _ in 0..k {
        r = square(r);
    }
    r
}

/// Returns (a^(2^250 − 1), a^11): the shared head of the inversion and square-root chains
/// (the addition chain of ref10's `fe_invert` / `fe_pow22523`, also used by
/// curve25519-dalek's `pow22501`).
pub fn pow22501(a: FieldElement13x20) -> (FieldElement13x20, FieldElement13x20) {
    let t0 = square(a); // 2
    let t1 = pow2k(t0, 2); // 8
    let t2 = mul(a, t1); // 9
    let t3 = mul(t0, t2); // 11
    let t4 = square(t3); // 22
    let t5 = mul(t2, t4); // 2^5 − 1
    let t6 = pow2k(t5, 5);
    let t7 = mul(t6, t5); // 2^10 − 1
    let t8 = pow2k(t7, 10);
    let t9 = mul(t8, t7); // 2^20 − 1
    let t10 = pow2k(t9, 20);
    let t11 = mul(t10, t9); // 2^40 − 1
    let t12 = pow2k(t11, 10);
    let t13 = mul(t12, t7); // 2^50 − 1
    let t14 = pow2k(t13, 50);
    let t15 = mul(t14, t13); // 2^100 − 1
    let t16 = pow2k(t15, 100);
    let t17 = mul(t16, t15); // 2^200 − 1
    let t18 = pow2k(t17, 50);
    let t19 = mul(t18, t13); // 2^250 − 1
    (t19, t3)
}

/// 1/a = a^(p − 2) = a^(2^255 − 21); 0 maps to 0.
pub fn invert(a: FieldElement13x20) -> FieldElement13x20 {
    let (t19, t3) = pow22501(a);
    let t20 = pow2k(t19, 5); // 2^255 − 32
    mul(t20, t3)
}

/// a^((p − 5)/8) = a^(2^252 − 3).
pub fn pow_p58(a: FieldElement13x20) -> FieldElement13x20 {
    let (t19, _) = pow22501(a);
    let t20 = pow2k(t19, 2); // 2^252 − 4
    mul(t20, a)
}

/// Carry chain over limbs 0..19 only, without the fold from limb 19.
///
/// Precondition: every limb < 2^31.
fn carry_chain(l: &mut [u32; LIMBS]) {
    for i in 0..LIMBS - 1 {
        l[i + 1] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
}

/// The unique representative in [0, p), still as 13-bit limbs (limb 19 < 2^8).
pub fn to_canonical(a: FieldElement13x20) -> FieldElement13x20 {
    let mut l = a.0;
    // Precondition: a tight, value < 2^260.02. Two folds of the bits ≥ 255 (2^255 ≡ 19)
    // bring it below 2^255.
    for _ in 0..2 {
        let top = l[LIMBS - 1] >> 8;
        l[LIMBS - 1] &= 0xff;
        l[0] += 19 * top;
        carry_chain(&mut l);
    }
    // Now value < 2^255. It is ≥ p exactly when value + 19 ≥ 2^255; then subtract p by
    // adding 19 and dropping bit 255.
    let mut probe = l;
    probe[0] += 19;
    carry_chain(&mut probe);
    let q = probe[LIMBS - 1] >> 8;
    l[0] += 19 * q;
    carry_chain(&mut l);
    l[LIMBS - 1] &= 0xff;
    FieldElement13x20(l)
}

/// Loads 32 little-endian bytes given as 8 words, ignoring bit 255 (as curve25519-dalek's
/// `FieldElement::from_bytes` does); values in [p, 2^255) are kept unreduced.
pub fn from_words(w: [u32; 8]) -> FieldElement13x20 {
    let mut words = w;
    words[7] &= 0x7fff_ffff;
    let mut l = [0u32; LIMBS];
    for (i, limb) in l.iter_mut().enumerate() {
        let pos = LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        let mut v = words[word] >> off;
        if off > 32 - LIMB_BITS && word + 1 < 8 {
            v |= words[word + 1] << (32 - off);
        }
        *limb = v & LIMB_MASK;
    }
    FieldElement13x20(l)
}

/// The canonical 32-byte encoding, as 8 little-endian words.
pub fn to_words(a: FieldElement13x20) -> [u32; 8] {
    let c = to_canonical(a);
    let mut w = [0u32; 8];
    for i in 0..LIMBS {
        let pos = LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        w[word] |= c.0[i] << off;
        if off > 32 - LIMB_BITS && word + 1 < 8 {
            w[word + 1] |= c.0[i] >> (32 - off);
        }
    }
    w
}

/// Whether a ≡ 0 (mod p).
pub fn is_zero(a: FieldElement13x20) -> bool {
    let c = to_canonical(a);
    let mut acc = 0u32;
    for i in 0..LIMBS {
        acc |= c.0[i];
    }
    acc == 0
}

/// Whether a ≡ b (mod p).
pub fn equal(a: FieldElement13x20, b: FieldElement13x20) -> bool {
    is_zero(sub(a, b))
}

/// Whether the canonical representative of a is odd ("negative" in RFC 8032's sense).
pub fn is_negative(a: FieldElement13x20) -> bool {
    to_canonical(a).0[0] & 1 == 1
}

/// −a when `negate`, else a.
pub fn negate_if(a: FieldElement13x20, negate: bool) -> FieldElement13x20 {
    if negate { neg(a) } else { a }
}

/// (was_square, r) as curve25519-dalek's `FieldElement::sqrt_ratio_i`: r = +sqrt(u/v) when
/// u/v is a nonzero square, 0 when u = 0, 0 with false when v = 0 ≠ u, and +sqrt(i·u/v)
/// with false otherwise. "+" is the even (non-negative) root.
pub fn sqrt_ratio_i(u: FieldElement13x20, v: FieldElement13x20) -> (bool, FieldElement13x20) {
    let v3 = mul(square(v), v);
    let v7 = mul(square(v3), v);
    let r = mul(mul(u, v3), pow_p58(mul(u, v7)));
    let check = mul(v, square(r));
    let neg_u = neg(u);
    let correct_sign = equal(check, u);
    let flipped_sign = equal(check, neg_u);
    let flipped_sign_i = equal(check, mul(neg_u, FE_SQRT_M1));
    let mut root = r;
    if flipped_sign || flipped_sign_i {
        root = mul(r, FE_SQRT_M1);
    }
    root = negate_if(root, is_negative(root));
    (correct_sign || flipped_sign, root)
}
