//! CPU twins of the WGSL verifier, one Rust function per WGSL function, same names, same
//! loop shapes and the same 13-bit-limb layout, so a GPU result can be compared bit for bit
//! with a CPU result and each shader can be read beside its twin.
//!
//! | WGSL file | twin |
//! |---|---|
//! | `shaders/shared/field25519.wgsl` | [`field`] |
//! | `shaders/shared/sha512.wgsl` | [`sha512`] |
//! | `shaders/shared/scalar25519.wgsl` | [`scalar`] |
//! | `shaders/shared/curve25519.wgsl` | [`curve`] |
//! | `shaders/stages/verify.wgsl` (`verify_main`) | [`verify_item`] |
//!
//! The twins are slow (the field uses 13-bit limbs, chosen for 32-bit GPU arithmetic); they
//! exist for tests, not as a CPU backend.

// Index loops on purpose: each twin keeps the loop shape of its WGSL function.
#![allow(clippy::needless_range_loop)]

pub mod curve;
pub mod field;
pub mod scalar;
pub mod sha512;

use field::FieldRegs;

use super::layout::{ITEM_HEADER_WORDS, ItemDesc, RULE_STRICT};

fn words_at(data: &[u32], at: u32) -> Option<[u32; 8]> {
    let start = at as usize;
    data.get(start..start + 8)?.try_into().ok()
}

/// Twin of `verify_item` in `shaders/stages/verify.wgsl`: 1 if the item packed at `item` in `data`
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
    let mut regs = FieldRegs::new();
    // Decompress −A (A's encoding with the sign bit flipped decompresses to exactly −A),
    // and under zip215 also R, in one loop: the shader then holds one copy of it.
    let mut encodings = [a, r];
    encodings[0][7] ^= 0x8000_0000;
    let count = if rule == RULE_STRICT { 1 } else { 2 };
    let mut points = [curve::IDENTITY; 2];
    for n in 0..count {
        match curve::decompress(&mut regs, encodings[n]) {
            Some(p) => points[n] = p,
            None => return 0,
        }
    }
    let minus_a = points[0];
    // k = SHA-512(R ‖ A ‖ M) mod ℓ, with R and A as given (not re-encoded).
    let digest = sha512::sha512_words(data, base + 8, 64 + item.message_len);
    let k = scalar::reduce_wide(digest);
    // R' = [S]B − [k]A.
    let r_prime = curve::double_scalar_mul_basepoint(&mut regs, k, minus_a, s);
    if rule == RULE_STRICT {
        // ed25519-dalek verify_strict: A and R not of small order, and the canonical
        // encoding of R' equals the R bytes (cofactorless). When the bytes match, R is R',
        // so R's small-order test is done on R' and R need not be decompressed.
        let small = curve::cofactor_identity(&mut regs, &[minus_a, r_prime], None);
        if small[0] || small[1] {
            return 0;
        }
        u32::from(curve::compress(&mut regs, r_prime) == r)
    } else {
        // ed25519-zebra: R must decompress (non-canonical encodings allowed) and
        // [8](R' − R) must be the identity (cofactored).
        let zero = curve::cofactor_identity(&mut regs, &[r_prime], Some(points[1]));
        u32::from(zero[0])
    }
}

#[cfg(test)]
pub(crate) mod tests;
