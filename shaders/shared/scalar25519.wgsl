// Scalars mod l = 2^252 + delta, delta = 27742317777372353535851937790883648493.
// CPU twin: src/verify/twin/scalar.rs (same names and loop shapes). DELTA_12 and
// ELL_WORDS are generated from the twin by src/verify/wgsl_gen.rs.
//
// A 512-bit hash is reduced by folding with 2^252 = -delta (mod l) in signed 12-bit limbs
// (252 = 12 * 21, so the fold point is a limb boundary), three times, then adding l once if
// the result is negative. Products are 12 x 12 bits and a column sums at most 11 of them,
// so everything fits in i32.

const SCALAR_LIMB_BITS: u32 = 12u;
const SCALAR_LIMB_MASK: u32 = 0xfffu;
// Index of the limb holding bit 252.
const FOLD_LIMB: u32 = 21u;

alias ScalarLimbs = array<i32, 44>;

// Signed carry: afterwards limbs 0..42 are in [0, 2^12) and limb 43 holds the rest.
// Precondition: every limb in (-2^30, 2^30), so limb + carry-in stays inside i32.
fn sc_signed_carry(a: ScalarLimbs) -> ScalarLimbs {
    var x = a;
    for (var k = 0u; k < 43u; k++) {
        let c = x[k] >> SCALAR_LIMB_BITS; // arithmetic shift: floor division
        x[k] -= c << SCALAR_LIMB_BITS;
        x[k + 1u] += c;
    }
    return x;
}

// x = lo + hi 2^252 becomes lo - hi delta, carried.
// Precondition: limbs 0..42 in [0, 2^12) and limb 43 in [-1, 0]. Every column is then a
// sum of at most 11 products of magnitude < 2^24: inside (-2^28, 2^12).
fn sc_fold_once(x: ScalarLimbs) -> ScalarLimbs {
    var r: ScalarLimbs;
    for (var k = 0u; k < FOLD_LIMB; k++) {
        r[k] = x[k];
    }
    for (var i = 0u; i < 44u - FOLD_LIMB; i++) {
        for (var j = 0u; j < 11u; j++) {
            r[i + j] -= x[FOLD_LIMB + i] * DELTA_12[j];
        }
    }
    return sc_signed_carry(r);
}

// A 512-bit little-endian number (a SHA-512 digest) mod l, as 8 little-endian words
// (curve25519-dalek's Scalar::from_bytes_mod_order_wide).
fn sc_reduce_wide(words: array<u32, 16>) -> array<u32, 8> {
    var x: ScalarLimbs;
    for (var i = 0u; i < 43u; i++) {
        let pos = SCALAR_LIMB_BITS * i;
        let word = pos / 32u;
        let off = pos % 32u;
        var v = words[word] >> off;
        if (off > 32u - SCALAR_LIMB_BITS && word + 1u < 16u) {
            v |= words[word + 1u] << (32u - off);
        }
        x[i] = i32(v & SCALAR_LIMB_MASK);
    }
    // |x| < 2^512 -> fold 1: (-2^385, 2^252); fold 2: [0, 2^257.5); fold 3: (-2^130, 2^252).
    x = sc_fold_once(x);
    x = sc_fold_once(x);
    x = sc_fold_once(x);
    // One conditional l brings (-2^130, 2^252) into [0, l).
    if (x[43] < 0) {
        x[FOLD_LIMB] += 1;
        for (var j = 0u; j < 11u; j++) {
            x[j] += DELTA_12[j];
        }
        x = sc_signed_carry(x);
    }
    var out: array<u32, 8>;
    for (var i = 0u; i <= FOLD_LIMB; i++) {
        let pos = SCALAR_LIMB_BITS * i;
        let word = pos / 32u;
        let off = pos % 32u;
        let limb = u32(x[i]);
        out[word] |= limb << off;
        if (off > 32u - SCALAR_LIMB_BITS && word + 1u < 8u) {
            out[word + 1u] |= limb >> (32u - off);
        }
    }
    return out;
}

// Whether the 256-bit little-endian number is < l (the canonical-S check of both rules).
fn sc_is_canonical(words: array<u32, 8>) -> bool {
    for (var n = 0u; n < 8u; n++) {
        let i = 7u - n;
        if (words[i] != ELL_WORDS[i]) {
            return words[i] < ELL_WORDS[i];
        }
    }
    return false;
}

// Signed radix-16 digits d[i] in [-8, 8] with sum d[i] 16^i = the scalar.
// Precondition: scalar < 2^255, so the last carry leaves d[63] <= 8.
fn sc_signed_radix16(words: array<u32, 8>) -> array<i32, 64> {
    var d: array<i32, 64>;
    for (var i = 0u; i < 64u; i++) {
        d[i] = i32((words[i / 8u] >> (4u * (i % 8u))) & 15u);
    }
    for (var i = 0u; i < 63u; i++) {
        let c = (d[i] + 8) >> 4u;
        d[i] -= c << 4u;
        d[i + 1u] += c;
    }
    return d;
}
