// Test entry points for the execution arithmetic, so tests can compare the shaders with
// their CPU twins and big-integer oracles on batches of inputs: `swap_out_probe` evaluates
// swap_out and mul_wide of shaders/shared/u64.wgsl (twin: src/exec/twin.rs), `wide_probe`
// amount_in, quote and isqrt128 of shaders/shared/wide.wgsl (twin: src/exec/twin_wide.rs).
// Needs shaders/shared/dispatch.wgsl, u64.wgsl and wide.wgsl in front. The runtime never
// dispatches them.

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

// Keep in sync with `WideProbe` in src/exec/layout.rs.
struct WideProbe {
    x: vec2<u32>,
    a: vec2<u32>,
    b: vec2<u32>,
    fee_bps: u32,
    pad0: u32,
}

// Keep in sync with `WIDE_PROBE_WORDS` in src/exec/layout.rs.
const WIDE_PROBE_WORDS: u32 = 8u;

@group(0) @binding(2) var<storage, read> wide_probes: array<WideProbe>;
// Per probe, WIDE_PROBE_WORDS words: amount_in(x, a, b, fee) (low, high) when x < b and
// a ≥ 1, quote(x, a, b) (low, high) when a ≥ 1 (zeros otherwise), isqrt128(a, b) (low,
// high), flags (bit 0: amount_in ≥ 2^64, bit 1: quote ≥ 2^64), 0.
@group(0) @binding(3) var<storage, read_write> wide_out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn wide_probe(inv: Invocation) {
    let i = invocation_index(inv);
    if (i >= arrayLength(&wide_probes)) {
        return;
    }
    let p = wide_probes[i];
    let none = Q64(vec2<u32>(0u, 0u), false);
    let a_ok = !eq64(p.a, vec2<u32>(0u, 0u));
    var ain = none;
    if (a_ok && lt64(p.x, p.b)) {
        ain = amount_in(p.x, p.a, p.b, p.fee_bps);
    }
    var quo = none;
    if (a_ok) {
        quo = quote(p.x, p.a, p.b);
    }
    let root = isqrt128(p.a, p.b);
    let flags = select(0u, 1u, ain.over) | select(0u, 2u, quo.over);
    let at = WIDE_PROBE_WORDS * i;
    wide_out[at] = ain.value.x;
    wide_out[at + 1u] = ain.value.y;
    wide_out[at + 2u] = quo.value.x;
    wide_out[at + 3u] = quo.value.y;
    wide_out[at + 4u] = root.x;
    wide_out[at + 5u] = root.y;
    wide_out[at + 6u] = flags;
    wide_out[at + 7u] = 0u;
}
