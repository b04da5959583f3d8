// Edwards curve points, register shape: the formulas are programs for the field
// interpreter (fe_run in field25519_regs.wgsl), composed after curve25519_points.wgsl.
// CPU twin: src/verify/twin/curve.rs (same names and loop shapes).
//
// The programs are built by the twin's `programs()` and generated into FE_PROGRAM with
// their PROG_* spans and R_* register numbers: double = dbl-2008-hwcd, add / sub =
// add-2008-hwcd-3 (Hisil-Wong-Carter-Dawson 2008, a = -1; complete on Ed25519 since d is
// not a square), decompress = y -> u, v and the straight-line part of sqrt_ratio_i,
// compress = 1/Z by the ref10 addition chain, then X/Z and Y/Z. Points being worked on
// live in registers: the accumulator Q in R_QX..R_QT and the operand P in R_PX..R_PT.

// Sets up the register file the programs run on; once per invocation, before any other
// point function.
fn point_ops_init() {
    fe_regs_init();
}

// Copies a point into the four registers from `base` (Q: R_QX, P: R_PX).
fn set_point(base: u32, p: EdwardsPoint) {
    fe_reg[base] = p.x;
    fe_reg[base + 1u] = p.y;
    fe_reg[base + 2u] = p.z;
    fe_reg[base + 3u] = p.t;
}

fn get_point(base: u32) -> EdwardsPoint {
    return EdwardsPoint(fe_reg[base], fe_reg[base + 1u], fe_reg[base + 2u], fe_reg[base + 3u]);
}

// For each of the first `count` points: whether [8]P is the identity (curve25519-dalek's
// is_small_order); with `subtract` the test is on P - subtrahend instead (ZIP-215's
// [8](R' - R)). One loop, so the shader holds one copy of the doubling.
fn cofactor_identity(points: array<EdwardsPoint, 2>, count: u32, subtract: bool, subtrahend: EdwardsPoint) -> array<bool, 2> {
    var out: array<bool, 2>;
    var pts = points;
    for (var c = 0u; c < count; c++) {
        set_point(R_QX, pts[c]);
        for (var step = 0u; step < 4u; step++) {
            if (step == 0u) {
                if (!subtract) {
                    continue;
                }
                set_point(R_PX, subtrahend);
                fe_run(PROG_SUB_START, PROG_SUB_LEN);
            } else {
                fe_run(PROG_DOUBLE_START, PROG_DOUBLE_LEN);
            }
        }
        out[c] = point_is_identity(get_point(R_QX));
    }
    return out;
}

// The decisions of curve25519-dalek's sqrt_ratio_i after the sqrt_ratio program: root =
// +sqrt(u/v) when u/v is a nonzero square, 0 when u = 0, 0 with false when v = 0 != u,
// and +sqrt(i u/v) with false otherwise ("+" = even). The root's sign is not yet
// normalised.
fn sqrt_ratio_select() -> SqrtRatio {
    let check = fe_reg[R_SQRT_CHECK];
    var against = array<u32, 3>(R_SQRT_U, R_SQRT_NEG_U, R_SQRT_NEG_U_I);
    var hit: array<bool, 3>;
    for (var c = 0u; c < 3u; c++) {
        hit[c] = fe_equal(check, fe_reg[against[c]]);
    }
    var root = fe_reg[R_SQRT_R];
    if (hit[1] || hit[2]) {
        root = fe_reg[R_SQRT_R_I];
    }
    return SqrtRatio(hit[0] || hit[1], root);
}

// As curve25519-dalek 4's CompressedEdwardsY::decompress: y is the low 255 bits taken mod
// p (values >= p are accepted), x = +sqrt((y^2 - 1)/(d y^2 + 1)) negated when bit 255 is
// set, also when x = 0. Invalid when the ratio is not a square.
fn point_decompress(words: array<u32, 8>) -> Decompressed {
    let y = fe_from_words(words);
    fe_reg[R_DEC_Y] = y;
    fe_run(PROG_DECOMPRESS_START, PROG_DECOMPRESS_LEN);
    let s = sqrt_ratio_select();
    if (!s.was_square) {
        return Decompressed(false, point_identity());
    }
    // dalek takes the even root, then negates it when the sign bit is set; one negation
    // when exactly one of the two holds gives the same value.
    let sign = (words[7] >> 31u) == 1u;
    let x = fe_negate_if(s.root, fe_is_negative(s.root) != sign);
    return Decompressed(true, EdwardsPoint(x, y, fe_one(), fe_mul(x, y)));
}

// The canonical encoding: y with the sign of x in bit 255.
fn point_compress(p: EdwardsPoint) -> array<u32, 8> {
    set_point(R_QX, p);
    fe_run(PROG_COMPRESS_START, PROG_COMPRESS_LEN);
    var w = fe_to_words(fe_reg[R_AFFINE_Y]);
    w[7] ^= select(0u, 1u, fe_is_negative(fe_reg[R_AFFINE_X])) << 31u;
    return w;
}

// [a]A + [b]B for the base point B, variable time (all inputs are public).
//
// Straus's interleaved double-scalar multiplication (E. G. Straus, "Addition chains of
// vectors", Amer. Math. Monthly 71, 1964; Hankerson-Menezes-Vanstone, Guide to Elliptic
// Curve Cryptography, Alg. 3.48) with signed radix-16 digits in [-8, 8] for both scalars
// (the recoding of ref10's ge_scalarmult_base): tables of [1..8]A and [1..8]B, then 64
// rounds of four doublings (none in the first) and up to two table additions, a negative
// digit subtracting its entry.
// Precondition: a, b < 2^255.
fn point_double_scalar_mul_basepoint(a: array<u32, 8>, point_a: EdwardsPoint, b: array<u32, 8>) -> EdwardsPoint {
    return point_double_scalar_mul_basepoint_with(a, point_a, b, false);
}

// As point_double_scalar_mul_basepoint; with have_table, [1..8]B is read from the host's
// table (basepoint_multiple in verify.wgsl: the same points this function computes
// otherwise) where a digit needs it, instead of being computed.
fn point_double_scalar_mul_basepoint_with(a: array<u32, 8>, point_a: EdwardsPoint, b: array<u32, 8>, have_table: bool) -> EdwardsPoint {
    var da = sc_signed_radix16(a);
    var db = sc_signed_radix16(b);
    // table[0..8] = [1..8]A, table[8..16] = [1..8]B.
    var table: array<EdwardsPoint, 16>;
    table[0] = point_a;
    table[8] = point_basepoint();
    let tables = select(2u, 1u, have_table);
    for (var j = 1u; j < 8u; j++) {
        for (var s = 0u; s < tables; s++) {
            set_point(R_QX, table[s * 8u + j - 1u]);
            set_point(R_PX, table[s * 8u]);
            fe_run(PROG_ADD_START, PROG_ADD_LEN);
            table[s * 8u + j] = get_point(R_QX);
        }
    }
    set_point(R_QX, point_identity());
    for (var n = 0u; n < 64u; n++) {
        let i = 63u - n;
        for (var step = 0u; step < 6u; step++) {
            var start = PROG_DOUBLE_START;
            var len = PROG_DOUBLE_LEN;
            if (step < 4u) {
                if (i == 63u) {
                    continue;
                }
            } else {
                let s = step - 4u;
                let digit = select(db[i], da[i], s == 0u);
                if (digit == 0) {
                    continue;
                }
                let entry = u32(abs(digit)) - 1u;
                if (have_table && s == 1u) {
                    set_point(R_PX, basepoint_multiple(entry));
                } else {
                    set_point(R_PX, table[s * 8u + entry]);
                }
                start = select(PROG_SUB_START, PROG_ADD_START, digit > 0);
                len = select(PROG_SUB_LEN, PROG_ADD_LEN, digit > 0);
            }
            fe_run(start, len);
        }
    }
    return get_point(R_QX);
}
