//! Pipeline stage 2, hash: transaction ids and batch BLAKE3.
//!
//! `cpu.rs` hashes with the `blake3` crate over rayon; [`crate::Engine`] chooses the backend.

pub mod cpu;
