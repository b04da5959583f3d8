//! Pipeline stage 2, hash: transaction ids and batch BLAKE3.
//!
//! [`gpu`] hashes many messages of any length in WGSL (`shaders/blake3_compress.wgsl`,
//! `shaders/hash.wgsl`); [`twin`] holds the same functions in Rust, loop for loop, as the
//! reference the GPU is tested against.

pub mod gpu;
pub mod twin;
