// Edwards curve points, straight-line shape: the formulas of curve25519.wgsl (the same
// steps as the twin's programs in src/verify/twin/curve.rs, so every result is the same
// limbs) written as direct calls of fe_mul, fe_square, fe_add and fe_sub on field
// elements held in locals: no register file and no interpreter. Composed after
// curve25519_points.wgsl.
//
// Compile time: drivers inline every call, so code size is the number of call sites of
// the unrolled field functions. Each point operation therefore has one call site inside
// the loops that use it: Straus's loop builds its tables and adds its digits through one
// point_add_signed and doubles through one point_double; the cofactor checks have one of
// each too. Exponentiation chains (sqrt_ratio_i, the inversion in point_compress) are
// loops of squarings (fe_pow2k), and the multiplications of ref10's addition chain after
// x^31 are one multiplication in a loop of seven steps (fe_pow22501).
//
// Table lookups by signed digit: [1..8]A and (without the host's table) [1..8]B sit in
// one local array of sixteen points indexed by |digit| - 1 (a negative digit selects the
// subtraction in point_add_signed). It is the one dynamically indexed local of this
// shape, read at most twice per round (at most 128 reads per verification), where the
// register shape indexes its register file in every field operation. With the host's
// table, a B entry is read from the storage buffer by the same index instead.

// Nothing to set up: this shape keeps every value in locals.
fn point_ops_init() {
}

// 2P: dbl-2008-hwcd with a = -1, 4M + 4S (twin: double_program).
fn point_double(p: EdwardsPoint) -> EdwardsPoint {
    let a = fe_square(p.x);
    let b = fe_square(p.y);
    var c = fe_square(p.z);
    c = fe_add(c, c); // C = 2Z^2
    var e = fe_square(fe_add(p.x, p.y));
    e = fe_sub(e, a);
    e = fe_sub(e, b); // E = (X + Y)^2 - A - B
    let g = fe_sub(b, a); // G = D + B with D = a A = -A
    let f = fe_sub(g, c); // F = G - C
    let h = fe_sub(fe_zero(), fe_add(a, b)); // H = D - B = -A - B
    return EdwardsPoint(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

// Q + P, or Q - P with negate: add-2008-hwcd-3 with a = -1, k = 2d, 9M (twin:
// add_program). -P = (-X, Y, Z, -T) swaps Y - X with Y + X and the sign of C.
fn point_add_signed(q: EdwardsPoint, p: EdwardsPoint, negate: bool) -> EdwardsPoint {
    var p_minus = fe_sub(p.y, p.x);
    var p_plus = fe_add(p.y, p.x);
    if (negate) {
        let swap = p_minus;
        p_minus = p_plus;
        p_plus = swap;
    }
    let a = fe_mul(fe_sub(q.y, q.x), p_minus); // A = (Y1 - X1)(Y2 - X2)
    let b = fe_mul(fe_add(q.y, q.x), p_plus); // B = (Y1 + X1)(Y2 + X2)
    let c = fe_mul(fe_mul(q.t, FE_D2), p.t); // C = T1 2d T2
    let d = fe_mul(fe_add(q.z, q.z), p.z); // D = 2 Z1 Z2
    let e = fe_sub(b, a);
    var f = fe_sub(d, c);
    var g = fe_add(d, c);
    if (negate) {
        let swap = f;
        f = g;
        g = swap;
    }
    let h = fe_add(b, a);
    return EdwardsPoint(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

// For each of the first `count` points: whether [8]P is the identity (curve25519-dalek's
// is_small_order); with `subtract` the test is on P - subtrahend instead (ZIP-215's
// [8](R' - R)).
fn cofactor_identity(points: array<EdwardsPoint, 2>, count: u32, subtract: bool, subtrahend: EdwardsPoint) -> array<bool, 2> {
    var out: array<bool, 2>;
    var pts = points;
    for (var c = 0u; c < count; c++) {
        var q = pts[c];
        if (subtract) {
            q = point_add_signed(q, subtrahend, true);
        }
        for (var step = 0u; step < 3u; step++) {
            q = point_double(q);
        }
        out[c] = point_is_identity(q);
    }
    return out;
}

// x^(2^250 - 1) and x^11 by ref10's addition chain (twin: pow22501_program).
struct Pow22501 {
    p250: FieldElement13x20,
    p11: FieldElement13x20,
}

fn fe_pow22501(x: FieldElement13x20) -> Pow22501 {
    let x2 = fe_square(x);
    let x9 = fe_mul(fe_pow2k(x2, 2u), x);
    let x11 = fe_mul(x2, x9);
    // acc = x^(2^5 - 1), then acc = acc^(2^n) m: 2^10 - 1, 2^20 - 1, 2^40 - 1, 2^50 - 1,
    // 2^100 - 1, 2^200 - 1, 2^250 - 1, with m = acc except m = x^(2^10 - 1) for 2^50 - 1
    // and m = x^(2^50 - 1) for 2^250 - 1.
    var acc = fe_mul(fe_square(x11), x9);
    var p10 = acc;
    var p50 = acc;
    for (var k = 0u; k < 7u; k++) {
        var n = 0u;
        var m = acc;
        switch (k) {
            case 0u: { n = 5u; }
            case 1u: { n = 10u; }
            case 2u: { n = 20u; }
            case 3u: { n = 10u; m = p10; }
            case 4u: { n = 50u; }
            case 5u: { n = 100u; }
            default: { n = 50u; m = p50; }
        }
        acc = fe_mul(fe_pow2k(acc, n), m);
        if (k == 0u) {
            p10 = acc;
        }
        if (k == 3u) {
            p50 = acc;
        }
    }
    return Pow22501(acc, x11);
}

// curve25519-dalek's sqrt_ratio_i (twin: sqrt_ratio_program, then sqrt_ratio_select):
// r = (u v^3)(u v^7)^((p - 5)/8); root = +sqrt(u/v) when u/v is a nonzero square, 0 when
// u = 0, 0 with false when v = 0 != u, and +sqrt(i u/v) with false otherwise ("+" =
// even). The root's sign is not yet normalised.
fn sqrt_ratio_i(u: FieldElement13x20, v: FieldElement13x20) -> SqrtRatio {
    let v3 = fe_mul(fe_square(v), v);
    let v7 = fe_mul(fe_square(v3), v);
    let uv3 = fe_mul(u, v3);
    let uv7 = fe_mul(u, v7);
    let chain = fe_pow22501(uv7);
    let r = fe_mul(uv3, fe_mul(fe_pow2k(chain.p250, 2u), uv7));
    let check = fe_mul(fe_square(r), v);
    let neg_u = fe_sub(fe_zero(), u);
    var against = array<FieldElement13x20, 3>(u, neg_u, fe_mul(neg_u, FE_SQRT_M1));
    var hit: array<bool, 3>;
    for (var c = 0u; c < 3u; c++) {
        hit[c] = fe_equal(check, against[c]);
    }
    var root = r;
    if (hit[1] || hit[2]) {
        root = fe_mul(r, FE_SQRT_M1);
    }
    return SqrtRatio(hit[0] || hit[1], root);
}

// As curve25519-dalek 4's CompressedEdwardsY::decompress: y is the low 255 bits taken mod
// p (values >= p are accepted), x = +sqrt((y^2 - 1)/(d y^2 + 1)) negated when bit 255 is
// set, also when x = 0. Invalid when the ratio is not a square.
fn point_decompress(words: array<u32, 8>) -> Decompressed {
    let y = fe_from_words(words);
    let yy = fe_square(y);
    let u = fe_sub(yy, fe_one());
    let v = fe_add(fe_mul(yy, FE_D), fe_one());
    let s = sqrt_ratio_i(u, v);
    if (!s.was_square) {
        return Decompressed(false, point_identity());
    }
    // dalek takes the even root, then negates it when the sign bit is set; one negation
    // when exactly one of the two holds gives the same value.
    let sign = (words[7] >> 31u) == 1u;
    let x = fe_negate_if(s.root, fe_is_negative(s.root) != sign);
    return Decompressed(true, EdwardsPoint(x, y, fe_one(), fe_mul(x, y)));
}

// The canonical encoding: y with the sign of x in bit 255. 1/Z = Z^(2^255 - 21) (twin:
// invert_program).
fn point_compress(p: EdwardsPoint) -> array<u32, 8> {
    let chain = fe_pow22501(p.z);
    let inv = fe_mul(fe_pow2k(chain.p250, 5u), chain.p11);
    var w = fe_to_words(fe_mul(p.y, inv));
    w[7] ^= select(0u, 1u, fe_is_negative(fe_mul(p.x, inv))) << 31u;
    return w;
}

// [a]A + [b]B for the base point B, variable time (all inputs are public): Straus's
// interleaved double-scalar multiplication with signed radix-16 digits, as in
// curve25519.wgsl (twin: double_scalar_mul_basepoint). With have_table, [1..8]B is read
// from the host's table (basepoint_multiple in verify.wgsl: the same points as computed
// here) where a digit needs it, instead of being computed.
//
// One loop of 65 passes: pass 0 builds the tables (one addition per entry), pass n >= 1
// is the round of digit 64 - n (four doublings, none in the first round, then up to two
// table additions), so the shader holds one doubling and one addition.
// Precondition: a, b < 2^255.
fn point_double_scalar_mul_basepoint_with(a: array<u32, 8>, point_a: EdwardsPoint, b: array<u32, 8>, have_table: bool) -> EdwardsPoint {
    var da = sc_signed_radix16(a);
    var db = sc_signed_radix16(b);
    // table[0..8] = [1..8]A, table[8..16] = [1..8]B.
    var table: array<EdwardsPoint, 16>;
    table[0] = point_a;
    table[8] = point_basepoint();
    let tables = select(2u, 1u, have_table);
    var q = point_identity();
    for (var n = 0u; n < 65u; n++) {
        let i = 64u - n;
        if (n > 1u) {
            for (var d = 0u; d < 4u; d++) {
                q = point_double(q);
            }
        }
        let steps = select(2u, 7u * tables, n == 0u);
        for (var step = 0u; step < steps; step++) {
            var lhs = q;
            var rhs: EdwardsPoint;
            var negate = false;
            // Pass 0: entry j of table s is entry j - 1 plus entry 0.
            let s = select(step, step % tables, n == 0u);
            let j = step / tables + 1u;
            if (n == 0u) {
                lhs = table[s * 8u + j - 1u];
                rhs = table[s * 8u];
            } else {
                let digit = select(db[i], da[i], s == 0u);
                if (digit == 0) {
                    continue;
                }
                let entry = u32(abs(digit)) - 1u;
                if (have_table && s == 1u) {
                    rhs = basepoint_multiple(entry);
                } else {
                    rhs = table[s * 8u + entry];
                }
                negate = digit < 0;
            }
            let sum = point_add_signed(lhs, rhs, negate);
            if (n == 0u) {
                table[s * 8u + j] = sum;
            } else {
                q = sum;
            }
        }
    }
    return q;
}
