// Exact wide arithmetic of the liquidity and route kinds (docs/SPEC.md, "Liquidity and
// routes"): the input a hop needs for a given output, quotes, floor square roots of
// 128-bit products, and quotients that may reach 2^64, all in 32-bit limbs for core WGSL
// (no SHADER_INT64). Needs shaders/shared/u64.wgsl in front (mac, add64, sub64, lt64,
// eq64, swap_out). CPU twin: src/exec/twin_wide.rs (same names, same loop shapes).
//
// Loop budget. llvmpipe (lavapipe) stops a shader after 65,535 loop iterations counted
// over the whole invocation, and one serial invocation runs many txs in a row (see
// SERIAL_SEGMENT_MAX_TXS in src/exec/layout.rs), so every loop here has a small fixed
// bound, written next to it; products and word-wide helpers are straight-line code.
// Per call, at most: div_wide 104, hence quote and amount_in 104; isqrt128 64.

// A quotient that may be 2^64 or more: `value` is the quotient when `over` is false, and
// 2^64 − 1 (saturated) when `over` is true.
struct Q64 {
    value: vec2<u32>,
    over: bool,
}

const U64_MAX: vec2<u32> = vec2<u32>(0xffffffffu, 0xffffffffu);
// Digits of the long division: 16 bits, so that every digit product and every two-digit
// partial remainder fits one u32 (Hacker's Delight, 2nd ed., 9-2, `divmnu`).
const DIGIT_BASE: u32 = 0x10000u;
const DIGIT_MASK: u32 = 0xffffu;

// a·b of two u64 as four words (word 0 lowest). Straight-line schoolbook, rows of a.y.
fn mul64x64(a: vec2<u32>, b: vec2<u32>) -> array<u32, 4> {
    // Precondition: every mac operand is a word, so each total fits 64 bits (see mac).
    let p00 = mac(a.x, b.x, 0u, 0u);
    let p01 = mac(a.x, b.y, p00.y, 0u);
    let p10 = mac(a.y, b.x, p01.x, 0u);
    let p11 = mac(a.y, b.y, p01.y, p10.y);
    return array<u32, 4>(p00.x, p10.x, p11.x, p11.y);
}

// p·w of a four-word p and a word w, five words.
fn mul128x32(p: array<u32, 4>, w: u32) -> array<u32, 5> {
    // Precondition: words in; each carry is ≤ 2^32 − 1, so each mac total fits 64 bits.
    let t0 = mac(p[0], w, 0u, 0u);
    let t1 = mac(p[1], w, 0u, t0.y);
    let t2 = mac(p[2], w, 0u, t1.y);
    let t3 = mac(p[3], w, 0u, t2.y);
    return array<u32, 5>(t0.x, t1.x, t2.x, t3.x, t3.y);
}

// a·w of a u64 a and a word w, three words.
fn mul64x32(a: vec2<u32>, w: u32) -> array<u32, 3> {
    let t0 = mac(a.x, w, 0u, 0u);
    let t1 = mac(a.y, w, 0u, t0.y);
    return array<u32, 3>(t0.x, t1.x, t1.y);
}

// ⌊n / d⌋ of a five-word n (< 2^160) and a three-word d ≥ 1, saturated to a Q64.
// Knuth's algorithm D (TAOCP vol. 2, 4.3.1) in 16-bit digits, after Hacker's Delight
// `divmnu`: u32 arithmetic holds every digit product and estimate. The dividend has 10
// digits (u, plus one for normalisation), the divisor nd ≤ 6.
// Loop iterations, at most: 5 + 3 (digits) + 5 (divisor length); then with nd = 1, 10
// (short division); else nd − 1 + 9 (normalisation) and (11 − nd) quotient digits of at
// most 1 + 2 (estimate corrections) + nd (multiply and subtract) + nd (add back). The
// worst is nd = 5: 13 + 13 + 6 × 13 = 104.
fn div_wide(n: array<u32, 5>, d: array<u32, 3>) -> Q64 {
    var u: array<u32, 11>;
    var v: array<u32, 6>;
    for (var k = 0u; k < 5u; k++) {
        u[2u * k] = n[k] & DIGIT_MASK;
        u[2u * k + 1u] = n[k] >> 16u;
    }
    for (var k = 0u; k < 3u; k++) {
        v[2u * k] = d[k] & DIGIT_MASK;
        v[2u * k + 1u] = d[k] >> 16u;
    }
    // Precondition: d ≥ 1, so some digit of v is non-zero and nd ≥ 1.
    var nd = 6u;
    for (var k = 0u; k < 5u; k++) {
        if (v[nd - 1u] != 0u) {
            break;
        }
        nd -= 1u;
    }
    var q: array<u32, 10>;
    if (nd == 1u) {
        // Short division by one digit: the partial remainder r < v[0] < 2^16, so
        // r·2^16 + digit < 2^32.
        var r = 0u;
        for (var k = 0u; k < 10u; k++) {
            let j = 9u - k;
            let t = (r << 16u) | u[j];
            q[j] = t / v[0];
            r = t - q[j] * v[0];
        }
    } else {
        // Normalise: shift both left by s so the divisor's top digit is ≥ 2^15 (then each
        // estimate is at most 2 too large). 16 − s ≤ 16 < 32, a valid shift even at s = 0,
        // where it gives 0 for a 16-bit digit.
        let s = countLeadingZeros(v[nd - 1u]) - 16u;
        var vn: array<u32, 6>;
        var un: array<u32, 11>;
        for (var k = 0u; k < nd - 1u; k++) {
            let i = nd - 1u - k;
            vn[i] = ((v[i] << s) | (v[i - 1u] >> (16u - s))) & DIGIT_MASK;
        }
        vn[0] = (v[0] << s) & DIGIT_MASK;
        un[10] = u[9] >> (16u - s);
        for (var k = 0u; k < 9u; k++) {
            let i = 9u - k;
            un[i] = ((u[i] << s) | (u[i - 1u] >> (16u - s))) & DIGIT_MASK;
        }
        un[0] = (u[0] << s) & DIGIT_MASK;
        let vtop = vn[nd - 1u];
        let vnext = vn[nd - 2u];
        for (var jj = 0u; jj <= 10u - nd; jj++) {
            let j = 10u - nd - jj;
            // Precondition: un[j + nd] ≤ vtop < 2^16, so the two-digit top < 2^32.
            let top = (un[j + nd] << 16u) | un[j + nd - 1u];
            var qhat = top / vtop;
            var rhat = top - qhat * vtop;
            // D3: at most two corrections (Knuth, Theorem 4.3.1B). The product is taken
            // only once qhat < 2^16, so qhat·vnext < 2^32; rhat < 2^16 there, so
            // rhat·2^16 + digit < 2^32.
            for (var c = 0u; c < 2u; c++) {
                if (qhat >= DIGIT_BASE || qhat * vnext > ((rhat << 16u) | un[j + nd - 2u])) {
                    qhat -= 1u;
                    rhat += vtop;
                    if (rhat < DIGIT_BASE) {
                        continue;
                    }
                }
                break;
            }
            // D4: multiply and subtract. qhat ≤ 2^16 and digits < 2^16, so p < 2^32; the
            // signed running value t lies in (−2^18, 2^16) and the borrow k in [0, 2^17).
            var k = 0i;
            for (var i = 0u; i < nd; i++) {
                let p = qhat * vn[i];
                let t = i32(un[i + j]) - k - i32(p & DIGIT_MASK);
                un[i + j] = u32(t) & DIGIT_MASK;
                k = i32(p >> 16u) - (t >> 16u);
            }
            let t = i32(un[j + nd]) - k;
            un[j + nd] = u32(t) & DIGIT_MASK;
            q[j] = qhat;
            if (t < 0i) {
                // D6: the estimate was one too large (rare); add the divisor back.
                q[j] = qhat - 1u;
                var c = 0u;
                for (var i = 0u; i < nd; i++) {
                    let sum = un[i + j] + vn[i] + c;
                    un[i + j] = sum & DIGIT_MASK;
                    c = sum >> 16u;
                }
                un[j + nd] = (un[j + nd] + c) & DIGIT_MASK;
            }
        }
    }
    let over = (q[4] | q[5] | q[6] | q[7] | q[8] | q[9]) != 0u;
    let value = vec2<u32>(q[0] | (q[1] << 16u), q[2] | (q[3] << 16u));
    return Q64(select(value, U64_MAX, over), over);
}

// q + 1, still saturated.
fn inc_q64(q: Q64) -> Q64 {
    if (q.over || eq64(q.value, U64_MAX)) {
        return Q64(U64_MAX, true);
    }
    return Q64(add64(q.value, vec2<u32>(1u, 0u)), false);
}

// q ≤ v.
fn le_q64(q: Q64, v: vec2<u32>) -> bool {
    return !q.over && !lt64(v, q.value);
}

// q ≥ v: a quotient of 2^64 or more is at least every u64.
fn ge_q64(q: Q64, v: vec2<u32>) -> bool {
    return q.over || !lt64(q.value, v);
}

// The smaller of two quotients.
fn min_q64(a: Q64, b: Q64) -> Q64 {
    if (b.over) {
        return a;
    }
    if (a.over) {
        return b;
    }
    if (lt64(b.value, a.value)) {
        return b;
    }
    return a;
}

// The output of a hop: ⌊x(10000 − fee)·r_out / (r_in·10000 + x(10000 − fee))⌋, the swap
// formula. Precondition: r_in ≥ 1, fee_bps < 10000; the result is below r_out.
fn amount_out(x: vec2<u32>, r_in: vec2<u32>, r_out: vec2<u32>, fee_bps: u32) -> vec2<u32> {
    return swap_out(x, r_in, r_out, fee_bps);
}

// The input a hop needs to give y: ⌊r_in·y·10000 / ((r_out − y)(10000 − fee))⌋ + 1, as
// Uniswap v2's getAmountIn. Precondition: y < r_out, r_in ≥ 1, fee_bps < 10000. The
// result may be 2^64 or more (saturated, `over`).
fn amount_in(y: vec2<u32>, r_in: vec2<u32>, r_out: vec2<u32>, fee_bps: u32) -> Q64 {
    // n = r_in·y·10000 < 2^128 · 2^14 = 2^142: five words, the top one < 2^14.
    let n = mul128x32(mul64x64(r_in, y), 10000u);
    // d = (r_out − y)(10000 − fee) with 1 ≤ r_out − y < 2^64 and 1 ≤ 10000 − fee ≤ 10000:
    // 1 ≤ d < 2^78, three words.
    let d = mul64x32(sub64(r_out, y), 10000u - fee_bps);
    return inc_q64(div_wide(n, d));
}

// ⌊x·r_y / r_x⌋ (128-bit by 64-bit), possibly 2^64 or more. Precondition: r_x ≥ 1.
fn quote(x: vec2<u32>, r_x: vec2<u32>, r_y: vec2<u32>) -> Q64 {
    // x·r_y < 2^128: four words, a zero fifth.
    let p = mul64x64(x, r_y);
    return div_wide(array<u32, 5>(p[0], p[1], p[2], p[3], 0u), array<u32, 3>(r_x.x, r_x.y, 0u));
}

// Four-word helpers for isqrt128, straight-line (no loop iterations).

fn add128(a: array<u32, 4>, b: array<u32, 4>) -> array<u32, 4> {
    // Precondition: a + b < 2^128 (isqrt128 keeps c + d below 2^128).
    let s0 = mac(a[0], 1u, b[0], 0u);
    let s1 = mac(a[1], 1u, b[1], s0.y);
    let s2 = mac(a[2], 1u, b[2], s1.y);
    let s3 = mac(a[3], 1u, b[3], s2.y);
    return array<u32, 4>(s0.x, s1.x, s2.x, s3.x);
}

// a − b. Precondition: a ≥ b.
fn sub128(a: array<u32, 4>, b: array<u32, 4>) -> array<u32, 4> {
    let lo = sub64(vec2<u32>(a[0], a[1]), vec2<u32>(b[0], b[1]));
    let borrow = select(0u, 1u, lt64(vec2<u32>(a[0], a[1]), vec2<u32>(b[0], b[1])));
    let hi = sub64(sub64(vec2<u32>(a[2], a[3]), vec2<u32>(b[2], b[3])), vec2<u32>(borrow, 0u));
    return array<u32, 4>(lo.x, lo.y, hi.x, hi.y);
}

fn lt128(a: array<u32, 4>, b: array<u32, 4>) -> bool {
    let ah = vec2<u32>(a[2], a[3]);
    let bh = vec2<u32>(b[2], b[3]);
    return lt64(ah, bh) || (eq64(ah, bh) && lt64(vec2<u32>(a[0], a[1]), vec2<u32>(b[0], b[1])));
}

// a >> k for 1 ≤ k ≤ 31.
fn shr128(a: array<u32, 4>, k: u32) -> array<u32, 4> {
    let l = 32u - k;
    return array<u32, 4>(
        (a[0] >> k) | (a[1] << l),
        (a[1] >> k) | (a[2] << l),
        (a[2] >> k) | (a[3] << l),
        a[3] >> k,
    );
}

// ⌊√(a·b)⌋ of two u64 (the product p is below 2^128, the root below 2^64). Digit-by-digit
// binary square root (restoring, one root bit per step): for bit = 4^63, 4^62, …, 1,
// subtract c + bit from the remainder x when it fits and set c = c/2 + bit, else c = c/2.
// Before the step with bit = 4^k, c = ⌊√(p / 4^(k+1))⌋ · 2^(k+1) ≤ √p < 2^64, so
// c + bit < 2^64 + 2^126 and no four-word value overflows; at the end c = ⌊√p⌋.
// 64 loop iterations.
fn isqrt128(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    var x = mul64x64(a, b);
    var c = array<u32, 4>(0u, 0u, 0u, 0u);
    var bit = array<u32, 4>(0u, 0u, 0u, 0x40000000u);
    for (var i = 0u; i < 64u; i++) {
        let t = add128(c, bit);
        let fits = !lt128(x, t);
        c = shr128(c, 1u);
        if (fits) {
            x = sub128(x, t);
            c = add128(c, bit);
        }
        bit = shr128(bit, 2u);
    }
    return vec2<u32>(c[0], c[1]);
}
