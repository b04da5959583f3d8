//! The one table of every WGSL module txwave compiles: which files, in which order, make
//! each module, and which entry points it has. Stage constructors build their pipelines
//! from it, `tests/shaders.rs` validates every module in it with naga (no GPU needed), and
//! the pipeline cache keys its files by a module's name and source. Adding a shader is one
//! line here.
//!
//! `shaders/` is in three folders: `shared/` (pieces several modules include: the
//! workgroup-size override and invocation index, BLAKE3's compression, u64 in u32 pairs,
//! the wide arithmetic of the liquidity and route kinds, the resident pool layout, the field, SHA-512, scalar and curve arithmetic), `stages/`
//! (one file of entry points per pipeline stage) and `test/` (entry points only the parity
//! tests dispatch). Three shared pieces are generated from the verifier's CPU twin so the
//! constants, the interpreter programs and the unrolled limb arithmetic cannot drift from
//! it: `field25519_consts.wgsl`, `field25519_programs.wgsl` and `field25519_arith.wgsl`,
//! written by `verify::wgsl_gen` and checked to be current by a test (which says
//! how to regenerate them).
//!
//! The verifier has two modules, one per code shape ([`super::tunables::VerifyShape`]),
//! sharing the field, SHA-512, scalar and point pieces and the stage file
//! `stages/verify.wgsl`: [`VERIFY`] runs the curve formulas as programs of the field
//! interpreter over a private register file (`field25519_regs.wgsl`, `curve25519.wgsl`),
//! [`VERIFY_STRAIGHT`] as straight-line field calls on locals
//! (`curve25519_straight.wgsl`). The workgroup size and the base-point table are
//! pipeline-overridable constants of both, set per pipeline.

/// One WGSL file, by its path in the repository, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Piece {
    /// Path from the repository root, e.g. `shaders/shared/u64.wgsl`.
    pub path: &'static str,
    /// The file's contents, compiled into the binary.
    pub text: &'static str,
}

macro_rules! piece {
    ($path:literal) => {
        Piece {
            path: $path,
            text: include_str!(concat!("../../", $path)),
        }
    };
}

/// The `WORKGROUP_SIZE` override and the 2D invocation index (every stage but verify).
pub const DISPATCH: Piece = piece!("shaders/shared/dispatch.wgsl");
/// The resident pool layout (exec, state_leaves).
pub const POOL_WORDS: Piece = piece!("shaders/shared/pool_words.wgsl");
/// BLAKE3's compression function (hash, merkle, state_leaves, resolve).
pub const BLAKE3_COMPRESS: Piece = piece!("shaders/shared/blake3_compress.wgsl");
/// u64 arithmetic in u32 pairs and the exact swap formula (exec, exec_probe).
pub const U64: Piece = piece!("shaders/shared/u64.wgsl");
/// Exact wide arithmetic of the liquidity and route kinds: hop inputs, quotes, square
/// roots of 128-bit products (exec, exec_probe; after [`U64`]).
pub const WIDE: Piece = piece!("shaders/shared/wide.wgsl");
/// Field, SHA-512 and scalar constants generated from the twin (verify, both shapes).
pub const FIELD_CONSTS: Piece = piece!("shaders/shared/field25519_consts.wgsl");
/// The field interpreter's programs generated from the twin (verify, register shape).
pub const FIELD_PROGRAMS: Piece = piece!("shaders/shared/field25519_programs.wgsl");
/// Field element layout and looped field operations (verify, both shapes).
pub const FIELD: Piece = piece!("shaders/shared/field25519.wgsl");
/// The field interpreter and its register file (verify, register shape).
pub const FIELD_REGS: Piece = piece!("shaders/shared/field25519_regs.wgsl");
/// Unrolled limb arithmetic generated from the twin (verify).
pub const FIELD_ARITH: Piece = piece!("shaders/shared/field25519_arith.wgsl");
/// SHA-512 (verify).
pub const SHA512: Piece = piece!("shaders/shared/sha512.wgsl");
/// Scalars mod ℓ (verify).
pub const SCALAR: Piece = piece!("shaders/shared/scalar25519.wgsl");
/// Edwards points and the types both curve shapes share (verify).
pub const CURVE_POINTS: Piece = piece!("shaders/shared/curve25519_points.wgsl");
/// Edwards curve formulas as interpreter programs (verify, register shape).
pub const CURVE: Piece = piece!("shaders/shared/curve25519.wgsl");
/// Edwards curve formulas as straight-line field calls (verify, straight-line shape).
pub const CURVE_STRAIGHT: Piece = piece!("shaders/shared/curve25519_straight.wgsl");
/// The verify stage's bindings, overrides, `verify_item` and entry point (both shapes).
pub const VERIFY_STAGE: Piece = piece!("shaders/stages/verify.wgsl");

/// A module the device compiles: its pieces concatenated in order.
#[derive(Debug, Clone, Copy)]
pub struct ShaderModule {
    /// Short name, used as the wgpu label and in pipeline-cache file names.
    pub name: &'static str,
    /// Files in the order they are concatenated.
    pub pieces: &'static [Piece],
    /// Entry points, in source order.
    pub entry_points: &'static [&'static str],
}

impl ShaderModule {
    /// The source the device receives.
    pub fn source(&self) -> String {
        let texts: Vec<&str> = self.pieces.iter().map(|p| p.text).collect();
        texts.join("\n")
    }
}

/// Tx ids and batch BLAKE3 (hash stage).
pub const HASH: ShaderModule = ShaderModule {
    name: "hash",
    pieces: &[
        DISPATCH,
        BLAKE3_COMPRESS,
        piece!("shaders/stages/hash.wgsl"),
    ],
    entry_points: &["hash_chunks", "reduce_chunk_trees"],
};

/// One Merkle tree level (commit stage).
pub const MERKLE: ShaderModule = ShaderModule {
    name: "merkle",
    pieces: &[
        DISPATCH,
        BLAKE3_COMPRESS,
        piece!("shaders/stages/merkle.wgsl"),
    ],
    entry_points: &["merkle_level"],
};

/// Account and pool leaves from the resident columns (commit stage).
pub const STATE_LEAVES: ShaderModule = ShaderModule {
    name: "state_leaves",
    pieces: &[
        DISPATCH,
        BLAKE3_COMPRESS,
        POOL_WORDS,
        piece!("shaders/stages/state_leaves.wgsl"),
    ],
    entry_points: &["hash_account_leaves", "hash_pool_leaves"],
};

/// Pubkey → account lookups in the resident table (resolve stage).
pub const RESOLVE: ShaderModule = ShaderModule {
    name: "resolve",
    pieces: &[
        DISPATCH,
        BLAKE3_COMPRESS,
        piece!("shaders/stages/resolve.wgsl"),
    ],
    entry_points: &["lookup_accounts"],
};

const VERIFY_PIECES: [Piece; 10] = [
    FIELD_CONSTS,
    FIELD_PROGRAMS,
    FIELD,
    FIELD_REGS,
    FIELD_ARITH,
    SHA512,
    SCALAR,
    CURVE_POINTS,
    CURVE,
    VERIFY_STAGE,
];

/// Ed25519 under both rules (verify stage), register shape
/// ([`super::tunables::VerifyShape::Register`]).
pub const VERIFY: ShaderModule = ShaderModule {
    name: "verify",
    pieces: &VERIFY_PIECES,
    entry_points: &["verify_main"],
};

/// Ed25519 under both rules (verify stage), straight-line shape
/// ([`super::tunables::VerifyShape::StraightLine`]): no interpreter programs, no register
/// file.
pub const VERIFY_STRAIGHT: ShaderModule = ShaderModule {
    name: "verify_straight",
    pieces: &[
        FIELD_CONSTS,
        FIELD,
        FIELD_ARITH,
        SHA512,
        SCALAR,
        CURVE_POINTS,
        CURVE_STRAIGHT,
        VERIFY_STAGE,
    ],
    entry_points: &["verify_main"],
};

/// The verifier plus the entry points its parity tests dispatch.
pub const VERIFY_TEST: ShaderModule = ShaderModule {
    name: "verify_test",
    pieces: &[
        VERIFY_PIECES[0],
        VERIFY_PIECES[1],
        VERIFY_PIECES[2],
        VERIFY_PIECES[3],
        VERIFY_PIECES[4],
        VERIFY_PIECES[5],
        VERIFY_PIECES[6],
        VERIFY_PIECES[7],
        VERIFY_PIECES[8],
        VERIFY_PIECES[9],
        piece!("shaders/test/verify_test.wgsl"),
    ],
    entry_points: &[
        "verify_main",
        "test_field",
        "test_scalar",
        "test_sha512",
        "test_curve",
    ],
};

/// Waves over the resident state (execute stage).
pub const EXEC: ShaderModule = ShaderModule {
    name: "exec",
    pieces: &[
        DISPATCH,
        U64,
        WIDE,
        POOL_WORDS,
        piece!("shaders/stages/exec.wgsl"),
    ],
    entry_points: &["exec_segment", "gather_changed"],
};

/// The execution arithmetic alone (the swap formula, the wide arithmetic), for their
/// parity tests.
pub const EXEC_PROBE: ShaderModule = ShaderModule {
    name: "exec_probe",
    pieces: &[DISPATCH, U64, WIDE, piece!("shaders/test/exec_probe.wgsl")],
    entry_points: &["swap_out_probe", "wide_probe"],
};

/// Every module txwave compiles.
pub const SHADERS: [&ShaderModule; 9] = [
    &HASH,
    &MERKLE,
    &STATE_LEAVES,
    &RESOLVE,
    &VERIFY,
    &VERIFY_STRAIGHT,
    &VERIFY_TEST,
    &EXEC,
    &EXEC_PROBE,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module but the verifier's takes its workgroup size from the one override in
    /// [`DISPATCH`], whose default is the tunables' default, and no kernel fixes a size.
    #[test]
    fn stage_kernels_take_the_workgroup_size_override() {
        let default = crate::gpu::tunables::DEFAULT_WORKGROUP_SIZE;
        assert!(DISPATCH.text.contains(&format!(
            "override {}: u32 = {default}u;",
            crate::gpu::pass::WORKGROUP_SIZE_CONSTANT
        )));
        for module in [&HASH, &MERKLE, &STATE_LEAVES, &RESOLVE, &EXEC, &EXEC_PROBE] {
            let source = module.source();
            assert_eq!(module.pieces[0].path, DISPATCH.path, "{}", module.name);
            let sized = source.matches("@workgroup_size(").count();
            assert_eq!(sized, module.entry_points.len(), "{}", module.name);
            assert_eq!(
                source.matches("@workgroup_size(WORKGROUP_SIZE)").count(),
                sized,
                "{}: a kernel with a fixed workgroup size",
                module.name
            );
        }
    }
}
