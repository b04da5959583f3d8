//! CPU twins of the WGSL verifier, one Rust function per WGSL function, same names, same
//! loop shapes and the same 13-bit-limb layout, so a GPU result can be compared bit for bit
//! with a CPU result and each shader can be read beside its twin.
//!
//! | WGSL file | twin |
//! |---|---|
//! | `shaders/field25519.wgsl` | [`field`] |
//! | `shaders/sha512.wgsl` | [`sha512`] |
//! | `shaders/scalar25519.wgsl` | [`scalar`] |
//! | `shaders/curve25519.wgsl` | [`curve`] |
//! | `shaders/verify.wgsl` (`verify_main`) | [`verify_item`] |
//!
//! The twins are slow (the field uses 13-bit limbs, chosen for 32-bit GPU arithmetic); they
//! exist for tests, not as a CPU backend.

pub mod curve;
pub mod field;
pub mod scalar;
pub mod sha512;

use super::gpu::{ItemDesc, RULE_STRICT};

/// Bytes of S ‖ R ‖ A that open each item's record in the packed data buffer.
pub const ITEM_HEADER_WORDS: u32 = 24;

fn words_at(data: &[u32], at: u32) -> Option<[u32; 8]> {
    let start = at as usize;
    data.get(start..start + 8)?.try_into().ok()
}

/// Twin of `verify_item` in `shaders/verify.wgsl`: 1 if the item packed at `item` in `data`
/// verifies under `rule` (`RULE_STRICT` or `RULE_ZIP215`), else 0. Records outside `data`
/// give 0.
pub fn verify_item(rule: u32, item: ItemDesc, data: &[u32]) -> u32 {
    let base = item.offset_words;
    let (Some(s), Some(r), Some(a)) = (
        words_at(data, base),
        words_at(data, base + 8),
        words_at(data, base + 16),
    ) else {
        return 0;
    };
    if (base + ITEM_HEADER_WORDS) as usize + (item.message_len as usize).div_ceil(4) > data.len() {
        return 0;
    }
    // Both rules: S must be canonical (S < ℓ) and A must decompress.
    if !scalar::is_canonical(s) {
        return 0;
    }
    let Some(point_a) = curve::decompress(a) else {
        return 0;
    };
    // k = SHA-512(R ‖ A ‖ M) mod ℓ, with R and A as given (not re-encoded).
    let digest = sha512::sha512_words(data, base + 8, 64 + item.message_len);
    let k = scalar::reduce_wide(digest);
    // R' = [S]B − [k]A.
    let r_prime = curve::double_scalar_mul_basepoint(k, curve::point_neg(point_a), s);
    if rule == RULE_STRICT {
        // ed25519-dalek verify_strict: A and R not of small order, and the canonical
        // encoding of R' equals the R bytes (cofactorless). When the bytes match, R is R',
        // so R's small-order test is done on R' and R need not be decompressed.
        if curve::is_small_order(point_a) {
            return 0;
        }
        if curve::compress(r_prime) != r {
            return 0;
        }
        u32::from(!curve::is_small_order(r_prime))
    } else {
        // ed25519-zebra: R must decompress (non-canonical encodings allowed) and
        // [8](R − R') must be the identity (cofactored).
        let Some(point_r) = curve::decompress(r) else {
            return 0;
        };
        let diff = curve::point_add(point_r, curve::point_neg(r_prime));
        u32::from(curve::is_identity(curve::mul_by_cofactor(diff)))
    }
}

#[cfg(test)]
mod tests;
