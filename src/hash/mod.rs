//! Pipeline stage 2, hash: transaction ids and batch BLAKE3.
//!
//! [`cpu`] hashes with the `blake3` crate over rayon; [`gpu`] hashes many messages of any
//! length in WGSL (`shaders/shared/blake3_compress.wgsl`, `shaders/stages/hash.wgsl`); [`twin`] holds the
//! WGSL functions in Rust, loop for loop, as the reference the GPU is tested against.
//! [`crate::Engine`] chooses the backend.

pub mod cpu;
pub mod gpu;
pub mod twin;
