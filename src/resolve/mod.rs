//! Pipeline stage 4, resolve: map public keys to account indices and create the accounts
//! a block names, exactly as docs/SPEC.md (Resolve order) orders it.
//!
//! In block order, for every tx that passed steps 1–2 (decodes, signature valid), an
//! unknown transfer recipient is created, then the block's fee collector if unknown. This
//! happens before any tx executes, so step 3 (unknown signer) sees these accounts.
//!
//! Looking up existing accounts is order-free: [`cpu::known_accounts`] (a `HashMap` over
//! rayon) and [`gpu::GpuResolver::known_accounts`] (a hash table kept on the device beside
//! the resident pubkeys) give the same answer with the same signature. Creating the
//! accounts a block names is the sequential walk of [`resolve_known`], on the CPU for
//! both backends.

pub mod cpu;
pub mod gpu;

use rayon::prelude::*;

use crate::receipt::Status;
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
    /// tx still takes a wave (docs/SPEC.md, Conflicts and waves: only steps 1–2 take none), keyed by its signer's
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

/// The accounts and pools a resolved block may write, each sorted and without repeats:
/// the signer and transfer recipient of every tx that reaches execution, the fee
/// collector, and the existing pools those txs swap in. Nothing else can change, so this
/// is what the undo log saves, what the GPU executor gathers back, and which kept account
/// leaves the commit stage rehashes (CPU tree and GPU leaves alike).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writable {
    /// Account indices.
    pub accounts: Vec<u32>,
    /// Pool indices, all below the pool count.
    pub pools: Vec<u32>,
}

impl ResolvedBlock {
    /// What this block may write in a state with `pool_count` pools (see [`Writable`]).
    pub fn writable(&self, pool_count: usize) -> Writable {
        let mut accounts = Vec::new();
        let mut pools = Vec::new();
        for r in &self.txs {
            if let Resolved::Ready(tx) = r {
                accounts.push(tx.signer);
                if tx.recipient != NO_ACCOUNT {
                    accounts.push(tx.recipient);
                }
                if let Action::Swap(s) = tx.tx.action
                    && (s.pool as usize) < pool_count
                {
                    pools.push(s.pool);
                }
            }
        }
        if self.fee_collector != NO_ACCOUNT {
            accounts.push(self.fee_collector);
        }
        accounts.sort_unstable();
        accounts.dedup();
        pools.sort_unstable();
        pools.dedup();
        Writable { accounts, pools }
    }
}

/// Resolves a block. `checked[i]` is tx `i` decoded (`None` = malformed) and `sig_ok[i]`
/// whether its signature passed (ignored when malformed).
pub fn resolve(
    state: &mut State,
    block: &Block,
    checked: &[Option<Tx>],
    sig_ok: &[bool],
) -> ResolvedBlock {
    let known = cpu::known_accounts(state, checked, sig_ok);
    resolve_known(state, block, checked, sig_ok, known)
}

/// The keys [`cpu::known_accounts`] looks up, in order: for every tx that decoded and passed
/// its signature check, the signer, then the recipient of a transfer (for a GPU lookup).
pub fn lookup_keys(checked: &[Option<Tx>], sig_ok: &[bool]) -> Vec<[u8; 32]> {
    let mut keys = Vec::with_capacity(2 * checked.len());
    for (tx, &ok) in checked.iter().zip(sig_ok) {
        if let Some(tx) = tx.as_ref().filter(|_| ok) {
            keys.push(tx.signer);
            if let Action::Transfer(t) = tx.action {
                keys.push(t.to);
            }
        }
    }
    keys
}

/// [`cpu::known_accounts`] from the results of looking up [`lookup_keys`] (`NO_ACCOUNT` =
/// none); `None` if `found` has the wrong length.
pub fn known_from_lookups(
    checked: &[Option<Tx>],
    sig_ok: &[bool],
    found: &[u32],
) -> Option<Vec<(Option<u32>, Option<u32>)>> {
    let mut it = found.iter().map(|&i| (i != NO_ACCOUNT).then_some(i));
    let known = checked
        .iter()
        .zip(sig_ok)
        .map(|(tx, &ok)| match tx.as_ref().filter(|_| ok) {
            Some(tx) => {
                let signer = it.next()?;
                let recipient = match tx.action {
                    Action::Transfer(_) => it.next()?,
                    Action::Swap(_) => None,
                };
                Some((signer, recipient))
            }
            None => Some((None, None)),
        })
        .collect::<Option<Vec<_>>>()?;
    it.next().is_none().then_some(known)
}

/// Resolves a block given the lookups of [`cpu::known_accounts`] against `state` as it is:
/// creates the accounts the block names in the resolve order of docs/SPEC.md, then maps every tx.
pub fn resolve_known(
    state: &mut State,
    block: &Block,
    checked: &[Option<Tx>],
    sig_ok: &[bool],
    known: Vec<(Option<u32>, Option<u32>)>,
) -> ResolvedBlock {
    let accounts_before = state.account_count();
    // Only the accounts this block creates need the serial pass and a second lookup.
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
