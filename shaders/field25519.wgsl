// Arithmetic mod p = 2^255 - 19 in 20 limbs of 13 bits (FieldElement13x20): value =
// sum of limb[i] * 2^(13 i). Core WGSL only: u32 products of two limbs of at most 14 bits
// and column sums that stay below 2^32, so no 64-bit integers are needed.
//
// CPU twin: src/verify/twin/field.rs (function fe_x here is field::x there; same loop
// shapes). Bounds used throughout:
//   tight: limb 1 <= 2^13 + 2^7 = 8320, every other limb < 2^13. Every function that
//   returns a field element returns it tight; a tight element is < 2^260.02 and congruent
//   to its value mod p; fe_to_canonical gives the representative in [0, p).
// FE_D, FE_D2, FE_SQRT_M1 are generated from the twin by src/verify/gpu.rs.

alias FieldElement13x20 = array<u32, 20>;

const LIMB_BITS: u32 = 13u;
const LIMB_MASK: u32 = 0x1fffu;
// 2^260 mod p = 2^5 * 19: what a carry out of limb 19 is worth at limb 0.
const FOLD_260: u32 = 608u;
// 64 p written with every limb >= 2^13 + 2^7 (limb 0 = 15168, the rest 16382), so
// a + SUB_BIAS - b never goes below zero for tight b.
const SUB_BIAS_LIMB0: u32 = 15168u;
const SUB_BIAS_LIMB: u32 = 16382u;

fn fe_zero() -> FieldElement13x20 {
    return FieldElement13x20();
}

fn fe_one() -> FieldElement13x20 {
    var l = FieldElement13x20();
    l[0] = 1u;
    return l;
}

// Propagates carries so the result is tight.
// Precondition: every limb < 2^23. Then the carry out of limb 19 is <= 2^10 + 1, the fold
// adds < 2^19.25 to limb 0, and limb 1 ends <= 8191 + 77 < 8320.
fn fe_carry(a: FieldElement13x20) -> FieldElement13x20 {
    var l = a;
    for (var i = 0u; i < 19u; i++) {
        l[i + 1u] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
    let top = l[19] >> LIMB_BITS;
    l[19] &= LIMB_MASK;
    l[0] += top * FOLD_260;
    l[1] += l[0] >> LIMB_BITS;
    l[0] &= LIMB_MASK;
    return l;
}

fn fe_add(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    var l: FieldElement13x20;
    for (var i = 0u; i < 20u; i++) {
        // Precondition: a, b tight, so the sum <= 16640 < 2^23 (fe_carry's precondition).
        l[i] = a[i] + b[i];
    }
    return fe_carry(l);
}

// a - b as a + 64p - b.
fn fe_sub(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    var l: FieldElement13x20;
    for (var i = 0u; i < 20u; i++) {
        // Precondition: a, b tight: the bias limb >= 15168 > b[i], and the sum < 2^15.
        let bias = select(SUB_BIAS_LIMB, SUB_BIAS_LIMB0, i == 0u);
        l[i] = a[i] + bias - b[i];
    }
    return fe_carry(l);
}

fn fe_neg(a: FieldElement13x20) -> FieldElement13x20 {
    return fe_sub(fe_zero(), a);
}

// Carries a 39-column product into 40 limbs of 13 bits, then folds limbs 20..39 down with
// 2^260 = 608 (mod p).
// Precondition: every column < 2^31 (so column + carry-in < 2^32) and the product is
// < 2^520.05, so the top limb after carrying is < 2^13.05.
fn fe_reduce_product(product: array<u32, 40>) -> FieldElement13x20 {
    var t = product;
    for (var k = 0u; k < 39u; k++) {
        t[k + 1u] += t[k] >> LIMB_BITS;
        t[k] &= LIMB_MASK;
    }
    var l: FieldElement13x20;
    for (var i = 0u; i < 20u; i++) {
        // Precondition: t[i] < 2^13, t[i + 20] < 2^13.05: the sum < 2^13 + 608 * 2^13.05 < 2^23.
        l[i] = t[i] + t[i + 20u] * FOLD_260;
    }
    return fe_carry(l);
}

// a * b, schoolbook.
fn fe_mul(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    var t: array<u32, 40>;
    for (var i = 0u; i < 20u; i++) {
        for (var j = 0u; j < 20u; j++) {
            // Precondition: a, b tight: each product <= 8320^2 < 2^26.05 and a column sums
            // at most 20 of them: < 1.39e9 < 2^31.
            t[i + j] += a[i] * b[j];
        }
    }
    return fe_reduce_product(t);
}

// a^2, each cross product computed once and doubled.
fn fe_square(a: FieldElement13x20) -> FieldElement13x20 {
    var t: array<u32, 40>;
    for (var i = 0u; i < 20u; i++) {
        // Precondition: a tight: a[i]^2 < 2^26.05, 2 a[i] a[j] < 2^27.05, and a column holds
        // the same total as in fe_mul (< 2^31).
        t[2u * i] += a[i] * a[i];
        let twice = 2u * a[i];
        for (var j = i + 1u; j < 20u; j++) {
            t[i + j] += twice * a[j];
        }
    }
    return fe_reduce_product(t);
}

// a^(2^k): k squarings.
fn fe_pow2k(a: FieldElement13x20, k: u32) -> FieldElement13x20 {
    var r = a;
    for (var i = 0u; i < k; i++) {
        r = fe_square(r);
    }
    return r;
}

// Carry chain over limbs 0..19 without the fold out of limb 19.
// Precondition: every limb < 2^31.
fn fe_carry_chain(a: FieldElement13x20) -> FieldElement13x20 {
    var l = a;
    for (var i = 0u; i < 19u; i++) {
        l[i + 1u] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
    return l;
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

// The field-operation interpreter (twin: field::FieldRegs). Curve formulas and
// exponentiation chains run as short programs of field operations through this one loop
// instead of as straight-line code: drivers inline every call, and the straight-line form
// of this verifier took minutes to compile on Mesa's lavapipe. Instruction words: op (bits
// 0-3), dst (4-8), a (9-13), b (14-18), repeat count n (19-31, squarings only). Registers
// R_ZERO, R_ONE, R_D, R_D2, R_SQRT_M1 hold constants (fe_regs_init); FE_PROGRAM and the
// register and op numbers are generated by src/verify/gpu.rs from the twin.

var<private> fe_reg: array<FieldElement13x20, 32>;

fn fe_regs_init() {
    for (var i = 0u; i < 32u; i++) {
        fe_reg[i] = fe_zero();
    }
    fe_reg[R_ONE] = fe_one();
    fe_reg[R_D] = FE_D;
    fe_reg[R_D2] = FE_D2;
    fe_reg[R_SQRT_M1] = FE_SQRT_M1;
}

// Runs FE_PROGRAM[start .. start + len]; operands are read before the result is written.
fn fe_run(start: u32, len: u32) {
    for (var pc = start; pc < start + len; pc++) {
        let word = FE_PROGRAM[pc];
        let op = word & 15u;
        let d = (word >> 4u) & 31u;
        let a = fe_reg[(word >> 9u) & 31u];
        let b = fe_reg[(word >> 14u) & 31u];
        let n = word >> 19u;
        switch (op) {
            case OP_MUL: { fe_reg[d] = fe_mul(a, b); }
            case OP_SQR: { fe_reg[d] = fe_pow2k(a, n); }
            case OP_ADD: { fe_reg[d] = fe_add(a, b); }
            default: { fe_reg[d] = fe_sub(a, b); }
        }
    }
}
