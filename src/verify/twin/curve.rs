//! CPU twin of `shaders/shared/curve25519.wgsl`: the twisted Edwards curve −x² + y² = 1 + d·x²·y²
//! in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x·y = T/Z.
//!
//! The formulas are programs for the field interpreter ([`FieldRegs`]), built once by
//! [`programs`]; the same instruction words run in the shader (`FE_PROGRAM`, generated from
//! [`Programs::code`]). Points being worked on live in fixed registers: the accumulator Q
//! in `R_QX..R_QT` and the operand P in `R_PX..R_PT`.

use std::sync::OnceLock;

use super::field::{
    FE_ONE, FE_ZERO, FieldElement13x20, FieldRegs, OP_ADD, OP_MUL, OP_SQR, OP_SUB, R_D2, R_ONE,
    R_SQRT_M1, R_ZERO, equal, from_words, ins, is_negative, mul, negate_if, to_words,
};
use super::scalar::signed_radix16;

/// Accumulator point Q: X.
pub const R_QX: u32 = 5;
/// Accumulator point Q: Y.
pub const R_QY: u32 = 6;
/// Accumulator point Q: Z.
pub const R_QZ: u32 = 7;
/// Accumulator point Q: T.
pub const R_QT: u32 = 8;
/// Operand point P: X.
pub const R_PX: u32 = 9;
/// Operand point P: Y.
pub const R_PY: u32 = 10;
/// Operand point P: Z.
pub const R_PZ: u32 = 11;
/// Operand point P: T.
pub const R_PT: u32 = 12;
/// First scratch register; scratch runs to 31.
const T0: u32 = 13;

/// Input y of [`Programs::decompress`].
pub const R_DEC_Y: u32 = T0;
/// Input u of the square-root-ratio part of [`Programs::decompress`].
pub const R_SQRT_U: u32 = T0 + 2;
/// Input v of the square-root-ratio part of [`Programs::decompress`].
pub const R_SQRT_V: u32 = T0 + 3;
/// Output r = (u·v³)(u·v⁷)^((p−5)/8).
pub const R_SQRT_R: u32 = T0 + 8;
/// Output v·r².
pub const R_SQRT_CHECK: u32 = T0 + 9;
/// Output −u.
pub const R_SQRT_NEG_U: u32 = T0 + 10;
/// Output −u·sqrt(−1).
pub const R_SQRT_NEG_U_I: u32 = T0 + 11;
/// Output r·sqrt(−1).
pub const R_SQRT_R_I: u32 = T0 + 12;
/// Output of the inversion in [`Programs::compress`]: 1/Z.
pub const R_INV: u32 = T0 + 16;
/// Output x = X/Z of [`Programs::compress`].
pub const R_AFFINE_X: u32 = T0;
/// Output y = Y/Z of [`Programs::compress`].
pub const R_AFFINE_Y: u32 = T0 + 1;

/// Where a program sits in [`Programs::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First instruction.
    pub start: u32,
    /// Number of instructions.
    pub len: u32,
}

/// Every interpreter program, concatenated in `code`.
#[derive(Clone, Debug)]
pub struct Programs {
    /// All instruction words.
    pub code: Vec<u32>,
    /// Q = 2Q.
    pub double: Span,
    /// Q = Q + P.
    pub add: Span,
    /// Q = Q − P.
    pub sub: Span,
    /// From y in `R_DEC_Y`: u = y² − 1, v = d·y² + 1, then the square-root ratio.
    pub decompress: Span,
    /// The square-root-ratio tail of `decompress`, from u and v.
    pub sqrt_ratio: Span,
    /// 1/Z of Q into `R_INV`, then x and y into `R_AFFINE_X`, `R_AFFINE_Y`.
    pub compress: Span,
    /// The inversion head of `compress` alone.
    pub invert: Span,
}

fn mul_i(d: u32, a: u32, b: u32) -> u32 {
    ins(OP_MUL, d, a, b, 0)
}
fn sqr_i(d: u32, a: u32, n: u32) -> u32 {
    ins(OP_SQR, d, a, 0, n)
}
fn add_i(d: u32, a: u32, b: u32) -> u32 {
    ins(OP_ADD, d, a, b, 0)
}
fn sub_i(d: u32, a: u32, b: u32) -> u32 {
    ins(OP_SUB, d, a, b, 0)
}

/// "dbl-2008-hwcd" (Hisil–Wong–Carter–Dawson 2008, §3.3) with a = −1: 4M + 4S.
fn double_program() -> Vec<u32> {
    let [a, b, c, e, g, f, h] = [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5, T0 + 6];
    vec![
        sqr_i(a, R_QX, 1),
        sqr_i(b, R_QY, 1),
        sqr_i(c, R_QZ, 1),
        add_i(c, c, c), // C = 2Z²
        add_i(e, R_QX, R_QY),
        sqr_i(e, e, 1),
        sub_i(e, e, a),
        sub_i(e, e, b), // E = (X + Y)² − A − B
        sub_i(g, b, a), // G = D + B with D = a·A = −A
        sub_i(f, g, c), // F = G − C
        add_i(h, a, b),
        sub_i(h, R_ZERO, h), // H = D − B = −A − B
        mul_i(R_QX, e, f),
        mul_i(R_QY, g, h),
        mul_i(R_QZ, f, g),
        mul_i(R_QT, e, h),
    ]
}

/// "add-2008-hwcd-3" (Hisil–Wong–Carter–Dawson 2008, §3.1) with a = −1, k = 2d: 9M. It is
/// complete on Ed25519 (d is not a square), so small-order and equal inputs need no special
/// case. With `negate_p` it adds −P = (−X, Y, Z, −T) instead, by swapping Y − X with Y + X
/// and the sign of C.
fn add_program(negate_p: bool) -> Vec<u32> {
    let [a, b, c, d, e, f, g, h, t] = [
        T0,
        T0 + 1,
        T0 + 2,
        T0 + 3,
        T0 + 4,
        T0 + 5,
        T0 + 6,
        T0 + 7,
        T0 + 8,
    ];
    let (p_minus, p_plus) = if negate_p {
        (add_i(t, R_PY, R_PX), sub_i(t, R_PY, R_PX))
    } else {
        (sub_i(t, R_PY, R_PX), add_i(t, R_PY, R_PX))
    };
    let (f_op, g_op) = if negate_p {
        (add_i(f, d, c), sub_i(g, d, c))
    } else {
        (sub_i(f, d, c), add_i(g, d, c))
    };
    vec![
        sub_i(a, R_QY, R_QX),
        p_minus,
        mul_i(a, a, t), // A = (Y1 − X1)(Y2 − X2)
        add_i(b, R_QY, R_QX),
        p_plus,
        mul_i(b, b, t), // B = (Y1 + X1)(Y2 + X2)
        mul_i(c, R_QT, R_D2),
        mul_i(c, c, R_PT), // C = T1·2d·T2
        add_i(d, R_QZ, R_QZ),
        mul_i(d, d, R_PZ), // D = 2·Z1·Z2
        sub_i(e, b, a),
        f_op,
        g_op,
        add_i(h, b, a),
        mul_i(R_QX, e, f),
        mul_i(R_QY, g, h),
        mul_i(R_QZ, f, g),
        mul_i(R_QT, e, h),
    ]
}

/// x^(2^250 − 1) into `T0 + 16` and x^11 into `T0 + 10`, from x in register `x`: the
/// addition chain of ref10's `fe_invert` / `fe_pow22523` (curve25519-dalek's `pow22501`).
/// Uses `T0 + 8 ..= T0 + 16`.
fn pow22501_program(x: u32) -> Vec<u32> {
    let [t0, t2, t3, t5, t7, t9, t13, t15, t19] = [
        T0 + 8,
        T0 + 9,
        T0 + 10,
        T0 + 11,
        T0 + 12,
        T0 + 13,
        T0 + 14,
        T0 + 15,
        T0 + 16,
    ];
    vec![
        sqr_i(t0, x, 1), // 2
        sqr_i(t2, t0, 2),
        mul_i(t2, t2, x),  // 9
        mul_i(t3, t0, t2), // 11
        sqr_i(t5, t3, 1),
        mul_i(t5, t5, t2), // 2^5 − 1
        sqr_i(t7, t5, 5),
        mul_i(t7, t7, t5), // 2^10 − 1
        sqr_i(t9, t7, 10),
        mul_i(t9, t9, t7), // 2^20 − 1
        sqr_i(t13, t9, 20),
        mul_i(t13, t13, t9), // 2^40 − 1
        sqr_i(t13, t13, 10),
        mul_i(t13, t13, t7), // 2^50 − 1
        sqr_i(t15, t13, 50),
        mul_i(t15, t15, t13), // 2^100 − 1
        sqr_i(t19, t15, 100),
        mul_i(t19, t19, t15), // 2^200 − 1
        sqr_i(t19, t19, 50),
        mul_i(t19, t19, t13), // 2^250 − 1
    ]
}

/// y → u = y² − 1, v = d·y² + 1 (the decompression ratio).
fn decompress_head() -> Vec<u32> {
    let yy = T0 + 1;
    vec![
        sqr_i(yy, R_DEC_Y, 1),
        sub_i(R_SQRT_U, yy, R_ONE),
        mul_i(R_SQRT_V, yy, super::field::R_D),
        add_i(R_SQRT_V, R_SQRT_V, R_ONE),
    ]
}

/// The straight-line part of curve25519-dalek's `sqrt_ratio_i`: r = (u·v³)(u·v⁷)^((p−5)/8),
/// check = v·r², −u, −u·i and r·i.
fn sqrt_ratio_program() -> Vec<u32> {
    let (u, v) = (R_SQRT_U, R_SQRT_V);
    let [v3, v7, uv3, uv7] = [T0 + 4, T0 + 5, T0 + 6, T0 + 7];
    let mut code = vec![
        sqr_i(v3, v, 1),
        mul_i(v3, v3, v), // v³
        sqr_i(v7, v3, 1),
        mul_i(v7, v7, v), // v⁷
        mul_i(uv3, u, v3),
        mul_i(uv7, u, v7),
    ];
    code.extend(pow22501_program(uv7));
    let t19 = T0 + 16;
    code.extend([
        sqr_i(t19, t19, 2),
        mul_i(t19, t19, uv7), // (u·v⁷)^(2^252 − 3)
        mul_i(R_SQRT_R, uv3, t19),
        sqr_i(R_SQRT_CHECK, R_SQRT_R, 1),
        mul_i(R_SQRT_CHECK, R_SQRT_CHECK, v),
        sub_i(R_SQRT_NEG_U, R_ZERO, u),
        mul_i(R_SQRT_NEG_U_I, R_SQRT_NEG_U, R_SQRT_M1),
        mul_i(R_SQRT_R_I, R_SQRT_R, R_SQRT_M1),
    ]);
    code
}

/// 1/Z of Q (Z^(p − 2) = Z^(2^255 − 21)) into `R_INV`.
fn invert_program() -> Vec<u32> {
    let mut code = pow22501_program(R_QZ);
    code.extend([
        sqr_i(R_INV, T0 + 16, 5),
        mul_i(R_INV, R_INV, T0 + 10), // 2^255 − 32 + 11
    ]);
    code
}

/// Every program, built once.
pub fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let mut code = Vec::new();
        let mut put = |prog: Vec<u32>| {
            let start = code.len() as u32;
            code.extend(prog);
            Span {
                start,
                len: code.len() as u32 - start,
            }
        };
        let double = put(double_program());
        let add = put(add_program(false));
        let sub = put(add_program(true));
        let head = decompress_head();
        let head_len = head.len() as u32;
        let decompress = put([head, sqrt_ratio_program()].concat());
        let sqrt_ratio = Span {
            start: decompress.start + head_len,
            len: decompress.len - head_len,
        };
        let inv = invert_program();
        let inv_len = inv.len() as u32;
        let compress = put([
            inv,
            vec![
                mul_i(R_AFFINE_X, R_QX, R_INV),
                mul_i(R_AFFINE_Y, R_QY, R_INV),
            ],
        ]
        .concat());
        let invert = Span {
            start: compress.start,
            len: inv_len,
        };
        Programs {
            code,
            double,
            add,
            sub,
            decompress,
            sqrt_ratio,
            compress,
            invert,
        }
    })
}

/// Runs one program (twin of `fe_run(span.start, span.len)`).
pub fn run(regs: &mut FieldRegs, span: Span) {
    let code = &programs().code;
    regs.run(&code[span.start as usize..(span.start + span.len) as usize]);
}

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

/// Copies a point into four registers from `base` (Q: `R_QX`, P: `R_PX`).
pub fn set_point(regs: &mut FieldRegs, base: u32, p: EdwardsPoint) {
    regs.set(base, p.x);
    regs.set(base + 1, p.y);
    regs.set(base + 2, p.z);
    regs.set(base + 3, p.t);
}

/// Reads the point in the four registers from `base`.
pub fn get_point(regs: &FieldRegs, base: u32) -> EdwardsPoint {
    EdwardsPoint {
        x: regs.get(base),
        y: regs.get(base + 1),
        z: regs.get(base + 2),
        t: regs.get(base + 3),
    }
}

/// P + Q (runs the `add` program).
pub fn point_add(regs: &mut FieldRegs, p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
    set_point(regs, R_QX, p);
    set_point(regs, R_PX, q);
    run(regs, programs().add);
    get_point(regs, R_QX)
}

/// P − Q (runs the `sub` program).
pub fn point_sub(regs: &mut FieldRegs, p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
    set_point(regs, R_QX, p);
    set_point(regs, R_PX, q);
    run(regs, programs().sub);
    get_point(regs, R_QX)
}

/// 2P (runs the `double` program).
pub fn point_double(regs: &mut FieldRegs, p: EdwardsPoint) -> EdwardsPoint {
    set_point(regs, R_QX, p);
    run(regs, programs().double);
    get_point(regs, R_QX)
}

/// Whether P is the neutral element: X ≡ 0 and Y ≡ Z. Both tests go through one `equal`.
pub fn is_identity(p: EdwardsPoint) -> bool {
    let lhs = [p.x, p.y];
    let rhs = [FE_ZERO, p.z];
    let mut all = true;
    for c in 0..2 {
        all = all && equal(lhs[c], rhs[c]);
    }
    all
}

/// \[8\]P is the identity, for each point, as curve25519-dalek's `is_small_order`; with a
/// `subtrahend` the test is on P − subtrahend instead (ZIP-215's \[8\](R' − R)). One loop, so
/// the shader holds one copy of the doubling.
pub fn cofactor_identity(
    regs: &mut FieldRegs,
    points: &[EdwardsPoint],
    subtrahend: Option<EdwardsPoint>,
) -> Vec<bool> {
    let mut out = Vec::with_capacity(points.len());
    for &p in points {
        set_point(regs, R_QX, p);
        for step in 0..4 {
            if step == 0 {
                let Some(s) = subtrahend else { continue };
                set_point(regs, R_PX, s);
                run(regs, programs().sub);
            } else {
                run(regs, programs().double);
            }
        }
        out.push(is_identity(get_point(regs, R_QX)));
    }
    out
}

/// (was_square, r) as curve25519-dalek's `FieldElement::sqrt_ratio_i`, given the program
/// outputs in the registers: r = +sqrt(u/v) when u/v is a nonzero square, 0 when u = 0, 0
/// with false when v = 0 ≠ u, and +sqrt(i·u/v) with false otherwise ("+" = even). The
/// root is returned before its sign is normalised.
fn sqrt_ratio_select(regs: &FieldRegs) -> (bool, FieldElement13x20) {
    let check = regs.get(R_SQRT_CHECK);
    let against = [R_SQRT_U, R_SQRT_NEG_U, R_SQRT_NEG_U_I];
    let mut hit = [false; 3];
    for c in 0..3 {
        hit[c] = equal(check, regs.get(against[c]));
    }
    let (correct_sign, flipped_sign, flipped_sign_i) = (hit[0], hit[1], hit[2]);
    let root = if flipped_sign || flipped_sign_i {
        regs.get(R_SQRT_R_I)
    } else {
        regs.get(R_SQRT_R)
    };
    (correct_sign || flipped_sign, root)
}

/// `sqrt_ratio_i(u, v)` on its own (for tests): runs the `sqrt_ratio` program and
/// normalises the root to the even one.
pub fn sqrt_ratio_i(
    regs: &mut FieldRegs,
    u: FieldElement13x20,
    v: FieldElement13x20,
) -> (bool, FieldElement13x20) {
    regs.set(R_SQRT_U, u);
    regs.set(R_SQRT_V, v);
    run(regs, programs().sqrt_ratio);
    let (ok, root) = sqrt_ratio_select(regs);
    (ok, negate_if(root, is_negative(root)))
}

/// 1/a (0 maps to 0) on its own (for tests): runs the `invert` program.
pub fn invert(regs: &mut FieldRegs, a: FieldElement13x20) -> FieldElement13x20 {
    regs.set(R_QZ, a);
    run(regs, programs().invert);
    regs.get(R_INV)
}

/// Decompresses 32 bytes (8 little-endian words) exactly as curve25519-dalek 4's
/// `CompressedEdwardsY::decompress`: y is the low 255 bits taken mod p (values ≥ p are
/// accepted), x = +sqrt((y² − 1)/(d·y² + 1)), negated when bit 255 is set — also when
/// x = 0. Returns `None` when the ratio is not a square.
pub fn decompress(regs: &mut FieldRegs, words: [u32; 8]) -> Option<EdwardsPoint> {
    let y = from_words(words);
    regs.set(R_DEC_Y, y);
    run(regs, programs().decompress);
    let (valid, root) = sqrt_ratio_select(regs);
    if !valid {
        return None;
    }
    // dalek takes the even root, then negates it when the sign bit is set; one
    // negation when exactly one of the two holds gives the same value.
    let sign = words[7] >> 31 == 1;
    let x = negate_if(root, is_negative(root) != sign);
    Some(EdwardsPoint {
        x,
        y,
        z: FE_ONE,
        t: mul(x, y),
    })
}

/// The canonical encoding of P: y with the sign of x in bit 255.
pub fn compress(regs: &mut FieldRegs, p: EdwardsPoint) -> [u32; 8] {
    set_point(regs, R_QX, p);
    run(regs, programs().compress);
    let mut w = to_words(regs.get(R_AFFINE_Y));
    w[7] ^= u32::from(is_negative(regs.get(R_AFFINE_X))) << 31;
    w
}

/// \[a\]A + \[b\]B for the base point B, variable time (all inputs are public).
///
/// Straus's interleaved double-scalar multiplication (E. G. Straus, "Addition chains of
/// vectors", Amer. Math. Monthly 71, 1964; Hankerson–Menezes–Vanstone, *Guide to Elliptic
/// Curve Cryptography*, Alg. 3.48) with signed radix-16 digits in [−8, 8] for both scalars
/// (the recoding of ref10's `ge_scalarmult_base`): tables of [1..8]A and [1..8]B, then 64
/// rounds of four doublings (none in the first) and up to two table additions, a negative
/// digit subtracting its entry.
///
/// Precondition: a, b < 2^255.
pub fn double_scalar_mul_basepoint(
    regs: &mut FieldRegs,
    a: [u32; 8],
    point_a: EdwardsPoint,
    b: [u32; 8],
) -> EdwardsPoint {
    let da = signed_radix16(a);
    let db = signed_radix16(b);
    // table[0..8] = [1..8]A, table[8..16] = [1..8]B.
    let mut table = [IDENTITY; 16];
    table[0] = point_a;
    table[8] = BASEPOINT;
    for j in 1..8 {
        for s in 0..2 {
            set_point(regs, R_QX, table[s * 8 + j - 1]);
            set_point(regs, R_PX, table[s * 8]);
            run(regs, programs().add);
            table[s * 8 + j] = get_point(regs, R_QX);
        }
    }
    set_point(regs, R_QX, IDENTITY);
    for n in 0..64 {
        let i = 63 - n;
        for step in 0..6 {
            let span = if step < 4 {
                if i == 63 {
                    continue;
                }
                programs().double
            } else {
                let s = step - 4;
                let digit = if s == 0 { da[i] } else { db[i] };
                if digit == 0 {
                    continue;
                }
                set_point(regs, R_PX, table[s * 8 + digit.unsigned_abs() as usize - 1]);
                if digit > 0 {
                    programs().add
                } else {
                    programs().sub
                }
            };
            run(regs, span);
        }
    }
    get_point(regs, R_QX)
}
