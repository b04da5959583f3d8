// The twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 in extended coordinates
// (X : Y : Z : T), x = X/Z, y = Y/Z, x y = T/Z. CPU twin: src/verify/twin/curve.rs (same
// names and loop shapes). BASEPOINT_* are generated from the twin by src/verify/gpu.rs.

struct EdwardsPoint {
    x: FieldElement13x20,
    y: FieldElement13x20,
    z: FieldElement13x20,
    t: FieldElement13x20,
}

fn point_identity() -> EdwardsPoint {
    return EdwardsPoint(fe_zero(), fe_one(), fe_one(), fe_zero());
}

fn point_basepoint() -> EdwardsPoint {
    return EdwardsPoint(BASEPOINT_X, BASEPOINT_Y, fe_one(), BASEPOINT_T);
}

// P + Q: "add-2008-hwcd-3" (Hisil-Wong-Carter-Dawson 2008, section 3.1, a = -1, k = 2d).
// Complete on Ed25519 (d is not a square): small-order and equal inputs need no special case.
fn point_add(p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
    let a = fe_mul(fe_sub(p.y, p.x), fe_sub(q.y, q.x));
    let b = fe_mul(fe_add(p.y, p.x), fe_add(q.y, q.x));
    let c = fe_mul(fe_mul(p.t, FE_D2), q.t);
    let d = fe_mul(fe_add(p.z, p.z), q.z);
    let e = fe_sub(b, a);
    let f = fe_sub(d, c);
    let g = fe_add(d, c);
    let h = fe_add(b, a);
    return EdwardsPoint(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

fn point_neg(p: EdwardsPoint) -> EdwardsPoint {
    return EdwardsPoint(fe_neg(p.x), p.y, p.z, fe_neg(p.t));
}

// 2P: "dbl-2008-hwcd" (Hisil-Wong-Carter-Dawson 2008, section 3.3) with a = -1, 4M + 4S.
fn point_double(p: EdwardsPoint) -> EdwardsPoint {
    let a = fe_square(p.x);
    let b = fe_square(p.y);
    let zz = fe_square(p.z);
    let c = fe_add(zz, zz);
    let xy = fe_add(p.x, p.y);
    let e = fe_sub(fe_sub(fe_square(xy), a), b);
    let g = fe_sub(b, a); // D + B with D = a A = -A
    let f = fe_sub(g, c);
    let h = fe_neg(fe_add(a, b)); // D - B
    return EdwardsPoint(fe_mul(e, f), fe_mul(g, h), fe_mul(f, g), fe_mul(e, h));
}

// X = 0 and Y = Z.
fn point_is_identity(p: EdwardsPoint) -> bool {
    return fe_is_zero(p.x) && fe_is_zero(fe_sub(p.y, p.z));
}

// [8]P.
fn point_mul_by_cofactor(p: EdwardsPoint) -> EdwardsPoint {
    return point_double(point_double(point_double(p)));
}

// Whether [8]P is the identity, as curve25519-dalek's is_small_order.
fn point_is_small_order(p: EdwardsPoint) -> bool {
    return point_is_identity(point_mul_by_cofactor(p));
}

struct Decompressed {
    valid: bool,
    point: EdwardsPoint,
}

// As curve25519-dalek 4's CompressedEdwardsY::decompress: y is the low 255 bits taken mod
// p (values >= p are accepted), x = +sqrt((y^2 - 1)/(d y^2 + 1)) negated when bit 255 is
// set, also when x = 0. Invalid when the ratio is not a square.
fn point_decompress(words: array<u32, 8>) -> Decompressed {
    let y = fe_from_words(words);
    let yy = fe_square(y);
    let u = fe_sub(yy, fe_one());
    let v = fe_add(fe_mul(yy, FE_D), fe_one());
    let s = fe_sqrt_ratio_i(u, v);
    if (!s.was_square) {
        return Decompressed(false, point_identity());
    }
    let x = fe_negate_if(s.root, (words[7] >> 31u) == 1u);
    return Decompressed(true, EdwardsPoint(x, y, fe_one(), fe_mul(x, y)));
}

// The canonical encoding: y with the sign of x in bit 255.
fn point_compress(p: EdwardsPoint) -> array<u32, 8> {
    let recip = fe_invert(p.z);
    let x = fe_mul(p.x, recip);
    let y = fe_mul(p.y, recip);
    var w = fe_to_words(y);
    w[7] ^= select(0u, 1u, fe_is_negative(x)) << 31u;
    return w;
}

// [1]P .. [8]P.
fn point_multiples_of(p: EdwardsPoint) -> array<EdwardsPoint, 8> {
    var table: array<EdwardsPoint, 8>;
    table[0] = p;
    for (var i = 1u; i < 8u; i++) {
        table[i] = point_add(table[i - 1u], p);
    }
    return table;
}

// Adds [digit]P from a table of [1..8]P, digit in [-8, 8].
fn point_add_digit(q: EdwardsPoint, table: ptr<function, array<EdwardsPoint, 8>>, digit: i32) -> EdwardsPoint {
    if (digit > 0) {
        return point_add(q, (*table)[u32(digit) - 1u]);
    }
    if (digit < 0) {
        return point_add(q, point_neg((*table)[u32(-digit) - 1u]));
    }
    return q;
}

// [a]A + [b]B for the base point B, variable time (all inputs are public).
//
// Straus's interleaved double-scalar multiplication (E. G. Straus, "Addition chains of
// vectors", Amer. Math. Monthly 71, 1964; Hankerson-Menezes-Vanstone, Guide to Elliptic
// Curve Cryptography, Alg. 3.48) with signed radix-16 digits in [-8, 8] for both scalars
// (the recoding of ref10's ge_scalarmult_base): 63 rounds of four doublings and at most
// two table additions.
// Precondition: a, b < 2^255.
fn point_double_scalar_mul_basepoint(a: array<u32, 8>, point_a: EdwardsPoint, b: array<u32, 8>) -> EdwardsPoint {
    let da = sc_signed_radix16(a);
    let db = sc_signed_radix16(b);
    var table_a = point_multiples_of(point_a);
    var table_b = point_multiples_of(point_basepoint());
    var q = point_identity();
    for (var n = 0u; n < 64u; n++) {
        let i = 63u - n;
        if (i != 63u) {
            for (var k = 0u; k < 4u; k++) {
                q = point_double(q);
            }
        }
        q = point_add_digit(q, &table_a, da[i]);
        q = point_add_digit(q, &table_b, db[i]);
    }
    return q;
}
