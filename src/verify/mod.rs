//! Pipeline stage 3, verify: Ed25519 signature checks under the chain's rule.
//!
//! `cpu.rs` runs txwave's own verifiers over rayon: `strict.rs` (ed25519-dalek
//! `verify_strict`'s checks) and `batch.rs` (ZIP-215 batches, ed25519-zebra's verdicts),
//! both on the decompressed keys of `cache.rs`; `gpu.rs` runs the WGSL verifier.
//! [`crate::Engine`] chooses between them.

pub mod batch;
pub mod cache;
pub mod cpu;
pub mod gpu;
pub mod layout;
pub mod strict;
pub mod twin;
pub mod wgsl_gen;

pub use crate::chain::VerifyRule;

/// One signature to check.
#[derive(Debug, Clone, Copy)]
pub struct SigCheck<'a> {
    /// Signer public key (compressed Edwards point A).
    pub public_key: [u8; 32],
    /// Signature R ‖ S.
    pub signature: [u8; 64],
    /// Signed message.
    pub message: &'a [u8],
}

/// The signature checks of a block's decoded txs (`decoded[i]` is tx `i`, `None` when it
/// is malformed and has nothing to check) and, for each check, the index of its tx.
pub fn block_checks<'a>(
    block: &'a crate::tx::Block,
    decoded: &[Option<crate::tx::Tx>],
) -> (Vec<SigCheck<'a>>, Vec<usize>) {
    decoded
        .iter()
        .enumerate()
        .filter_map(|(i, tx)| {
            tx.as_ref().map(|tx| {
                let check = SigCheck {
                    public_key: tx.signer,
                    signature: tx.signature,
                    message: &block.tx_bytes(i)[crate::tx::SIGNATURE_LEN..],
                };
                (check, i)
            })
        })
        .unzip()
}

/// Spreads the verdicts of [`block_checks`]'s checks back to one flag per tx (false for a
/// tx that had no check).
pub fn verdicts_per_tx(verdicts: Vec<bool>, check_of: &[usize], tx_count: usize) -> Vec<bool> {
    let mut ok = vec![false; tx_count];
    for (&i, v) in check_of.iter().zip(verdicts) {
        ok[i] = v;
    }
    ok
}
