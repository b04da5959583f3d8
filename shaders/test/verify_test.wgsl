// Test entry points that expose the building blocks of verify.wgsl one by one, so the
// parity tests in src/verify/gpu.rs can compare each with its CPU twin on the same inputs.
// Composed after verify.wgsl (same bindings); `params.rule` selects the operation and
// `params.count` is the number of test cases. Operation numbers are kept in sync with
// `TestOp` in src/verify/gpu_tests.rs.

const FIELD_IN_STRIDE: u32 = 40u;
const FIELD_OUT_STRIDE: u32 = 21u;
const SCALAR_IN_STRIDE: u32 = 16u;
const SCALAR_OUT_STRIDE: u32 = 64u;
const CURVE_IN_STRIDE: u32 = 176u;
const CURVE_OUT_STRIDE: u32 = 81u;

fn load_fe(at: u32) -> FieldElement13x20 {
    var l: FieldElement13x20;
    for (var i = 0u; i < 20u; i++) {
        l[i] = data[at + i];
    }
    return l;
}

fn store_fe(at: u32, a: FieldElement13x20) {
    for (var i = 0u; i < 20u; i++) {
        results[at + i] = a[i];
    }
}

fn store_words8(at: u32, w: array<u32, 8>) {
    for (var i = 0u; i < 8u; i++) {
        results[at + i] = w[i];
    }
}

fn load_point(at: u32) -> EdwardsPoint {
    return EdwardsPoint(load_fe(at), load_fe(at + 20u), load_fe(at + 40u), load_fe(at + 60u));
}

fn store_point(at: u32, p: EdwardsPoint) {
    store_fe(at, p.x);
    store_fe(at + 20u, p.y);
    store_fe(at + 40u, p.z);
    store_fe(at + 60u, p.t);
}

// Input per case: a (20 limbs) | b (20 limbs); output: 20 limbs | flag.
@compute @workgroup_size(64)
fn test_field(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.count) {
        return;
    }
    let a = load_fe(index * FIELD_IN_STRIDE);
    let b = load_fe(index * FIELD_IN_STRIDE + 20u);
    let out = index * FIELD_OUT_STRIDE;
    var r = fe_zero();
    var flag = 0u;
    fe_regs_init();
    switch (params.rule) {
        case 0u: { r = fe_carry(a); }
        case 1u: { r = fe_add(a, b); }
        case 2u: { r = fe_sub(a, b); }
        case 3u: { r = fe_neg(a); }
        case 4u: { r = fe_mul(a, b); }
        case 5u: { r = fe_square(a); }
        case 6u: {
            fe_reg[R_QZ] = a;
            fe_run(PROG_INVERT_START, PROG_INVERT_LEN);
            r = fe_reg[R_INV];
        }
        case 7u: { r = fe_pow2k(a, 7u); }
        case 8u: { r = fe_to_canonical(a); }
        case 9u: {
            fe_reg[R_SQRT_U] = a;
            fe_reg[R_SQRT_V] = b;
            fe_run(PROG_SQRT_RATIO_START, PROG_SQRT_RATIO_LEN);
            let s = sqrt_ratio_select();
            r = fe_negate_if(s.root, fe_is_negative(s.root));
            flag = select(0u, 1u, s.was_square);
        }
        case 10u: {
            var w: array<u32, 8>;
            for (var i = 0u; i < 8u; i++) {
                w[i] = a[i];
            }
            r = fe_from_words(w);
        }
        case 11u: {
            let w = fe_to_words(a);
            for (var i = 0u; i < 8u; i++) {
                r[i] = w[i];
            }
            flag = select(0u, 1u, fe_is_negative(a));
        }
        default: {}
    }
    store_fe(out, r);
    results[out + 20u] = flag;
}

// Input per case: 16 words; output: up to 64 words.
@compute @workgroup_size(64)
fn test_scalar(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.count) {
        return;
    }
    let at = index * SCALAR_IN_STRIDE;
    var wide: array<u32, 16>;
    for (var i = 0u; i < 16u; i++) {
        wide[i] = data[at + i];
    }
    let narrow = load_words8(at);
    let out = index * SCALAR_OUT_STRIDE;
    switch (params.rule) {
        case 0u: { store_words8(out, sc_reduce_wide(wide)); }
        case 1u: { results[out] = select(0u, 1u, sc_is_canonical(narrow)); }
        case 2u: {
            let d = sc_signed_radix16(narrow);
            for (var i = 0u; i < 64u; i++) {
                results[out + i] = bitcast<u32>(d[i]);
            }
        }
        default: {}
    }
}

// SHA-512 of each item's bytes (items[i].offset_words, items[i].message_len): 16 words.
@compute @workgroup_size(64)
fn test_sha512(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.count) {
        return;
    }
    let item = items[index];
    let digest = sha512_words(item.offset_words, item.message_len);
    for (var i = 0u; i < 16u; i++) {
        results[index * 16u + i] = digest[i];
    }
}

// Input per case: P (80 words) | Q (80 words) | a (8 words) | b (8 words);
// output: a point (80 words) or an encoding (8 words), then a flag.
@compute @workgroup_size(64)
fn test_curve(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.count) {
        return;
    }
    let at = index * CURVE_IN_STRIDE;
    let p = load_point(at);
    let q = load_point(at + 80u);
    let a = load_words8(at + 160u);
    let b = load_words8(at + 168u);
    let out = index * CURVE_OUT_STRIDE;
    fe_regs_init();
    switch (params.rule) {
        case 0u: {
            let d = point_decompress(a);
            store_point(out, d.point);
            results[out + 80u] = select(0u, 1u, d.valid);
        }
        case 1u, 6u: {
            set_point(R_QX, p);
            set_point(R_PX, q);
            if (params.rule == 1u) {
                fe_run(PROG_ADD_START, PROG_ADD_LEN);
            } else {
                fe_run(PROG_SUB_START, PROG_SUB_LEN);
            }
            store_point(out, get_point(R_QX));
        }
        case 2u: {
            set_point(R_QX, p);
            fe_run(PROG_DOUBLE_START, PROG_DOUBLE_LEN);
            store_point(out, get_point(R_QX));
        }
        case 3u: { store_words8(out, point_compress(p)); }
        case 4u: {
            // bit 0: [8]P is the identity; bit 1: [8](P - Q) is; bit 2: P is the identity.
            let small = cofactor_identity(array<EdwardsPoint, 2>(p, q), 1u, false, q);
            let diff = cofactor_identity(array<EdwardsPoint, 2>(p, q), 1u, true, q);
            results[out + 80u] = select(0u, 1u, small[0]) | select(0u, 2u, diff[0])
                | select(0u, 4u, point_is_identity(p));
        }
        case 5u: { store_point(out, point_double_scalar_mul_basepoint(a, p, b)); }
        default: {}
    }
}
