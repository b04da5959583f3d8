//! Layout of the execute stage shared by the host code, the CPU twin and
//! `shaders/stages/exec.wgsl` / `shaders/test/exec_probe.wgsl`: the `#[repr(C)]` structs
//! the shaders read, their sentinels and constants, and the segment sizing rules. The
//! resident columns' own layout ([`crate::gpu::resident::PoolWords`], u64 as u32 pairs) is
//! [`crate::gpu::resident`]'s.

/// Kind of a transfer in [`ExecTx::kind`]; keep in sync with `TX_KIND_TRANSFER`.
pub const TX_KIND_TRANSFER: u32 = 1;
/// Kind of a swap in [`ExecTx::kind`]; keep in sync with `TX_KIND_SWAP`.
pub const TX_KIND_SWAP: u32 = 2;
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
/// Words per receipt in the output buffer (status, amount_out low, high, 0); keep in sync
/// with `RECEIPT_WORDS`.
pub const RECEIPT_WORDS: usize = 4;
/// Words per gathered pool (reserve_a low, high, reserve_b low, high); keep in sync with
/// `POOL_GATHER_WORDS`.
pub const POOL_GATHER_WORDS: usize = 4;
/// Most txs one serial segment runs, so that one invocation never runs for long.
///
/// Bound: llvmpipe (lavapipe) stops any shader loop after 65,535 iterations counted over
/// the whole invocation, not per loop entry — a safety limiter in Mesa's gallivm; with
/// 4096 txs per segment, blocks of ~1000 swaps in one invocation came back wrong. One tx
/// runs at most 269 loop iterations (1 of the segment loop; in `swap_out` 3 for d, 9 for
/// the product rows, 64 division steps, and 3 for each of at most 64 `sub96` calls), so
/// 128 txs stay below 34,432 iterations. On GPUs the cap also keeps a dispatch far from
/// driver watchdogs; it costs one dispatch per 128 txs of a serial chain.
pub const SERIAL_SEGMENT_MAX_TXS: usize = 128;
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
    /// [`TX_KIND_TRANSFER`] or [`TX_KIND_SWAP`].
    pub kind: u32,
    /// Signer account index.
    pub signer: u32,
    /// Transfer recipient index, or [`crate::resolve::NO_ACCOUNT`] for a swap.
    pub recipient: u32,
    /// Transfer: token. Swap: pool index.
    pub token_or_pool: u32,
    /// Swap: [`DIRECTION_A_TO_B`] or [`DIRECTION_B_TO_A`]; transfer: 0.
    pub direction: u32,
    /// Aligns `nonce` to 8 bytes as WGSL's `vec2<u32>`.
    pub pad0: u32,
    /// Nonce (low word, high word).
    pub nonce: [u32; 2],
    /// Fee.
    pub fee: [u32; 2],
    /// Transfer amount or swap amount_in.
    pub amount: [u32; 2],
    /// Swap min_out; transfer: 0.
    pub min_out: [u32; 2],
    /// Pads to 64 bytes.
    pub pad1: [u32; 2],
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
                pad0,
                nonce,
                fee,
                amount,
                min_out,
                pad1,
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
