// Unsigned 64-bit integers as u32 pairs (vec2<u32>: x = low word, y = high word) and the
// exact constant-product swap output in 32-bit limbs, for core WGSL (no SHADER_INT64).
// Shared piece: stands alone, composed in front of shaders/stages/exec.wgsl and
// shaders/test/exec_probe.wgsl. CPU twin: src/exec/twin.rs (same names, same loop shapes).

// Full 64-bit product of two words with 16-bit halves (Hacker's Delight, 2nd ed., 8-2,
// "mulhu"), returned as (low word, high word).
fn mul_wide(x: u32, y: u32) -> vec2<u32> {
    let x0 = x & 0xffffu;
    let x1 = x >> 16u;
    let y0 = y & 0xffffu;
    let y1 = y >> 16u;
    // Precondition: every half is < 2^16, so each half product is ≤ (2^16 − 1)^2 < 2^32.
    let w0 = x0 * y0;
    // ≤ (2^16 − 1)^2 + (2^16 − 1) = 2^32 − 2^16: no wrap.
    let t = x1 * y0 + (w0 >> 16u);
    // ≤ (2^16 − 1)^2 + (2^16 − 1): no wrap.
    let w1 = x0 * y1 + (t & 0xffffu);
    // The high word of a product of two words is ≤ 2^32 − 2, so this sum does not wrap.
    let hi = x1 * y1 + (t >> 16u) + (w1 >> 16u);
    let lo = (w1 << 16u) | (w0 & 0xffffu);
    return vec2<u32>(lo, hi);
}

// x·y + acc + carry as (low word, high word).
// Precondition: all four are words, so the total is ≤ (2^32 − 1)^2 + 2(2^32 − 1) = 2^64 − 1
// and the high word never wraps.
fn mac(x: u32, y: u32, acc: u32, carry: u32) -> vec2<u32> {
    let p = mul_wide(x, y);
    let s = p.x + acc;
    let c1 = select(0u, 1u, s < acc);
    let lo = s + carry;
    let c2 = select(0u, 1u, lo < carry);
    return vec2<u32>(lo, p.y + c1 + c2);
}

// a + b mod 2^64. Callers keep true sums below 2^64 (the genesis supply bound).
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    let carry = select(0u, 1u, lo < a.x);
    return vec2<u32>(lo, a.y + b.y + carry);
}

// a − b. Precondition: a ≥ b.
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let borrow = select(0u, 1u, a.x < b.x);
    return vec2<u32>(a.x - b.x, a.y - b.y - borrow);
}

fn lt64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn eq64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x == b.x && a.y == b.y;
}

// a < b on three-word numbers (word 0 lowest).
fn lt96(a: array<u32, 3>, b: array<u32, 3>) -> bool {
    if (a[2] != b[2]) {
        return a[2] < b[2];
    }
    if (a[1] != b[1]) {
        return a[1] < b[1];
    }
    return a[0] < b[0];
}

// a − b on three-word numbers. Precondition: a ≥ b. Straight-line, so the 64 calls of a
// swap_out cost no loop iterations (lavapipe's per-invocation loop limit).
fn sub96(a: array<u32, 3>, b: array<u32, 3>) -> array<u32, 3> {
    let d0 = a[0] - b[0];
    let borrow0 = select(0u, 1u, a[0] < b[0]);
    let d1 = a[1] - b[1];
    let borrow1 = select(0u, 1u, a[1] < b[1] || d1 < borrow0);
    let d2 = a[2] - b[2];
    return array<u32, 3>(d0, d1 - borrow0, d2 - borrow1);
}

// Exact constant-product output (docs/SPEC.md, Semantics; `exec::swap_out`):
// out = floor(a·reserve_out / (reserve_in·10000 + a)), a = amount_in·(10000 − fee_bps).
// Schoolbook multiplication in 32-bit limbs, then restoring binary long division
// (Knuth, TAOCP vol. 2, 4.3.1) that produces the 64 quotient bits one at a time.
// Precondition: reserve_in ≥ 1 and fee_bps < 10000 (genesis checks; a swap never empties
// a reserve), so d > a and the quotient is below reserve_out < 2^64.
fn swap_out(amount_in: vec2<u32>, reserve_in: vec2<u32>, reserve_out: vec2<u32>, fee_bps: u32) -> vec2<u32> {
    let w = 10000u - fee_bps;
    // a = amount_in × w < 2^64 · 2^14 = 2^78: three words, the top one < 2^14.
    let a0 = mac(amount_in.x, w, 0u, 0u);
    let a1 = mac(amount_in.y, w, a0.y, 0u);
    var a = array<u32, 3>(a0.x, a1.x, a1.y);
    // reserve_in × 10000 < 2^78, likewise three words.
    let r0 = mac(reserve_in.x, 10000u, 0u, 0u);
    let r1 = mac(reserve_in.y, 10000u, r0.y, 0u);
    let scaled = array<u32, 3>(r0.x, r1.x, r1.y);
    // d = reserve_in × 10000 + a < 2^79: no carry leaves the top word.
    var d: array<u32, 3>;
    var carry = 0u;
    for (var k = 0u; k < 3u; k++) {
        let s = mac(scaled[k], 1u, a[k], carry);
        d[k] = s.x;
        carry = s.y;
    }
    // n = a × reserve_out < 2^78 · 2^64 = 2^142: five words, schoolbook rows.
    let r = array<u32, 2>(reserve_out.x, reserve_out.y);
    var n: array<u32, 5>;
    for (var i = 0u; i < 3u; i++) {
        var row_carry = 0u;
        for (var j = 0u; j < 2u; j++) {
            // Precondition: words in, so mac's total fits 64 bits (see mac).
            let t = mac(a[i], r[j], n[i + j], row_carry);
            n[i + j] = t.x;
            row_carry = t.y;
        }
        n[i + 2u] = row_carry;
    }
    // The quotient is < 2^64, so n >> 64 < d: the remainder starts as words 2..4 of n and
    // stays < d < 2^79; 2·rem + 1 < 2^80 fits three words.
    var rem = array<u32, 3>(n[2], n[3], n[4]);
    var q = vec2<u32>(0u, 0u);
    for (var i = 0u; i < 64u; i++) {
        let bit_index = 63u - i;
        let bit = (n[bit_index / 32u] >> (bit_index % 32u)) & 1u;
        rem[2] = (rem[2] << 1u) | (rem[1] >> 31u);
        rem[1] = (rem[1] << 1u) | (rem[0] >> 31u);
        rem[0] = (rem[0] << 1u) | bit;
        q = vec2<u32>(q.x << 1u, (q.y << 1u) | (q.x >> 31u));
        if (!lt96(rem, d)) {
            rem = sub96(rem, d);
            q.x = q.x | 1u;
        }
    }
    return q;
}
