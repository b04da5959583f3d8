//! CPU twin of `shaders/curve25519.wgsl`: the twisted Edwards curve −x² + y² = 1 + d·x²·y²
//! in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x·y = T/Z.

use super::field::{
    FE_D, FE_D2, FE_ONE, FE_ZERO, FieldElement13x20, add, from_words, is_negative, is_zero, mul,
    neg, negate_if, sqrt_ratio_i, square, sub, to_words,
};
use super::scalar::signed_radix16;

/// A point in extended twisted Edwards coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdwardsPoint {
    /// X.
    pub x: FieldElement13x20,
    /// Y.
    pub y: FieldElement13x20,
    /// Z.
    pub z: FieldElement13x20,
    /// T = X·Y/Z.
    pub t: FieldElement13x20,
}

/// The neutral element (0 : 1 : 1 : 0).
pub const IDENTITY: EdwardsPoint = EdwardsPoint {
    x: FE_ZERO,
    y: FE_ONE,
    z: FE_ONE,
    t: FE_ZERO,
};

/// The Ed25519 base point B (RFC 8032 §5.1), y = 4/5, x even.
pub const BASEPOINT: EdwardsPoint = EdwardsPoint {
    x: FieldElement13x20([
        5402, 6446, 6179, 3162, 3221, 5081, 5270, 3090, 3271, 841, 5911, 7085, 799, 4721, 6914,
        2687, 3438, 5790, 6733, 66,
    ]),
    y: FieldElement13x20([
        1624, 4915, 6553, 3276, 1638, 4915, 6553, 3276, 1638, 4915, 6553, 3276, 1638, 4915, 6553,
        3276, 1638, 4915, 6553, 204,
    ]),
    z: FE_ONE,
    t: FieldElement13x20([
        7587, 3518, 3305, 7445, 5853, 2426, 7493, 4110, 4255, 2311, 6367, 2391, 2278, 5415, 5531,
        3788, 6027, 6270, 471, 207,
    ]),
};

/// P + Q: "add-2008-hwcd-3" (Hisil–Wong–Carter–Dawson 2008, §3.1, a = −1, k = 2d), 8M + the
/// 2d multiply. Complete on Ed25519 (d is not a square), so small-order and equal inputs
/// need no special case.
pub fn point_add(p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
    let a = mul(sub(p.y, p.x), sub(q.y, q.x));
    let b = mul(add(p.y, p.x), add(q.y, q.x));
    let c = mul(mul(p.t, FE_D2), q.t);
    let d = mul(add(p.z, p.z), q.z);
    let e = sub(b, a);
    let f = sub(d, c);
    let g = add(d, c);
    let h = add(b, a);
    EdwardsPoint {
        x: mul(e, f),
        y: mul(g, h),
        z: mul(f, g),
        t: mul(e, h),
    }
}

/// −P.
pub fn point_neg(p: EdwardsPoint) -> EdwardsPoint {
    EdwardsPoint {
        x: neg(p.x),
        y: p.y,
        z: p.z,
        t: neg(p.t),
    }
}

/// 2P: "dbl-2008-hwcd" (Hisil–Wong–Carter–Dawson 2008, §3.3) with a = −1, 4M + 4S.
pub fn point_double(p: EdwardsPoint) -> EdwardsPoint {
    let a = square(p.x);
    let b = square(p.y);
    let zz = square(p.z);
    let c = add(zz, zz);
    let xy = add(p.x, p.y);
    let e = sub(sub(square(xy), a), b);
    let g = sub(b, a); // D + B with D = a·A = −A
    let f = sub(g, c);
    let h = neg(add(a, b)); // D − B
    EdwardsPoint {
        x: mul(e, f),
        y: mul(g, h),
        z: mul(f, g),
        t: mul(e, h),
    }
}

/// Whether P is the neutral element: X ≡ 0 and Y ≡ Z.
pub fn is_identity(p: EdwardsPoint) -> bool {
    is_zero(p.x) && is_zero(sub(p.y, p.z))
}

/// [8]P.
pub fn mul_by_cofactor(p: EdwardsPoint) -> EdwardsPoint {
    point_double(point_double(point_double(p)))
}

/// Whether [8]P is the neutral element, as curve25519-dalek's `is_small_order`.
pub fn is_small_order(p: EdwardsPoint) -> bool {
    is_identity(mul_by_cofactor(p))
}

/// Decompresses 32 bytes (8 little-endian words) exactly as curve25519-dalek 4's
/// `CompressedEdwardsY::decompress`: y is the low 255 bits taken mod p (values ≥ p are
/// accepted), x = +sqrt((y² − 1)/(d·y² + 1)) negated when bit 255 is set — also when x = 0.
/// Returns `None` when (y² − 1)/(d·y² + 1) is not a square.
pub fn decompress(words: [u32; 8]) -> Option<EdwardsPoint> {
    let y = from_words(words);
    let yy = square(y);
    let u = sub(yy, FE_ONE);
    let v = add(mul(yy, FE_D), FE_ONE);
    let (valid, x) = sqrt_ratio_i(u, v);
    if !valid {
        return None;
    }
    let x = negate_if(x, words[7] >> 31 == 1);
    Some(EdwardsPoint {
        x,
        y,
        z: FE_ONE,
        t: mul(x, y),
    })
}

/// The canonical encoding of P: y with the sign of x in bit 255.
pub fn compress(p: EdwardsPoint) -> [u32; 8] {
    let recip = super::field::invert(p.z);
    let x = mul(p.x, recip);
    let y = mul(p.y, recip);
    let mut w = to_words(y);
    w[7] ^= u32::from(is_negative(x)) << 31;
    w
}

/// [1]P, [2]P, …, [8]P.
pub fn multiples_of(p: EdwardsPoint) -> [EdwardsPoint; 8] {
    let mut table = [p; 8];
    for i in 1..8 {
        table[i] = point_add(table[i - 1], p);
    }
    table
}

/// Adds [digit]·P from a table of [1..8]P, digit ∈ [−8, 8].
fn add_digit(q: EdwardsPoint, table: &[EdwardsPoint; 8], digit: i32) -> EdwardsPoint {
    if digit > 0 {
        point_add(q, table[(digit - 1) as usize])
    } else if digit < 0 {
        point_add(q, point_neg(table[(-digit - 1) as usize]))
    } else {
        q
    }
}

/// [a]A + [b]B for the base point B, variable time (all inputs are public).
///
/// Straus's interleaved double-scalar multiplication (E. G. Straus, "Addition chains of
/// vectors", Amer. Math. Monthly 71, 1964; Hankerson–Menezes–Vanstone, *Guide to Elliptic
/// Curve Cryptography*, Alg. 3.48) with signed radix-16 digits in [−8, 8] for both scalars
/// (the recoding of ref10's `ge_scalarmult_base`): 63 rounds of four doublings and at most
/// two table additions.
///
/// Precondition: a, b < 2^255.
pub fn double_scalar_mul_basepoint(
    a: [u32; 8],
    point_a: EdwardsPoint,
    b: [u32; 8],
) -> EdwardsPoint {
    let da = signed_radix16(a);
    let db = signed_radix16(b);
    let table_a = multiples_of(point_a);
    let table_b = multiples_of(BASEPOINT);
    let mut q = IDENTITY;
    for i in (0..64).rev() {
        if i != 63 {
            for _ in 0..4 {
                q = point_double(q);
            }
        }
        q = add_digit(q, &table_a, da[i]);
        q = add_digit(q, &table_b, db[i]);
    }
    q
}
