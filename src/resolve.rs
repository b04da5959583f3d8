//! Pipeline stage 4, resolve: map public keys to account indices and create the accounts
//! a block names, exactly as DESIGN.md orders it.
//!
//! In block order, for every tx that passed steps 1–2 (decodes, signature valid), an
//! unknown transfer recipient is created, then the block's fee collector if unknown. This
//! happens before any tx executes, so step 3 (unknown signer) sees these accounts.

use rayon::prelude::*;

use crate::exec::Status;
use crate::state::State;
use crate::tx::{Action, Block, Tx};

/// Sentinel for "no account" in index columns.
pub const NO_ACCOUNT: u32 = u32::MAX;

/// One tx after steps 1–3: either a final status, or the account indices it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Finished at steps 1–2: malformed or bad signature. Takes no wave.
    Rejected(Status),
    /// Finished at step 3: the signer account does not exist. Nothing executes, but the
    /// tx still takes a wave (DESIGN.md: only steps 1–2 take none), keyed by its signer's
    /// public key and its credits.
    UnknownSigner {
        /// The unknown signer's public key.
        signer: [u8; 32],
        /// Transfer recipient index, or [`NO_ACCOUNT`] for a swap.
        recipient: u32,
    },
    /// Goes on to execution.
    Ready(ReadyTx),
}

/// A tx ready for steps 4–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyTx {
    /// The decoded tx.
    pub tx: Tx,
    /// Signer account index.
    pub signer: u32,
    /// Transfer recipient index, or [`NO_ACCOUNT`] for a swap.
    pub recipient: u32,
}

/// A block after resolve.
#[derive(Debug, Clone)]
pub struct ResolvedBlock {
    /// One entry per tx, block order.
    pub txs: Vec<Resolved>,
    /// Fee collector index; [`NO_ACCOUNT`] when no tx passed steps 1–2 (then it is not
    /// created and no tx reaches execution).
    pub fee_collector: u32,
    /// Number of accounts before resolve created any.
    pub accounts_before: usize,
}

/// Resolves a block. `checked[i]` is tx `i` decoded (`None` = malformed) and `sig_ok[i]`
/// whether its signature passed (ignored when malformed).
pub fn resolve(
    state: &mut State,
    block: &Block,
    checked: &[Option<Tx>],
    sig_ok: &[bool],
) -> ResolvedBlock {
    let accounts_before = state.account_count();
    // Lookups against the accounts before the block, in parallel; only the accounts this
    // block creates need the serial pass (DESIGN order) and a second lookup.
    let known: Vec<(Option<u32>, Option<u32>)> = checked
        .par_iter()
        .zip(sig_ok)
        .with_min_len(1024)
        .map(|(tx, &ok)| match tx {
            Some(tx) if ok => (
                state.account_index(&tx.signer),
                match tx.action {
                    Action::Transfer(t) => state.account_index(&t.to),
                    Action::Swap(_) => None,
                },
            ),
            _ => (None, None),
        })
        .collect();
    let mut fee_collector = NO_ACCOUNT;
    for ((tx, &ok), &(_, recipient)) in checked.iter().zip(sig_ok).zip(&known) {
        let Some(tx) = tx else { continue };
        if !ok {
            continue;
        }
        if let (Action::Transfer(t), None) = (tx.action, recipient) {
            state.create_account(t.to);
        }
        if fee_collector == NO_ACCOUNT {
            fee_collector = state.create_account(block.fee_collector);
        }
    }
    let state = &*state;
    let txs = checked
        .par_iter()
        .zip(sig_ok)
        .zip(known)
        .with_min_len(1024)
        .map(|((tx, &ok), (signer, recipient))| match tx {
            None => Resolved::Rejected(Status::Malformed),
            Some(_) if !ok => Resolved::Rejected(Status::BadSignature),
            Some(tx) => {
                let recipient = match tx.action {
                    Action::Transfer(t) => recipient.unwrap_or_else(|| {
                        state
                            .account_index(&t.to)
                            .expect("resolve created every recipient")
                    }),
                    Action::Swap(_) => NO_ACCOUNT,
                };
                // A signer unknown before the block may be one it created.
                match signer.or_else(|| state.account_index(&tx.signer)) {
                    None => Resolved::UnknownSigner {
                        signer: tx.signer,
                        recipient,
                    },
                    Some(signer) => Resolved::Ready(ReadyTx {
                        tx: *tx,
                        signer,
                        recipient,
                    }),
                }
            }
        })
        .collect();
    ResolvedBlock {
        txs,
        fee_collector,
        accounts_before,
    }
}
