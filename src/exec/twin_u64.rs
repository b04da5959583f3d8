//! CPU twin of `shaders/shared/u64.wgsl`: u64 values as `[low word, high word]` pairs
//! (the shader's `vec2<u32>`), the 96-bit compare and subtract, and the exact swap
//! output, under the shader's names and in its loop shape. Both the execute kernel's twin
//! ([`super::twin`]) and the wide arithmetic's ([`super::twin_wide`]) stand on it.

/// WGSL's `select(f, t, cond)`: `t` when `cond`, else `f`.
pub fn select<T>(f: T, t: T, cond: bool) -> T {
    if cond { t } else { f }
}

/// Full 64-bit product of two words with 16-bit halves (Hacker's Delight 8-2, "mulhu").
pub fn mul_wide(x: u32, y: u32) -> [u32; 2] {
    let x0 = x & 0xffff;
    let x1 = x >> 16;
    let y0 = y & 0xffff;
    let y1 = y >> 16;
    // Precondition: every half is < 2^16, so each half product is ≤ (2^16 − 1)^2 < 2^32.
    let w0 = x0 * y0;
    // ≤ (2^16 − 1)^2 + (2^16 − 1) = 2^32 − 2^16: no wrap.
    let t = x1 * y0 + (w0 >> 16);
    // ≤ (2^16 − 1)^2 + (2^16 − 1): no wrap.
    let w1 = x0 * y1 + (t & 0xffff);
    // The high word of a product of two words is ≤ 2^32 − 2, so this sum does not wrap.
    let hi = x1 * y1 + (t >> 16) + (w1 >> 16);
    let lo = (w1 << 16) | (w0 & 0xffff);
    [lo, hi]
}

/// `x·y + acc + carry` as (low word, high word).
/// Precondition: all words, so the total is ≤ 2^64 − 1 and the high word never wraps.
pub fn mac(x: u32, y: u32, acc: u32, carry: u32) -> [u32; 2] {
    let p = mul_wide(x, y);
    let s = p[0].wrapping_add(acc);
    let c1 = u32::from(s < acc);
    let lo = s.wrapping_add(carry);
    let c2 = u32::from(lo < carry);
    [lo, p[1] + c1 + c2]
}

/// `a + b mod 2^64`.
pub fn add64(a: [u32; 2], b: [u32; 2]) -> [u32; 2] {
    let lo = a[0].wrapping_add(b[0]);
    let carry = u32::from(lo < a[0]);
    [lo, a[1].wrapping_add(b[1]).wrapping_add(carry)]
}

/// `a − b`. Precondition: `a ≥ b` (else the result wraps mod 2^64).
pub fn sub64(a: [u32; 2], b: [u32; 2]) -> [u32; 2] {
    let borrow = u32::from(a[0] < b[0]);
    [
        a[0].wrapping_sub(b[0]),
        a[1].wrapping_sub(b[1]).wrapping_sub(borrow),
    ]
}

/// `a < b`.
pub fn lt64(a: [u32; 2], b: [u32; 2]) -> bool {
    a[1] < b[1] || (a[1] == b[1] && a[0] < b[0])
}

/// `a == b`.
pub fn eq64(a: [u32; 2], b: [u32; 2]) -> bool {
    a[0] == b[0] && a[1] == b[1]
}

/// `a < b` on three-word numbers (word 0 lowest).
pub fn lt96(a: [u32; 3], b: [u32; 3]) -> bool {
    if a[2] != b[2] {
        return a[2] < b[2];
    }
    if a[1] != b[1] {
        return a[1] < b[1];
    }
    a[0] < b[0]
}

/// `a − b` on three-word numbers. Precondition: `a ≥ b`. Straight-line, as the shader's.
pub fn sub96(a: [u32; 3], b: [u32; 3]) -> [u32; 3] {
    let d0 = a[0].wrapping_sub(b[0]);
    let borrow0 = u32::from(a[0] < b[0]);
    let d1 = a[1].wrapping_sub(b[1]);
    let borrow1 = u32::from(a[1] < b[1] || d1 < borrow0);
    let d2 = a[2].wrapping_sub(b[2]);
    [d0, d1.wrapping_sub(borrow0), d2.wrapping_sub(borrow1)]
}

/// Exact constant-product output in 32-bit limbs:
/// `floor(a·reserve_out / (reserve_in·10000 + a))`, `a = amount_in·(10000 − fee_bps)`.
/// Schoolbook multiplication, then restoring binary long division (TAOCP 4.3.1), one
/// quotient bit per step. Precondition: `reserve_in ≥ 1`, `fee_bps < 10000`.
pub fn swap_out(
    amount_in: [u32; 2],
    reserve_in: [u32; 2],
    reserve_out: [u32; 2],
    fee_bps: u32,
) -> [u32; 2] {
    let w = 10000u32.wrapping_sub(fee_bps);
    // a = amount_in × w < 2^78: three words, the top one < 2^14.
    let a0 = mac(amount_in[0], w, 0, 0);
    let a1 = mac(amount_in[1], w, a0[1], 0);
    let a = [a0[0], a1[0], a1[1]];
    // reserve_in × 10000 < 2^78.
    let r0 = mac(reserve_in[0], 10000, 0, 0);
    let r1 = mac(reserve_in[1], 10000, r0[1], 0);
    let scaled = [r0[0], r1[0], r1[1]];
    // d = reserve_in × 10000 + a < 2^79: no carry leaves the top word.
    let mut d = [0u32; 3];
    let mut carry = 0u32;
    for k in 0..3 {
        let s = mac(scaled[k], 1, a[k], carry);
        d[k] = s[0];
        carry = s[1];
    }
    // n = a × reserve_out < 2^142: five words, schoolbook rows.
    let r = [reserve_out[0], reserve_out[1]];
    let mut n = [0u32; 5];
    for i in 0..3 {
        let mut row_carry = 0u32;
        for j in 0..2 {
            // Precondition: words in, so mac's total fits 64 bits.
            let t = mac(a[i], r[j], n[i + j], row_carry);
            n[i + j] = t[0];
            row_carry = t[1];
        }
        n[i + 2] = row_carry;
    }
    // The quotient is < 2^64, so n >> 64 < d: the remainder starts as words 2..4 of n and
    // stays < d < 2^79; 2·rem + 1 < 2^80 fits three words.
    let mut rem = [n[2], n[3], n[4]];
    let mut q = [0u32, 0u32];
    for i in 0..64u32 {
        let bit_index = 63 - i;
        let bit = (n[(bit_index / 32) as usize] >> (bit_index % 32)) & 1;
        rem[2] = (rem[2] << 1) | (rem[1] >> 31);
        rem[1] = (rem[1] << 1) | (rem[0] >> 31);
        rem[0] = (rem[0] << 1) | bit;
        q = [q[0] << 1, (q[1] << 1) | (q[0] >> 31)];
        if !lt96(rem, d) {
            rem = sub96(rem, d);
            q[0] |= 1;
        }
    }
    q
}

/// Values that sit on limb boundaries: 0, 1, 2^16 ± 1, 2^32 ± 1, 2^63, 2^64 − 1; the
/// edge cases of the swap-formula tests, here and against the shader.
pub const LIMB_EDGES: [u64; 14] = [
    0,
    1,
    2,
    9_999,
    10_000,
    0xffff,
    0x1_0000,
    u32::MAX as u64 - 1,
    u32::MAX as u64,
    1 << 32,
    (1 << 32) + 1,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];
