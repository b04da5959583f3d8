// Arithmetic mod p = 2^255 - 19 in 20 limbs of 13 bits (FieldElement13x20): value =
// sum of limb[i] * 2^(13 i). Core WGSL only: u32 products of two limbs of at most 14 bits
// and column sums that stay below 2^32, so no 64-bit integers are needed.
//
// CPU twin: src/verify/twin/field.rs (function fe_x here is field::x there; same loop
// shapes). Bounds used throughout:
//   tight: limb 1 <= 2^13 + 2^7 = 8320, every other limb < 2^13. Every function that
//   returns a field element returns it tight; a tight element is < 2^260.02 and congruent
//   to its value mod p; fe_to_canonical gives the representative in [0, p).
// FE_D, FE_D2, FE_SQRT_M1 are generated from the twin by src/verify/wgsl_gen.rs.

alias FieldElement13x20 = array<u32, 20>;

const LIMB_BITS: u32 = 13u;
const LIMB_MASK: u32 = 0x1fffu;

fn fe_zero() -> FieldElement13x20 {
    return FieldElement13x20();
}

fn fe_one() -> FieldElement13x20 {
    var l = FieldElement13x20();
    l[0] = 1u;
    return l;
}

// fe_carry, fe_add, fe_sub, fe_reduce_product, fe_mul, fe_square and fe_carry_chain are
// emitted fully unrolled, with their limb-bound preconditions, by `field_arith_wgsl()` in
// src/verify/wgsl_gen.rs: one statement per iteration of the twin's loops. Straight-line code
// is what GPUs run best, and Mesa's llvmpipe (lavapipe) caps the loop iterations of one
// shader invocation at 65535 in total, which looped field arithmetic would exceed many
// times over in one verification.

fn fe_neg(a: FieldElement13x20) -> FieldElement13x20 {
    return fe_sub(fe_zero(), a);
}

// a^(2^k): k squarings.
fn fe_pow2k(a: FieldElement13x20, k: u32) -> FieldElement13x20 {
    var r = a;
    for (var i = 0u; i < k; i++) {
        r = fe_square(r);
    }
    return r;
}

// The unique representative in [0, p), as 13-bit limbs (limb 19 < 2^8).
fn fe_to_canonical(a: FieldElement13x20) -> FieldElement13x20 {
    var l = a;
    // Precondition: a tight, value < 2^260.02. Two folds of the bits >= 255 (2^255 = 19
    // mod p) bring it below 2^255.
    for (var n = 0u; n < 2u; n++) {
        let top = l[19] >> 8u;
        l[19] &= 0xffu;
        l[0] += 19u * top;
        l = fe_carry_chain(l);
    }
    // value < 2^255; it is >= p exactly when value + 19 >= 2^255, and then subtracting p
    // is adding 19 and dropping bit 255.
    var probe = l;
    probe[0] += 19u;
    probe = fe_carry_chain(probe);
    let q = probe[19] >> 8u;
    l[0] += 19u * q;
    l = fe_carry_chain(l);
    l[19] &= 0xffu;
    return l;
}

// Loads 32 little-endian bytes given as 8 words, ignoring bit 255 (as curve25519-dalek's
// FieldElement::from_bytes); values in [p, 2^255) stay unreduced.
fn fe_from_words(w: array<u32, 8>) -> FieldElement13x20 {
    var words = w;
    words[7] &= 0x7fffffffu;
    var l: FieldElement13x20;
    for (var i = 0u; i < 20u; i++) {
        let pos = LIMB_BITS * i;
        let word = pos / 32u;
        let off = pos % 32u;
        var v = words[word] >> off;
        if (off > 32u - LIMB_BITS && word + 1u < 8u) {
            v |= words[word + 1u] << (32u - off);
        }
        l[i] = v & LIMB_MASK;
    }
    return l;
}

// The canonical 32-byte encoding as 8 little-endian words.
fn fe_to_words(a: FieldElement13x20) -> array<u32, 8> {
    let c = fe_to_canonical(a);
    var w: array<u32, 8>;
    for (var i = 0u; i < 20u; i++) {
        let pos = LIMB_BITS * i;
        let word = pos / 32u;
        let off = pos % 32u;
        w[word] |= c[i] << off;
        if (off > 32u - LIMB_BITS && word + 1u < 8u) {
            w[word + 1u] |= c[i] >> (32u - off);
        }
    }
    return w;
}

fn fe_is_zero(a: FieldElement13x20) -> bool {
    let c = fe_to_canonical(a);
    var acc = 0u;
    for (var i = 0u; i < 20u; i++) {
        acc |= c[i];
    }
    return acc == 0u;
}

fn fe_equal(a: FieldElement13x20, b: FieldElement13x20) -> bool {
    return fe_is_zero(fe_sub(a, b));
}

// Whether the canonical representative is odd ("negative" in RFC 8032's sense).
fn fe_is_negative(a: FieldElement13x20) -> bool {
    return (fe_to_canonical(a)[0] & 1u) == 1u;
}

fn fe_negate_if(a: FieldElement13x20, negate: bool) -> FieldElement13x20 {
    if (negate) {
        return fe_neg(a);
    }
    return a;
}
