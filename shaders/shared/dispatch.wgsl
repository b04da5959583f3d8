// Workgroup size and invocation index of every stage kernel but the verifier's. Shared
// piece: stands alone, composed in front of shaders/stages/{hash,merkle,state_leaves,
// resolve,exec}.wgsl and shaders/test/exec_probe.wgsl.
//
// WORKGROUP_SIZE is a pipeline-overridable constant: the host sets it when it builds the
// pipeline (src/gpu/tunables.rs, src/gpu/pass.rs) and sizes its grids by the same value
// (`BatchLimits::grid` in src/gpu/pool.rs). The default is `DEFAULT_WORKGROUP_SIZE`.
override WORKGROUP_SIZE: u32 = 64u;

// What an entry point takes: its place in the grid.
struct Invocation {
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
}

// Global index of an invocation. Dispatches are 2D when one dimension's workgroup limit is
// too small for the batch: the host makes `groups.x` workgroups per row.
fn invocation_index(inv: Invocation) -> u32 {
    return inv.gid.x + inv.gid.y * inv.groups.x * WORKGROUP_SIZE;
}
