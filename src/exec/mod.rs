//! Pipeline stage 6, execute: receipts, the exact swap formula and the executors.
//!
//! `reference.rs` is the sequential reference executor — the semantics table of docs/SPEC.md in
//! plain code and the oracle every other backend is tested against. `cpu.rs` holds
//! steps 4–10 on account indices and the in-order executor; `waves.rs` runs the
//! scheduler's waves in parallel with rayon; `gpu.rs` executes the waves in WGSL over
//! state resident on the device, and `twin.rs` is its CPU twin (`twin_wide.rs` the twin of
//! the wide arithmetic of the liquidity and route kinds).

pub mod cpu;
pub mod gpu;
pub mod layout;
pub mod plan;
pub mod reference;
pub mod twin;
pub mod twin_u64;
pub mod twin_wide;
pub mod waves;

use crate::receipt::{Amounts, Status};

/// What an executor gives for one tx: its status and, when it is `ok`, its amounts
/// (else [`Amounts::NONE`]; the receipt then takes the zero amounts of the tx's kind).
pub type ExecResult = (Status, Amounts);

/// Exact constant-product output:
/// `out = floor(a × reserve_out / (reserve_in × 10000 + a))`, `a = amount_in × (10000 − fee_bps)`.
///
/// Preconditions (kept by genesis checks and by the swap itself): `reserve_in ≥ 1`,
/// `fee_bps < 10000`. Then `D = reserve_in × 10000 + a > a`, so `out < reserve_out`.
///
/// Proof of exactness with u128 only:
/// - `a < 2^64 · 2^14 = 2^78`, `D < 2^64 · 2^14 + 2^78 = 2^79`; split `a = a1·2^64 + a0`
///   (`a1 < 2^14`). Then `N = a·R = (a1·R)·2^64 + a0·R` with `a1·R < 2^78` and
///   `a0·R < 2^128`, so `N_hi = a1·R + ⌊a0·R / 2^64⌋ < 2^79` and `N_lo = a0·R mod 2^64`.
/// - The quotient is below 2^64 (it is below `R`), so `N_hi < D` (else `q ≥ 2^64`).
/// - Long division by `D` in two 32-bit digits: `t1 = N_hi·2^32 + ⌊N_lo/2^32⌋ < 2^111`,
///   `q1 = ⌊t1/D⌋ < 2^32` (as `N_hi < D`), `r = t1 mod D < D`;
///   `t0 = r·2^32 + (N_lo mod 2^32) < 2^111`, `q0 = ⌊t0/D⌋ < 2^32`; `q = q1·2^32 + q0`.
pub fn swap_out(amount_in: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> u64 {
    debug_assert!(reserve_in >= 1 && fee_bps < 10_000);
    let a = amount_in as u128 * (10_000 - fee_bps as u128);
    let d = reserve_in as u128 * 10_000 + a;
    let r = reserve_out as u128;
    let a1 = a >> 64;
    let a0 = a & (u64::MAX as u128);
    let lo_prod = a0 * r;
    let n_hi = a1 * r + (lo_prod >> 64);
    let n_lo = lo_prod & (u64::MAX as u128);
    let t1 = (n_hi << 32) | (n_lo >> 32);
    let q1 = t1 / d;
    let rem = t1 % d;
    let t0 = (rem << 32) | (n_lo & 0xffff_ffff);
    let q0 = t0 / d;
    ((q1 << 32) | q0) as u64
}

/// The input a pool needs to give `amount_out` (design's `in`):
/// `⌊r_in·y·10000 / ((r_out − y)(10000 − fee))⌋ + 1` for `y < r_out`, as Uniswap v2's
/// `getAmountIn` with the fee in basis points. `None` when the input is 2^64 or more
/// (no balance covers it, and no pool's reserve is that large).
///
/// Exact with u128 only: with `P = r_in·y < 2^128` and `D = (r_out − y)(10000 − fee)`,
/// `1 ≤ D < 2^78`, write `P = a·D + b` (`b < D`). Then `⌊10000·P / D⌋ = 10000·a +
/// ⌊10000·b / D⌋`, where `10000·b < 2^92`; if `a ≥ 2^64` the quotient is above 2^64
/// already, else `10000·a < 2^78` and the sum fits.
pub fn amount_in(amount_out: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> Option<u64> {
    debug_assert!(amount_out < reserve_out && fee_bps < 10_000);
    let p = u128::from(reserve_in) * u128::from(amount_out);
    let d = u128::from(reserve_out - amount_out) * u128::from(10_000 - fee_bps);
    let (a, b) = (p / d, p % d);
    if a > u128::from(u64::MAX) {
        return None;
    }
    let q = 10_000 * a + 10_000 * b / d;
    u64::try_from(q + 1).ok()
}

/// `⌊x·r_y / r_x⌋` (Uniswap v2's `quote`), `None` when it is 2^64 or more. `r_x ≥ 1`.
pub fn quote(x: u64, r_x: u64, r_y: u64) -> Option<u64> {
    u64::try_from(u128::from(x) * u128::from(r_y) / u128::from(r_x)).ok()
}

/// Shares a mint of `a` and `b` into a pool with reserves `r_a`, `r_b` and supply `s`
/// creates, and the pool's new supply; `None` when it creates none (receipt
/// `insufficient_liquidity`). First mint (`s = 0`): `isqrt(a·b) − 1000`, the 1000 locked
/// for ever, supply `isqrt(a·b)`; later: `min(⌊a·s/r_a⌋, ⌊b·s/r_b⌋)`.
///
/// Fits u64: `s² ≤ r_a·r_b` (kept by every step) gives `min ≤ √(a·s/r_a · b·s/r_b) ≤
/// √(a·b) < 2^64`.
pub fn mint_shares(a: u64, b: u64, r_a: u64, r_b: u64, s: u64) -> Option<(u64, u64)> {
    use crate::state::MINIMUM_LIQUIDITY;
    if s == 0 {
        let root = (u128::from(a) * u128::from(b)).isqrt() as u64;
        return (root > MINIMUM_LIQUIDITY).then(|| (root - MINIMUM_LIQUIDITY, root));
    }
    let by_a = u128::from(a) * u128::from(s) / u128::from(r_a);
    let by_b = u128::from(b) * u128::from(s) / u128::from(r_b);
    let liquidity = u64::try_from(by_a.min(by_b)).ok()?;
    if liquidity == 0 {
        return None;
    }
    Some((liquidity, s.checked_add(liquidity)?))
}

/// What burning `liquidity` of `s` shares pays out of reserves `r_a`, `r_b`:
/// `(⌊liquidity·r_a/s⌋, ⌊liquidity·r_b/s⌋)`, both 0 when `s = 0`. Below the reserves
/// when `liquidity < s`.
pub fn burn_amounts(liquidity: u64, r_a: u64, r_b: u64, s: u64) -> (u64, u64) {
    if s == 0 {
        return (0, 0);
    }
    let share = |r: u64| (u128::from(liquidity) * u128::from(r) / u128::from(s)) as u64;
    (share(r_a), share(r_b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    fn oracle(amount_in: u64, reserve_in: u64, reserve_out: u64, fee_bps: u16) -> u64 {
        let a = BigUint::from(amount_in) * BigUint::from(10_000 - fee_bps as u64);
        let d = BigUint::from(reserve_in) * BigUint::from(10_000u64) + &a;
        let q = a * BigUint::from(reserve_out) / d;
        u64::try_from(q).expect("quotient below reserve_out")
    }

    #[test]
    fn uniswap_v2_get_amount_out_cases() {
        // Uniswap v2 getAmountOut with the 0.3% fee: out = in·997·R_out / (R_in·1000 + in·997).
        // At fee_bps = 30 our formula is the same ratio scaled by 10: in·9970·R_out / (R_in·10000 + in·9970).
        // Cases from the v2-core pair tests (swap test cases: [swapAmount, token0, token1, expectedOutput]),
        // amounts in units of 1e18 as there.
        let e18: u64 = 1_000_000_000_000_000_000;
        // (The 100e18 and 1000e18 cases do not fit in u64 and are left out.)
        let cases: [(u64, u64, u64, u64); 5] = [
            (e18, 5 * e18, 10 * e18, 1_662_497_915_624_478_906),
            (e18, 10 * e18, 5 * e18, 453_305_446_940_074_565),
            (2 * e18, 5 * e18, 10 * e18, 2_851_015_155_847_869_602),
            (2 * e18, 10 * e18, 5 * e18, 831_248_957_812_239_453),
            (e18, 10 * e18, 10 * e18, 906_610_893_880_149_131),
        ];
        for (i, &(amount_in, r_in, r_out, expected)) in cases.iter().enumerate() {
            assert_eq!(swap_out(amount_in, r_in, r_out, 30), expected, "case {i}");
            let v2 = BigUint::from(amount_in) * 997u32 * BigUint::from(r_out)
                / (BigUint::from(r_in) * 1000u32 + BigUint::from(amount_in) * 997u32);
            assert_eq!(BigUint::from(expected), v2, "case {i} vs 997/1000 formula");
        }
    }

    #[test]
    fn extremes_match_big_integer_oracle() {
        let edges = [
            0u64,
            1,
            2,
            3,
            9_999,
            10_000,
            u32::MAX as u64,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &amount in &edges {
            for &r_in in edges.iter().filter(|&&r| r >= 1) {
                for &r_out in &edges {
                    for fee in [0u16, 1, 30, 9_999] {
                        assert_eq!(
                            swap_out(amount, r_in, r_out, fee),
                            oracle(amount, r_in, r_out, fee),
                            "amount={amount} r_in={r_in} r_out={r_out} fee={fee}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn random_inputs_match_big_integer_oracle(
            amount in proptest::num::u64::ANY,
            r_in in 1u64..,
            r_out in proptest::num::u64::ANY,
            fee in 0u16..10_000,
        ) {
            proptest::prop_assert_eq!(swap_out(amount, r_in, r_out, fee), oracle(amount, r_in, r_out, fee));
        }
    }
}
