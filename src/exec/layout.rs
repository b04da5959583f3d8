//! Layout of the execute stage shared by the host code, the CPU twin and
//! `shaders/stages/exec.wgsl` / `shaders/test/exec_probe.wgsl`: the `#[repr(C)]` structs
//! the shaders read, their sentinels and constants, and the segment sizing rules. The
//! resident columns' own layout ([`crate::gpu::resident::PoolWords`], u64 as u32 pairs) is
//! [`crate::gpu::resident`]'s.

/// Kind of a transfer in [`ExecTx::kind`]; keep in sync with `TX_KIND_TRANSFER`.
pub const TX_KIND_TRANSFER: u32 = 1;
/// Kind of a swap in [`ExecTx::kind`]; keep in sync with `TX_KIND_SWAP`.
pub const TX_KIND_SWAP: u32 = 2;
/// Kind of an AddLiquidity in [`ExecTx::kind`]; keep in sync with `TX_KIND_ADD_LIQUIDITY`.
pub const TX_KIND_ADD_LIQUIDITY: u32 = 3;
/// Kind of a RemoveLiquidity in [`ExecTx::kind`]; keep in sync with
/// `TX_KIND_REMOVE_LIQUIDITY`.
pub const TX_KIND_REMOVE_LIQUIDITY: u32 = 4;
/// Kind of a route in [`ExecTx::kind`]; keep in sync with `TX_KIND_ROUTE`.
pub const TX_KIND_ROUTE: u32 = 5;
/// [`ExecTx::direction`] of an exact-input route; keep in sync with `ROUTE_EXACT_IN`.
pub const ROUTE_EXACT_IN: u32 = 0;
/// [`ExecTx::direction`] of an exact-output route; keep in sync with `ROUTE_EXACT_OUT`.
pub const ROUTE_EXACT_OUT: u32 = 1;
/// Most pools of a route ([`ExecTx::route_pools`]); keep in sync with `MAX_ROUTE_HOPS`.
pub const MAX_ROUTE_HOPS: usize = 4;
/// Shares locked for ever at a pool's first mint; keep in sync with `MINIMUM_LIQUIDITY`.
pub const MINIMUM_LIQUIDITY: u32 = 1000;
/// Status `exec.wgsl` writes for a tx whose kind it does not know; keep in sync with
/// `EXEC_STATUS_UNKNOWN_KIND`. Not a receipt code: receipt codes are one byte, this is
/// 256. No decoded tx can produce it, so [`crate::exec::plan::BlockPlan::results`] turns it
/// into an internal error (the block fails; under `Auto` the CPU redoes it) and the
/// parity tests check that valid blocks never show it.
pub const EXEC_STATUS_UNKNOWN_KIND: u32 = 0x100;
/// [`ExecTx::direction`] of an A→B swap; keep in sync with `DIRECTION_A_TO_B`.
pub const DIRECTION_A_TO_B: u32 = 0;
/// [`ExecTx::direction`] of a B→A swap.
pub const DIRECTION_B_TO_A: u32 = 1;
/// [`Segment::mode`]: one invocation per entry; keep in sync with `SEGMENT_PARALLEL`.
pub const SEGMENT_PARALLEL: u32 = 0;
/// [`Segment::mode`]: invocation 0 runs every entry in order; keep in sync with
/// `SEGMENT_SERIAL`.
pub const SEGMENT_SERIAL: u32 = 1;
/// Words per receipt in the output buffer (status, three amounts as (low, high), 0): a
/// transfer or swap's (amount_out, 0, 0), a route's (amount_in, amount_out, 0), a
/// liquidity tx's (amount_a, amount_b, liquidity); keep in sync with `RECEIPT_WORDS`.
pub const RECEIPT_WORDS: usize = 8;
/// Words per gathered pool (reserve_a, reserve_b, lp_supply, each low then high); keep in
/// sync with `POOL_GATHER_WORDS`.
pub const POOL_GATHER_WORDS: usize = 6;
/// Most txs one serial segment runs, so that one invocation never runs for long.
///
/// Bound: llvmpipe (lavapipe) stops any shader loop after 65,535 iterations counted over
/// the whole invocation, not per loop entry — a safety limiter in Mesa's gallivm; with
/// 4096 txs per segment, blocks of ~1000 swaps in one invocation came back wrong. Loop
/// iterations per tx, at most (1 of the segment loop included; `sub96` and the wide
/// products are straight-line code): a transfer 1; a swap 77 (in `swap_out` 3 for d, 9
/// for the product rows, 64 division steps); an AddLiquidity 417 (two quotes of at most
/// 104 for step 9, then an isqrt128 of 64 or two more quotes for step 11); a
/// RemoveLiquidity 209 (two quotes); a route 433 (`execute_route`: 12 for the pool,
/// chain and update loops, and per hop 1 + an `amount_in` of at most 104 (exact out) or
/// an `amount_out` of 76 (exact in)). The bounds of the wide functions are checked by
/// `exec::twin_wide`'s tests. So 96 txs stay below 96 × 433 = 41,568 iterations, a
/// third below the limit whatever the kinds. On GPUs the cap also keeps a dispatch far
/// from driver watchdogs; it costs one dispatch per 96 txs of a serial chain.
pub const SERIAL_SEGMENT_MAX_TXS: usize = 96;
/// Most loop iterations one tx runs in `exec_segment` (see [`SERIAL_SEGMENT_MAX_TXS`]).
pub const TX_MAX_LOOP_ITERATIONS: usize = 433;
/// lavapipe's limit on the loop iterations of one invocation.
pub const LAVAPIPE_LOOP_LIMIT: usize = 65_535;
// A serial segment's loop iterations stay a third below lavapipe's limit.
const _: () =
    assert!(SERIAL_SEGMENT_MAX_TXS * TX_MAX_LOOP_ITERATIONS < LAVAPIPE_LOOP_LIMIT * 2 / 3);
/// Waves of at most this many ready txs join serial segments on a hardware adapter.
///
/// A wave of k txs as its own dispatch costs one dispatch and barrier; run serially it
/// costs k sequential tx executions. On a GPU a dispatch with its barrier costs a few µs,
/// and one thread runs a swap (64 division steps, a few dependent global loads) in the
/// order of a µs or more, so 4 keeps the one-to-few-tx tail of a hot-pool block in one
/// dispatch while any wave with real parallelism keeps its own. An estimate: not yet
/// measured on a GPU (see the module docs of `exec::gpu`).
pub const DEFAULT_SERIAL_WAVE_MAX: usize = 4;

/// Waves of at most this many ready txs join serial segments on a software (CPU-type)
/// adapter such as lavapipe, where a dispatch costs as much as ~25 serial txs (measured,
/// module docs).
pub const SOFTWARE_SERIAL_WAVE_MAX: usize = 16;

/// Per-block parameters. Keep in sync with `ExecParams` in shaders/stages/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ExecParams {
    /// Fee collector account index.
    pub fee_collector: u32,
    /// Number of tokens (balance columns).
    pub tokens: u32,
    /// Accounts per balance column on the device.
    pub account_cap: u32,
    /// Number of pools.
    pub n_pools: u32,
    /// Accounts `gather_changed` copies out.
    pub n_gather_accounts: u32,
    /// Pools `gather_changed` copies out.
    pub n_gather_pools: u32,
    /// Word offset of the gathered columns in the output buffer.
    pub gather_offset: u32,
    /// Pads to 32 bytes.
    pub pad0: u32,
}

/// One dispatch of `exec_segment`. Keep in sync with `Segment` in shaders/stages/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Segment {
    /// First entry of the order list.
    pub first: u32,
    /// Entries.
    pub count: u32,
    /// [`SEGMENT_PARALLEL`] or [`SEGMENT_SERIAL`].
    pub mode: u32,
    /// Pads to 16 bytes.
    pub pad0: u32,
}

/// A ready tx as the shader reads it. Keep in sync with `ExecTx` in shaders/stages/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ExecTx {
    /// One of the `TX_KIND_*` constants.
    pub kind: u32,
    /// Signer account index.
    pub signer: u32,
    /// Transfer recipient index, or [`crate::resolve::NO_ACCOUNT`] for every other kind.
    pub recipient: u32,
    /// Transfer: token. Swap, AddLiquidity, RemoveLiquidity: pool index. Route: token_in.
    pub token_or_pool: u32,
    /// Swap: [`DIRECTION_A_TO_B`] or [`DIRECTION_B_TO_A`]. Route: [`ROUTE_EXACT_IN`] or
    /// [`ROUTE_EXACT_OUT`]. Others: 0.
    pub direction: u32,
    /// Route: pools in `route_pools` (1 to [`MAX_ROUTE_HOPS`]). Others: 0.
    pub hops: u32,
    /// Nonce (low word, high word).
    pub nonce: [u32; 2],
    /// Fee.
    pub fee: [u32; 2],
    /// Transfer: amount. Swap: amount_in, min_out. AddLiquidity: amount_a_desired,
    /// amount_b_desired, amount_a_min, amount_b_min. RemoveLiquidity: liquidity,
    /// amount_a_min, amount_b_min. Route: amount, limit. Unused entries are 0.
    pub amounts: [[u32; 2]; 4],
    /// Route: the pools, in order. Others: 0.
    pub route_pools: [u32; MAX_ROUTE_HOPS],
}

/// One input of the `swap_out_probe` test entry point. Keep in sync with `SwapProbe` in
/// shaders/test/exec_probe.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SwapProbe {
    /// Amount sold.
    pub amount_in: [u32; 2],
    /// Reserve of the sold token.
    pub reserve_in: [u32; 2],
    /// Reserve of the bought token.
    pub reserve_out: [u32; 2],
    /// Pool fee.
    pub fee_bps: u32,
    /// Pads to 32 bytes.
    pub pad0: u32,
}

/// One input of the `wide_probe` test entry point. Keep in sync with `WideProbe` in
/// shaders/test/exec_probe.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WideProbe {
    /// `amount_in`'s output y, `quote`'s amount.
    pub x: [u32; 2],
    /// `amount_in`'s r_in, `quote`'s r_x, first factor of `isqrt128`.
    pub a: [u32; 2],
    /// `amount_in`'s r_out, `quote`'s r_y, second factor of `isqrt128`.
    pub b: [u32; 2],
    /// `amount_in`'s fee.
    pub fee_bps: u32,
    /// Pads to 32 bytes.
    pub pad0: u32,
}

/// Words per probe the `wide_probe` entry point writes; keep in sync with
/// `WIDE_PROBE_WORDS` in shaders/test/exec_probe.wgsl.
pub const WIDE_PROBE_WORDS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::resident::{PoolWords, join, split};
    use crate::gpu::shaders;
    use crate::receipt::Status;
    use crate::resolve::NO_ACCOUNT;
    use std::mem::{offset_of, size_of};

    /// Size and (member, offset) list of the WGSL struct `name` in `module`, as naga lays
    /// it out from the composed source.
    fn wgsl_layout(module: &shaders::ShaderModule, name: &str) -> (usize, Vec<(String, usize)>) {
        let source = module.source();
        let parsed = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", module.name, e.emit_to_string(&source)));
        parsed
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), naga::TypeInner::Struct { members, span }) if n == name => Some((
                    *span as usize,
                    members
                        .iter()
                        .map(|m| {
                            (
                                m.name.clone().expect("struct members are named"),
                                m.offset as usize,
                            )
                        })
                        .collect(),
                )),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{} has no struct {name}", module.name))
    }

    /// The Rust struct's fields, in order, have the WGSL struct's names and offsets, and
    /// both have the same size.
    macro_rules! assert_wgsl_layout {
        ($module:expr, $ty:ident { $($field:ident),* $(,)? }) => {{
            let (size, members) = wgsl_layout(&$module, stringify!($ty));
            let rust: Vec<(String, usize)> =
                vec![$((stringify!($field).to_string(), offset_of!($ty, $field))),*];
            assert_eq!(rust, members, "{} members and offsets", stringify!($ty));
            assert_eq!(size_of::<$ty>(), size, "{} size", stringify!($ty));
        }};
    }

    #[test]
    fn shared_structs_match_the_wgsl_layout() {
        assert_wgsl_layout!(
            shaders::EXEC,
            ExecParams {
                fee_collector,
                tokens,
                account_cap,
                n_pools,
                n_gather_accounts,
                n_gather_pools,
                gather_offset,
                pad0,
            }
        );
        assert_wgsl_layout!(
            shaders::EXEC,
            Segment {
                first,
                count,
                mode,
                pad0
            }
        );
        assert_wgsl_layout!(
            shaders::EXEC,
            ExecTx {
                kind,
                signer,
                recipient,
                token_or_pool,
                direction,
                hops,
                nonce,
                fee,
                amounts,
                route_pools,
            }
        );
        assert_wgsl_layout!(
            shaders::EXEC,
            PoolWords {
                token_a,
                token_b,
                fee_bps,
                lp_token,
                reserve_a,
                reserve_b,
                lp_supply,
            }
        );
        assert_wgsl_layout!(
            shaders::STATE_LEAVES,
            PoolWords {
                token_a,
                token_b,
                fee_bps,
                lp_token,
                reserve_a,
                reserve_b,
                lp_supply,
            }
        );
        assert_wgsl_layout!(
            shaders::EXEC_PROBE,
            SwapProbe {
                amount_in,
                reserve_in,
                reserve_out,
                fee_bps,
                pad0,
            }
        );
        assert_wgsl_layout!(
            shaders::EXEC_PROBE,
            WideProbe {
                x,
                a,
                b,
                fee_bps,
                pad0,
            }
        );
    }

    #[test]
    fn sentinels_and_constants_match_the_wgsl() {
        let has = |line: &str| {
            assert!(
                shaders::EXEC.source().contains(line),
                "exec.wgsl lacks {line:?}"
            )
        };
        has(&format!("const NO_ACCOUNT: u32 = 0x{NO_ACCOUNT:x}u;"));
        has(&format!(
            "const TX_KIND_TRANSFER: u32 = {TX_KIND_TRANSFER}u;"
        ));
        has(&format!("const TX_KIND_SWAP: u32 = {TX_KIND_SWAP}u;"));
        has(&format!(
            "const TX_KIND_ADD_LIQUIDITY: u32 = {TX_KIND_ADD_LIQUIDITY}u;"
        ));
        has(&format!(
            "const TX_KIND_REMOVE_LIQUIDITY: u32 = {TX_KIND_REMOVE_LIQUIDITY}u;"
        ));
        has(&format!("const TX_KIND_ROUTE: u32 = {TX_KIND_ROUTE}u;"));
        has(&format!("const ROUTE_EXACT_IN: u32 = {ROUTE_EXACT_IN}u;"));
        has(&format!("const ROUTE_EXACT_OUT: u32 = {ROUTE_EXACT_OUT}u;"));
        has(&format!("const MAX_ROUTE_HOPS: u32 = {MAX_ROUTE_HOPS}u;"));
        has(&format!(
            "const MINIMUM_LIQUIDITY: u32 = {MINIMUM_LIQUIDITY}u;"
        ));
        assert_eq!(
            u64::from(MINIMUM_LIQUIDITY),
            crate::state::MINIMUM_LIQUIDITY
        );
        assert_eq!(MAX_ROUTE_HOPS, crate::tx::MAX_HOPS);

        has(&format!(
            "const EXEC_STATUS_UNKNOWN_KIND: u32 = 0x{EXEC_STATUS_UNKNOWN_KIND:x}u;"
        ));
        assert!(
            u8::try_from(EXEC_STATUS_UNKNOWN_KIND).is_err(),
            "outside every one-byte receipt code"
        );
        has(&format!(
            "const DIRECTION_A_TO_B: u32 = {DIRECTION_A_TO_B}u;"
        ));
        has(&format!(
            "const SEGMENT_PARALLEL: u32 = {SEGMENT_PARALLEL}u;"
        ));
        has(&format!("const SEGMENT_SERIAL: u32 = {SEGMENT_SERIAL}u;"));
        has(&format!("const RECEIPT_WORDS: u32 = {RECEIPT_WORDS}u;"));
        has(&format!(
            "const POOL_GATHER_WORDS: u32 = {POOL_GATHER_WORDS}u;"
        ));
        assert!(
            shaders::EXEC_PROBE.source().contains(&format!(
                "const WIDE_PROBE_WORDS: u32 = {WIDE_PROBE_WORDS}u;"
            )),
            "exec_probe.wgsl lacks WIDE_PROBE_WORDS"
        );
        for (name, s) in [
            ("STATUS_OK", Status::Ok),
            ("STATUS_BAD_NONCE", Status::BadNonce),
            ("STATUS_INSUFFICIENT_FEE", Status::InsufficientFee),
            ("STATUS_UNKNOWN_TOKEN", Status::UnknownToken),
            ("STATUS_UNKNOWN_POOL", Status::UnknownPool),
            ("STATUS_INSUFFICIENT_BALANCE", Status::InsufficientBalance),
            ("STATUS_SLIPPAGE_EXCEEDED", Status::SlippageExceeded),
            ("STATUS_BAD_ROUTE", Status::BadRoute),
            ("STATUS_NO_LP_TOKEN", Status::NoLpToken),
            (
                "STATUS_INSUFFICIENT_LIQUIDITY",
                Status::InsufficientLiquidity,
            ),
        ] {
            has(&format!("const {name}: u32 = {}u;", s as u8));
        }
    }

    #[test]
    fn split_and_join_are_inverse() {
        for v in [0u64, 1, u32::MAX as u64, 1 << 32, u64::MAX - 1, u64::MAX] {
            assert_eq!(join(split(v)), v);
        }
        assert_eq!(split(0x0123_4567_89ab_cdef), [0x89ab_cdef, 0x0123_4567]);
    }
}
