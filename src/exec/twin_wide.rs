//! CPU twin of `shaders/shared/wide.wgsl`: the exact wide arithmetic of the liquidity and
//! route kinds (hop inputs, quotes, floor square roots of 128-bit products, quotients that
//! may reach 2^64) under the same names and in the same loop shapes, u64 values as
//! `[low word, high word]` like the shader's `vec2<u32>`, limb arrays as `[u32; N]` (word
//! 0 lowest). Tested here against big-integer oracles, and against the shader through the
//! `wide_probe` entry point of `shaders/test/exec_probe.wgsl`.
//!
//! Every loop body starts with `iteration()`, which counts in tests, so the loop bounds
//! the shader comments state (lavapipe's per-invocation loop limit; see
//! [`super::layout::SERIAL_SEGMENT_MAX_TXS`]) are checked here.

use super::layout::{WIDE_PROBE_WORDS, WideProbe};
use super::twin_u64::{add64, eq64, lt64, mac, sub64, swap_out};

/// Most loop iterations one [`div_wide`] runs (hence [`quote`] and [`amount_in`]).
pub const DIV_WIDE_MAX_ITERATIONS: u64 = 104;
/// Loop iterations of one [`isqrt128`].
pub const ISQRT128_ITERATIONS: u64 = 64;

/// A quotient that may be 2^64 or more: `value` is the quotient when `over` is false, and
/// 2^64 − 1 (saturated) when `over` is true. The shader's `Q64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q64 {
    /// The quotient, or 2^64 − 1 when `over`.
    pub value: [u32; 2],
    /// The quotient is 2^64 or more.
    pub over: bool,
}

/// 2^64 − 1.
pub const U64_MAX: [u32; 2] = [u32::MAX, u32::MAX];
const DIGIT_BASE: u32 = 0x1_0000;
const DIGIT_MASK: u32 = 0xffff;

#[cfg(test)]
thread_local! {
    static ITERATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// One loop iteration (counted in tests, nothing otherwise).
#[inline(always)]
fn iteration() {
    #[cfg(test)]
    ITERATIONS.with(|c| c.set(c.get() + 1));
}

/// Runs `f` and returns its result with the loop iterations it ran.
#[cfg(test)]
pub(crate) fn count_iterations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ITERATIONS.with(|c| c.get());
    let out = f();
    (out, ITERATIONS.with(|c| c.get()) - before)
}

/// `a·b` of two u64 as four words. Straight-line schoolbook, rows of `a[1]`.
pub fn mul64x64(a: [u32; 2], b: [u32; 2]) -> [u32; 4] {
    // Precondition: every mac operand is a word, so each total fits 64 bits.
    let p00 = mac(a[0], b[0], 0, 0);
    let p01 = mac(a[0], b[1], p00[1], 0);
    let p10 = mac(a[1], b[0], p01[0], 0);
    let p11 = mac(a[1], b[1], p01[1], p10[1]);
    [p00[0], p10[0], p11[0], p11[1]]
}

/// `p·w` of a four-word `p` and a word `w`, five words.
pub fn mul128x32(p: [u32; 4], w: u32) -> [u32; 5] {
    // Precondition: words in; each carry ≤ 2^32 − 1, so each mac total fits 64 bits.
    let t0 = mac(p[0], w, 0, 0);
    let t1 = mac(p[1], w, 0, t0[1]);
    let t2 = mac(p[2], w, 0, t1[1]);
    let t3 = mac(p[3], w, 0, t2[1]);
    [t0[0], t1[0], t2[0], t3[0], t3[1]]
}

/// `a·w` of a u64 `a` and a word `w`, three words.
pub fn mul64x32(a: [u32; 2], w: u32) -> [u32; 3] {
    let t0 = mac(a[0], w, 0, 0);
    let t1 = mac(a[1], w, 0, t0[1]);
    [t0[0], t1[0], t1[1]]
}

/// `⌊n / d⌋` of a five-word `n` and a three-word `d ≥ 1`, saturated to a [`Q64`]. Knuth's
/// algorithm D (TAOCP 4.3.1) in 16-bit digits after Hacker's Delight `divmnu`; at most
/// [`DIV_WIDE_MAX_ITERATIONS`] loop iterations (the count is in the shader's comment).
pub fn div_wide(n: [u32; 5], d: [u32; 3]) -> Q64 {
    let mut u = [0u32; 11];
    let mut v = [0u32; 6];
    for k in 0..5 {
        iteration();
        u[2 * k] = n[k] & DIGIT_MASK;
        u[2 * k + 1] = n[k] >> 16;
    }
    for k in 0..3 {
        iteration();
        v[2 * k] = d[k] & DIGIT_MASK;
        v[2 * k + 1] = d[k] >> 16;
    }
    // Precondition: d ≥ 1, so nd ≥ 1.
    let mut nd = 6usize;
    for _ in 0..5 {
        iteration();
        if v[nd - 1] != 0 {
            break;
        }
        nd -= 1;
    }
    let mut q = [0u32; 10];
    if nd == 1 {
        // Short division: r < v[0] < 2^16, so r·2^16 + digit < 2^32.
        let mut r = 0u32;
        for k in 0..10 {
            iteration();
            let j = 9 - k;
            let t = (r << 16) | u[j];
            q[j] = t / v[0];
            r = t - q[j] * v[0];
        }
    } else {
        // Normalise so the divisor's top digit is ≥ 2^15. The shader's `u32 >> 16` of a
        // 16-bit digit is 0, as here.
        let s = v[nd - 1].leading_zeros() - 16;
        let mut vn = [0u32; 6];
        let mut un = [0u32; 11];
        for k in 0..nd - 1 {
            iteration();
            let i = nd - 1 - k;
            vn[i] = ((v[i] << s) | (v[i - 1] >> (16 - s))) & DIGIT_MASK;
        }
        vn[0] = (v[0] << s) & DIGIT_MASK;
        un[10] = u[9] >> (16 - s);
        for k in 0..9 {
            iteration();
            let i = 9 - k;
            un[i] = ((u[i] << s) | (u[i - 1] >> (16 - s))) & DIGIT_MASK;
        }
        un[0] = (u[0] << s) & DIGIT_MASK;
        let vtop = vn[nd - 1];
        let vnext = vn[nd - 2];
        for jj in 0..=10 - nd {
            iteration();
            let j = 10 - nd - jj;
            // Precondition: un[j + nd] ≤ vtop < 2^16, so top < 2^32.
            let top = (un[j + nd] << 16) | un[j + nd - 1];
            let mut qhat = top / vtop;
            let mut rhat = top - qhat * vtop;
            // D3: at most two corrections; the product only once qhat < 2^16.
            for _ in 0..2 {
                iteration();
                if qhat >= DIGIT_BASE || qhat * vnext > ((rhat << 16) | un[j + nd - 2]) {
                    qhat -= 1;
                    rhat += vtop;
                    if rhat < DIGIT_BASE {
                        continue;
                    }
                }
                break;
            }
            // D4: multiply and subtract; p < 2^32, t in (−2^18, 2^16), k in [0, 2^17).
            let mut k = 0i32;
            for i in 0..nd {
                iteration();
                let p = qhat * vn[i];
                let t = un[i + j] as i32 - k - (p & DIGIT_MASK) as i32;
                un[i + j] = (t as u32) & DIGIT_MASK;
                k = (p >> 16) as i32 - (t >> 16);
            }
            let t = un[j + nd] as i32 - k;
            un[j + nd] = (t as u32) & DIGIT_MASK;
            q[j] = qhat;
            if t < 0 {
                // D6: add the divisor back.
                q[j] = qhat - 1;
                let mut c = 0u32;
                for i in 0..nd {
                    iteration();
                    let sum = un[i + j] + vn[i] + c;
                    un[i + j] = sum & DIGIT_MASK;
                    c = sum >> 16;
                }
                un[j + nd] = (un[j + nd] + c) & DIGIT_MASK;
            }
        }
    }
    let over = (q[4] | q[5] | q[6] | q[7] | q[8] | q[9]) != 0;
    let value = [q[0] | (q[1] << 16), q[2] | (q[3] << 16)];
    Q64 {
        value: if over { U64_MAX } else { value },
        over,
    }
}

/// `q + 1`, still saturated.
pub fn inc_q64(q: Q64) -> Q64 {
    if q.over || eq64(q.value, U64_MAX) {
        return Q64 {
            value: U64_MAX,
            over: true,
        };
    }
    Q64 {
        value: add64(q.value, [1, 0]),
        over: false,
    }
}

/// `q ≤ v`.
pub fn le_q64(q: Q64, v: [u32; 2]) -> bool {
    !q.over && !lt64(v, q.value)
}

/// `q ≥ v`: a quotient of 2^64 or more is at least every u64.
pub fn ge_q64(q: Q64, v: [u32; 2]) -> bool {
    q.over || !lt64(q.value, v)
}

/// The smaller of two quotients.
pub fn min_q64(a: Q64, b: Q64) -> Q64 {
    if b.over {
        return a;
    }
    if a.over {
        return b;
    }
    if lt64(b.value, a.value) {
        return b;
    }
    a
}

/// The output of a hop (the swap formula). Precondition: `r_in ≥ 1`, `fee_bps < 10000`.
pub fn amount_out(x: [u32; 2], r_in: [u32; 2], r_out: [u32; 2], fee_bps: u32) -> [u32; 2] {
    swap_out(x, r_in, r_out, fee_bps)
}

/// The input a hop needs to give `y`: `⌊r_in·y·10000 / ((r_out − y)(10000 − fee))⌋ + 1`.
/// Precondition: `y < r_out`, `r_in ≥ 1`, `fee_bps < 10000`. May be 2^64 or more.
pub fn amount_in(y: [u32; 2], r_in: [u32; 2], r_out: [u32; 2], fee_bps: u32) -> Q64 {
    // n = r_in·y·10000 < 2^142: five words, the top one < 2^14.
    let n = mul128x32(mul64x64(r_in, y), 10000);
    // 1 ≤ d = (r_out − y)(10000 − fee) < 2^78: three words.
    let d = mul64x32(sub64(r_out, y), 10000 - fee_bps);
    inc_q64(div_wide(n, d))
}

/// `⌊x·r_y / r_x⌋`, possibly 2^64 or more. Precondition: `r_x ≥ 1`.
pub fn quote(x: [u32; 2], r_x: [u32; 2], r_y: [u32; 2]) -> Q64 {
    let p = mul64x64(x, r_y);
    div_wide([p[0], p[1], p[2], p[3], 0], [r_x[0], r_x[1], 0])
}

/// `a + b` on four words. Precondition: `a + b < 2^128`.
pub fn add128(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    let s0 = mac(a[0], 1, b[0], 0);
    let s1 = mac(a[1], 1, b[1], s0[1]);
    let s2 = mac(a[2], 1, b[2], s1[1]);
    let s3 = mac(a[3], 1, b[3], s2[1]);
    [s0[0], s1[0], s2[0], s3[0]]
}

/// `a − b` on four words. Precondition: `a ≥ b`.
pub fn sub128(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    let lo = sub64([a[0], a[1]], [b[0], b[1]]);
    let borrow = u32::from(lt64([a[0], a[1]], [b[0], b[1]]));
    let hi = sub64(sub64([a[2], a[3]], [b[2], b[3]]), [borrow, 0]);
    [lo[0], lo[1], hi[0], hi[1]]
}

/// `a < b` on four words.
pub fn lt128(a: [u32; 4], b: [u32; 4]) -> bool {
    let ah = [a[2], a[3]];
    let bh = [b[2], b[3]];
    lt64(ah, bh) || (eq64(ah, bh) && lt64([a[0], a[1]], [b[0], b[1]]))
}

/// `a >> k` on four words, `1 ≤ k ≤ 31`.
pub fn shr128(a: [u32; 4], k: u32) -> [u32; 4] {
    let l = 32 - k;
    [
        (a[0] >> k) | (a[1] << l),
        (a[1] >> k) | (a[2] << l),
        (a[2] >> k) | (a[3] << l),
        a[3] >> k,
    ]
}

/// `⌊√(a·b)⌋` of two u64: digit-by-digit binary square root, [`ISQRT128_ITERATIONS`]
/// steps (the invariant is in the shader's comment).
pub fn isqrt128(a: [u32; 2], b: [u32; 2]) -> [u32; 2] {
    let mut x = mul64x64(a, b);
    let mut c = [0u32; 4];
    let mut bit = [0, 0, 0, 0x4000_0000];
    for _ in 0..64 {
        iteration();
        let t = add128(c, bit);
        let fits = !lt128(x, t);
        c = shr128(c, 1);
        if fits {
            x = sub128(x, t);
            c = add128(c, bit);
        }
        bit = shr128(bit, 2);
    }
    [c[0], c[1]]
}

/// Invocation `i` of the `wide_probe` test entry point: `amount_in(x, a, b, fee)` when
/// `x < b` and `a ≥ 1`, `quote(x, a, b)` when `a ≥ 1` (else zeros), `isqrt128(a, b)`, and
/// the flags (bit 0: amount_in ≥ 2^64, bit 1: quote ≥ 2^64).
pub fn wide_probe(p: &WideProbe) -> [u32; WIDE_PROBE_WORDS] {
    let none = Q64 {
        value: [0, 0],
        over: false,
    };
    let a_ok = !eq64(p.a, [0, 0]);
    let ain = if a_ok && lt64(p.x, p.b) {
        amount_in(p.x, p.a, p.b, p.fee_bps)
    } else {
        none
    };
    let quo = if a_ok { quote(p.x, p.a, p.b) } else { none };
    let root = isqrt128(p.a, p.b);
    let flags = u32::from(ain.over) | (u32::from(quo.over) << 1);
    [
        ain.value[0],
        ain.value[1],
        quo.value[0],
        quo.value[1],
        root[0],
        root[1],
        flags,
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::twin_u64::LIMB_EDGES;
    use crate::gpu::resident::{join, split};
    use num_bigint::BigUint;
    use rand::{Rng, SeedableRng};

    const E18: u64 = 1_000_000_000_000_000_000;

    /// A big integer as the saturated [`Q64`] the limb code must give.
    fn saturate(v: &BigUint) -> Q64 {
        match u64::try_from(v) {
            Ok(v) => Q64 {
                value: split(v),
                over: false,
            },
            Err(_) => Q64 {
                value: U64_MAX,
                over: true,
            },
        }
    }

    fn big(v: u64) -> BigUint {
        BigUint::from(v)
    }

    fn words_big(w: &[u32]) -> BigUint {
        BigUint::from_slice(w)
    }

    fn amount_in_oracle(y: u64, r_in: u64, r_out: u64, fee: u32) -> Q64 {
        let n = big(r_in) * big(y) * 10_000u32;
        let d = big(r_out - y) * (10_000 - fee);
        saturate(&(n / d + 1u32))
    }

    fn quote_oracle(x: u64, r_x: u64, r_y: u64) -> Q64 {
        saturate(&(big(x) * big(r_y) / big(r_x)))
    }

    fn limbs_amount_in(y: u64, r_in: u64, r_out: u64, fee: u32) -> Q64 {
        amount_in(split(y), split(r_in), split(r_out), fee)
    }

    /// Every operand: the limb edges, and the values next to reserves' and amounts'
    /// extremes that the DEX tables produce (y = r_out − 1 is added per case below).
    fn operands() -> Vec<u64> {
        let mut v = LIMB_EDGES.to_vec();
        v.extend([
            3,
            1_000,
            E18,
            5 * E18,
            10 * E18,
            (1 << 48) + 1,
            u64::MAX / 3,
        ]);
        v
    }

    #[test]
    fn amount_in_equals_big_integer_oracle_on_extremes() {
        let ops = operands();
        for &r_out in &ops {
            // Every y below r_out among the operands, and the largest one, r_out − 1.
            let ys = ops
                .iter()
                .copied()
                .filter(|&y| y < r_out)
                .chain(r_out.checked_sub(1));
            for y in ys {
                for &r_in in ops.iter().filter(|&&r| r >= 1) {
                    for fee in [0u32, 1, 30, 9_999] {
                        assert_eq!(
                            limbs_amount_in(y, r_in, r_out, fee),
                            amount_in_oracle(y, r_in, r_out, fee),
                            "y={y} r_in={r_in} r_out={r_out} fee={fee}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn amount_in_reaches_and_passes_two_to_the_64() {
        // The largest numerator over the smallest denominator: far above 2^64.
        let q = limbs_amount_in(u64::MAX - 1, u64::MAX, u64::MAX, 0);
        assert!(q.over && q.value == U64_MAX);
        // ⌊n/d⌋ = 2^64 − 1 exactly: r_in·y·10000 / d with d = 10000 (r_out − y = 1,
        // fee 0) is r_in·y; r_in = 2^64 − 1, y = 1 gives 2^64 − 1, and the + 1 carries
        // into `over`.
        let q = limbs_amount_in(1, u64::MAX, 2, 0);
        assert_eq!(q, amount_in_oracle(1, u64::MAX, 2, 0));
        assert!(q.over);
        // One less: ⌊n/d⌋ = 2^64 − 2, the result 2^64 − 1 still fits.
        let q = limbs_amount_in(1, u64::MAX - 1, 2, 0);
        assert_eq!(
            q,
            Q64 {
                value: U64_MAX,
                over: false
            }
        );
    }

    #[test]
    fn amount_in_is_uniswaps_get_amount_in() {
        // Uniswap v2-periphery, router tests (swapTokensForExactTokens, 0.3% fee): 1E out
        // of reserves 5E / 10E costs 557227237267357629; getAmountIn's
        // ⌊r_in·y·1000 / ((r_out − y)·997)⌋ + 1 equals ours at 30 bps.
        let q = limbs_amount_in(E18, 5 * E18, 10 * E18, 30);
        assert_eq!(q, saturate(&big(557_227_237_267_357_629)));
        // Its exact-in twin: 1E in gives 1662497915624478906 (v2-core pair tests), and
        // buying that much back costs no more than 1E.
        let out = join(amount_out(split(E18), split(5 * E18), split(10 * E18), 30));
        assert_eq!(out, 1_662_497_915_624_478_906);
        let back = limbs_amount_in(out, 5 * E18, 10 * E18, 30);
        assert!(le_q64(back, split(E18)));
    }

    #[test]
    fn quote_equals_big_integer_oracle_on_extremes() {
        let ops = operands();
        for &x in &ops {
            for &r_x in ops.iter().filter(|&&r| r >= 1) {
                for &r_y in &ops {
                    assert_eq!(
                        quote(split(x), split(r_x), split(r_y)),
                        quote_oracle(x, r_x, r_y),
                        "x={x} r_x={r_x} r_y={r_y}"
                    );
                }
            }
        }
    }

    #[test]
    fn isqrt128_equals_big_integer_oracle_on_squares_and_neighbours() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let mut roots: Vec<u64> = operands();
        roots.extend((0..200).map(|_| rng.r#gen::<u64>() >> rng.gen_range(0..64)));
        for &n in &roots {
            // n² = n·n, and n² − 1 = (n − 1)(n + 1) just below it.
            assert_eq!(join(isqrt128(split(n), split(n))), n, "√({n}²)");
            if (1..u64::MAX).contains(&n) {
                assert_eq!(
                    join(isqrt128(split(n - 1), split(n + 1))),
                    n - 1,
                    "√({n}² − 1)"
                );
            }
        }
        let ops = operands();
        for &a in &ops {
            for &b in &ops {
                let want = u64::try_from((big(a) * big(b)).sqrt()).expect("root below 2^64");
                assert_eq!(join(isqrt128(split(a), split(b))), want, "√({a}·{b})");
            }
        }
        // Uniswap v2's first mint of 1E and 4E: √(4E²) = 2E.
        assert_eq!(join(isqrt128(split(E18), split(4 * E18))), 2 * E18);
    }

    /// A word made of 16-bit digits from the values that stress algorithm D: 0, 1, the
    /// normalisation boundary 2^15 ± 1 and 2^16 − 1.
    fn edge_word(rng: &mut rand_chacha::ChaCha8Rng) -> u32 {
        const DIGITS: [u32; 6] = [0, 1, 0x7fff, 0x8000, 0x8001, 0xffff];
        let d = |rng: &mut rand_chacha::ChaCha8Rng| DIGITS[rng.gen_range(0..DIGITS.len())];
        d(rng) | (d(rng) << 16)
    }

    #[test]
    fn div_wide_equals_big_integer_oracle_on_digit_edges_within_its_loop_budget() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
        let mut most = 0;
        for case in 0..200_000 {
            let mut n = [0u32; 5];
            let mut d = [0u32; 3];
            // Random lengths, so that every divisor length nd = 1..6 occurs.
            let n_words = rng.gen_range(1..=5);
            let d_words = rng.gen_range(1..=3);
            for w in n.iter_mut().take(n_words) {
                *w = if rng.gen_bool(0.5) {
                    edge_word(&mut rng)
                } else {
                    rng.r#gen()
                };
            }
            for w in d.iter_mut().take(d_words) {
                *w = if rng.gen_bool(0.5) {
                    edge_word(&mut rng)
                } else {
                    rng.r#gen()
                };
            }
            if d == [0, 0, 0] {
                d[0] = 1;
            }
            let (got, iterations) = count_iterations(|| div_wide(n, d));
            most = most.max(iterations);
            assert_eq!(
                got,
                saturate(&(words_big(&n) / words_big(&d))),
                "case {case}: {n:x?} / {d:x?}"
            );
        }
        assert!(
            most <= DIV_WIDE_MAX_ITERATIONS,
            "div_wide ran {most} loop iterations"
        );
    }

    #[test]
    fn loop_iterations_stay_within_the_documented_bounds() {
        let ops = operands();
        let mut most_in = 0;
        let mut most_quote = 0;
        for &r_out in &ops {
            for y in ops.iter().copied().filter(|&y| y < r_out) {
                for &r_in in ops.iter().filter(|&&r| r >= 1) {
                    let (_, k) = count_iterations(|| limbs_amount_in(y, r_in, r_out, 30));
                    most_in = most_in.max(k);
                    let (_, k) = count_iterations(|| quote(split(y), split(r_in), split(r_out)));
                    most_quote = most_quote.max(k);
                }
            }
        }
        assert!(most_in <= DIV_WIDE_MAX_ITERATIONS, "amount_in: {most_in}");
        assert!(most_quote <= DIV_WIDE_MAX_ITERATIONS, "quote: {most_quote}");
        let (_, k) = count_iterations(|| isqrt128(U64_MAX, U64_MAX));
        assert_eq!(k, ISQRT128_ITERATIONS);
    }

    #[test]
    fn saturated_comparisons() {
        let q = |v: u64| Q64 {
            value: split(v),
            over: false,
        };
        let over = Q64 {
            value: U64_MAX,
            over: true,
        };
        let max = q(u64::MAX);
        assert!(le_q64(q(5), split(5)) && !le_q64(q(6), split(5)));
        assert!(le_q64(max, U64_MAX) && !le_q64(over, U64_MAX));
        assert!(ge_q64(q(5), split(5)) && !ge_q64(q(4), split(5)));
        assert!(ge_q64(over, U64_MAX) && ge_q64(max, U64_MAX));
        assert_eq!(min_q64(q(3), q(4)), q(3));
        assert_eq!(min_q64(q(4), q(3)), q(3));
        assert_eq!(min_q64(over, q(7)), q(7));
        assert_eq!(min_q64(q(7), over), q(7));
        assert_eq!(min_q64(over, over), over);
        assert_eq!(inc_q64(q(41)), q(42));
        assert_eq!(inc_q64(max), over);
        assert_eq!(inc_q64(over), over);
    }

    #[test]
    fn products_equal_big_integers() {
        let ops = operands();
        for &a in &ops {
            for &b in &ops {
                let p = mul64x64(split(a), split(b));
                assert_eq!(words_big(&p), big(a) * big(b));
                let w = b as u32;
                assert_eq!(words_big(&mul128x32(p, w)), big(a) * big(b) * w);
                assert_eq!(words_big(&mul64x32(split(a), w)), big(a) * w);
            }
        }
    }

    #[test]
    fn wide_probe_reports_each_function_under_its_precondition() {
        let p = WideProbe {
            x: split(E18),
            a: split(5 * E18),
            b: split(10 * E18),
            fee_bps: 30,
            pad0: 0,
        };
        let w = wide_probe(&p);
        assert_eq!(join([w[0], w[1]]), 557_227_237_267_357_629);
        assert_eq!(join([w[2], w[3]]), 2 * E18);
        assert_eq!(
            words_big(&[w[4], w[5]]),
            (big(5 * E18) * big(10 * E18)).sqrt()
        );
        assert_eq!(w[6], 0);
        // a = 0: neither amount_in nor quote is defined; x ≥ b: no amount_in.
        let w = wide_probe(&WideProbe { a: [0, 0], ..p });
        assert_eq!(w[..4], [0; 4]);
        let w = wide_probe(&WideProbe {
            x: split(10 * E18),
            ..p
        });
        assert_eq!(w[..2], [0; 2]);
        // 10E·10E / 5E = 2·10^19 is above 2^64: saturated, flag bit 1.
        let want = quote_oracle(10 * E18, 5 * E18, 10 * E18);
        assert!(want.over);
        assert_eq!([w[2], w[3]], want.value);
        assert_eq!(w[6], 2);
    }

    proptest::proptest! {
        #[test]
        fn amount_in_equals_oracle_on_random_inputs(
            y in proptest::num::u64::ANY,
            r_in in 1u64..,
            gap in 1u64..,
            fee in 0u32..10_000,
        ) {
            // r_out = y + gap, clamped to keep y < r_out ≤ 2^64 − 1.
            let y = y.min(u64::MAX - 1);
            let r_out = y.saturating_add(gap);
            proptest::prop_assert_eq!(
                limbs_amount_in(y, r_in, r_out, fee),
                amount_in_oracle(y, r_in, r_out, fee)
            );
        }

        #[test]
        fn quote_and_isqrt_equal_oracle_on_random_inputs(
            x in proptest::num::u64::ANY,
            r_x in 1u64..,
            r_y in proptest::num::u64::ANY,
            shift in 0u32..64,
        ) {
            // A random width for the divisor, so that every divisor length occurs.
            let r_x = (r_x >> shift).max(1);
            proptest::prop_assert_eq!(
                quote(split(x), split(r_x), split(r_y)),
                quote_oracle(x, r_x, r_y)
            );
            let want = u64::try_from((big(x) * big(r_y)).sqrt()).expect("below 2^64");
            proptest::prop_assert_eq!(join(isqrt128(split(x), split(r_y))), want);
        }
    }
}
