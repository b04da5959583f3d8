// A pool as the resident columns hold it on the device, u64 as u32 pairs (x = low word).
// Keep in sync with `PoolWords` in src/gpu/resident.rs. Shared piece: stands alone,
// composed in front of shaders/stages/exec.wgsl and shaders/stages/state_leaves.wgsl.
struct PoolWords {
    token_a: u32,
    token_b: u32,
    fee_bps: u32,
    pad0: u32,
    reserve_a: vec2<u32>,
    reserve_b: vec2<u32>,
}
