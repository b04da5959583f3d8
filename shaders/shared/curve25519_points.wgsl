// Edwards curve points shared by both shapes of the verifier (curve25519.wgsl, the register
// shape, and curve25519_straight.wgsl): the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2
// in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x y = T/Z. CPU twin:
// src/verify/twin/curve.rs.

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

// X = 0 and Y = Z, both through one fe_equal.
fn point_is_identity(p: EdwardsPoint) -> bool {
    var lhs = array<FieldElement13x20, 2>(p.x, p.y);
    var rhs = array<FieldElement13x20, 2>(fe_zero(), p.z);
    var all = true;
    for (var c = 0u; c < 2u; c++) {
        all = all && fe_equal(lhs[c], rhs[c]);
    }
    return all;
}

// What sqrt_ratio_i returns (see point_decompress in either shape).
struct SqrtRatio {
    was_square: bool,
    root: FieldElement13x20,
}

// A decompressed point, or valid = false when the encoding is not a point.
struct Decompressed {
    valid: bool,
    point: EdwardsPoint,
}
