// Test entry point for the execution arithmetic: evaluates swap_out and mul_wide of
// shaders/shared/u64.wgsl (which must come first, after shaders/shared/dispatch.wgsl) on
// a batch of inputs, so tests can compare the shader with its CPU twin (src/exec/twin.rs) and a big-integer oracle. The runtime never
// dispatches it.

// Keep in sync with `SwapProbe` in src/exec/layout.rs.
struct SwapProbe {
    amount_in: vec2<u32>,
    reserve_in: vec2<u32>,
    reserve_out: vec2<u32>,
    fee_bps: u32,
    pad0: u32,
}

@group(0) @binding(0) var<storage, read> probes: array<SwapProbe>;
// Per probe: swap_out (low, high), then mul_wide(amount_in.x, reserve_out.y) (low, high).
@group(0) @binding(1) var<storage, read_write> probe_out: array<vec4<u32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn swap_out_probe(inv: Invocation) {
    let i = invocation_index(inv);
    if (i >= arrayLength(&probes)) {
        return;
    }
    let p = probes[i];
    let q = swap_out(p.amount_in, p.reserve_in, p.reserve_out, p.fee_bps);
    let m = mul_wide(p.amount_in.x, p.reserve_out.y);
    probe_out[i] = vec4<u32>(q.x, q.y, m.x, m.y);
}
