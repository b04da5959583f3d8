// Ed25519 verification, one invocation per signature. CPU twin of verify_item:
// src/verify/twin/mod.rs. Layout structs are kept in sync with src/verify/layout.rs
// (VerifyParams, ItemDesc; see the layout test in src/verify/gpu_tests.rs).
//
// Both shapes of the verifier compose this file after their curve piece (curve25519.wgsl,
// the register shape, or curve25519_straight.wgsl), which provides point_ops_init,
// point_decompress, point_compress, cofactor_identity and
// point_double_scalar_mul_basepoint_with. The host sets the two overrides below per
// pipeline from a VerifyVariant (pipeline_constants in src/verify/gpu.rs); their defaults
// are the default variant's.
//
// Each item's record in `data` is S (8 words) | R (8 words) | A (8 words) | M, the message
// zero-padded to a whole word; the hash input R | A | M starts 8 words in.

// Keep in sync with RULE_STRICT / RULE_ZIP215 in src/verify/layout.rs.
const RULE_STRICT: u32 = 0u;
const RULE_ZIP215: u32 = 1u;
// Words of S | R | A at the start of each record.
const ITEM_HEADER_WORDS: u32 = 24u;

// Invocations per workgroup.
override WORKGROUP_SIZE: u32 = 64u;
// Whether [1..8]B is read from basepoint_table instead of computed per invocation.
override BASEPOINT_TABLE: bool = false;

struct VerifyParams {
    count: u32,
    rule: u32,
    pad0: u32,
    pad1: u32,
}

struct ItemDesc {
    offset_words: u32,
    message_len: u32,
}

@group(0) @binding(0) var<uniform> params: VerifyParams;
@group(0) @binding(1) var<storage, read> items: array<ItemDesc>;
@group(0) @binding(2) var<storage, read> data: array<u32>;
@group(0) @binding(3) var<storage, read_write> results: array<u32>;
// [1..8]B in extended coordinates, uploaded once by the host (read only with
// BASEPOINT_TABLE).
@group(0) @binding(4) var<storage, read> basepoint_table: array<EdwardsPoint, 8>;

// [j + 1]B from the host's table. Read where a digit needs it, one point at a time: a
// local copy of the whole table (640 words) made lavapipe's LLVM spend minutes allocating
// registers.
fn basepoint_multiple(j: u32) -> EdwardsPoint {
    return basepoint_table[j];
}

fn load_data_word(index: u32) -> u32 {
    return data[index];
}

fn load_words8(at: u32) -> array<u32, 8> {
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        w[i] = data[at + i];
    }
    return w;
}

// 1 if the item verifies under `rule`, else 0.
fn verify_item(rule: u32, item: ItemDesc) -> u32 {
    let base = item.offset_words;
    // Records outside `data` verify as 0 (the host never writes such a descriptor).
    let message_words = item.message_len / 4u + select(0u, 1u, item.message_len % 4u != 0u);
    if (base + ITEM_HEADER_WORDS + message_words > arrayLength(&data)) {
        return 0u;
    }
    let s = load_words8(base);
    let r = load_words8(base + 8u);
    let a = load_words8(base + 16u);
    // Both rules: S must be canonical (S < l) and A must decompress.
    if (!sc_is_canonical(s)) {
        return 0u;
    }
    point_ops_init();
    // Decompress -A (A's encoding with the sign bit flipped decompresses to exactly -A),
    // and under zip215 also R, in one loop: the shader then holds one copy of it.
    var encodings = array<array<u32, 8>, 2>(a, r);
    encodings[0][7] ^= 0x80000000u;
    let count = select(2u, 1u, rule == RULE_STRICT);
    var points = array<EdwardsPoint, 2>(point_identity(), point_identity());
    for (var n = 0u; n < count; n++) {
        let d = point_decompress(encodings[n]);
        if (!d.valid) {
            return 0u;
        }
        points[n] = d.point;
    }
    let minus_a = points[0];
    // k = SHA-512(R | A | M) mod l, with R and A as given (not re-encoded).
    let digest = sha512_words(base + 8u, 64u + item.message_len);
    let k = sc_reduce_wide(digest);
    // R' = [S]B - [k]A.
    let r_prime = point_double_scalar_mul_basepoint_with(k, minus_a, s, BASEPOINT_TABLE);
    if (rule == RULE_STRICT) {
        // ed25519-dalek verify_strict: A and R not of small order, and the canonical
        // encoding of R' equals the R bytes (cofactorless). When the bytes match, R is R',
        // so R's small-order test is done on R' and R need not be decompressed.
        let small = cofactor_identity(array<EdwardsPoint, 2>(minus_a, r_prime), 2u, false, point_identity());
        if (small[0] || small[1]) {
            return 0u;
        }
        let encoded = point_compress(r_prime);
        for (var i = 0u; i < 8u; i++) {
            if (encoded[i] != r[i]) {
                return 0u;
            }
        }
        return 1u;
    }
    // ed25519-zebra: R must decompress (non-canonical encodings allowed) and [8](R' - R)
    // must be the identity (cofactored).
    let zero = cofactor_identity(array<EdwardsPoint, 2>(r_prime, point_identity()), 1u, true, points[1]);
    return select(0u, 1u, zero[0]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn verify_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let index = gid.x;
    if (index >= params.count) {
        return;
    }
    results[index] = verify_item(params.rule, items[index]);
}
