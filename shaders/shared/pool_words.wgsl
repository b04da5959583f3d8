// A pool as the resident columns hold it on the device, u64 as u32 pairs (x = low word).
// Keep in sync with `PoolWords` in src/gpu/resident.rs. Shared piece: stands alone,
// composed in front of shaders/stages/exec.wgsl and shaders/stages/state_leaves.wgsl.
struct PoolWords {
    token_a: u32,
    token_b: u32,
    fee_bps: u32,
    // The pool's LP token, or NO_LP_TOKEN for a pool without shares.
    lp_token: u32,
    reserve_a: vec2<u32>,
    reserve_b: vec2<u32>,
    // Shares in existence plus the 1000 locked at the first mint; 0 without an LP token.
    lp_supply: vec2<u32>,
}

// `PoolWords.lp_token` of a pool without LP shares; keep in sync with `NO_LP_TOKEN` in
// src/gpu/resident.rs.
const NO_LP_TOKEN: u32 = 0xffffffffu;
