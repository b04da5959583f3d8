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
//!
//! Resolve also lists, once, the keys every tx touches and their modes (`resolve/access.rs`); the
//! later stages read those lists instead of deriving keys from the txs again.

pub(crate) mod access;
pub mod cpu;
pub mod gpu;

use std::collections::HashMap;

use rayon::prelude::*;

use access::{Access, AccessLists, Key, Mode, Named, named_accesses};

use crate::receipt::{Amounts, Receipt, Status};
use crate::state::State;
use crate::tx::{Block, Tx};

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
    /// The keys every tx touches, with their modes (`access`): empty for a tx rejected
    /// at steps 1–2; for an unknown signer, its [`Key::UnknownSigner`] and its credits.
    pub(crate) accesses: AccessLists<Key>,
    /// Distinct unknown signers: every `Key::UnknownSigner` of `accesses` is below it.
    pub(crate) unknown_signers: u32,
    /// One more than the largest pool id of `accesses` (0 if none; `u32::MAX` if the id
    /// `u32::MAX` is named).
    pub(crate) pool_id_bound: u32,
    /// Kind byte of every tx that decoded, 0 for a malformed one: the shape of its
    /// receipt's amounts.
    pub(crate) kinds: Vec<u8>,
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
    /// The receipt of tx `i` with id `tx_id` from its executor's result (status and
    /// amounts, `exec::ExecResult`): the amounts of
    /// an applied tx, else the zero amounts of its kind (docs/FORMATS.md, Roots).
    pub fn receipt(&self, i: usize, tx_id: [u8; 32], result: (Status, Amounts)) -> Receipt {
        let (status, amounts) = result;
        let amounts = match status {
            Status::Ok => amounts,
            _ => Amounts::zero_of_kind(Some(self.kinds[i]).filter(|&k| k != 0)),
        };
        Receipt {
            tx_id,
            status,
            amounts,
        }
    }

    /// What this block may write in a state with `pool_count` pools (see [`Writable`]):
    /// the Write and Credit keys of every tx that reaches execution, and the fee
    /// collector, which resolve created or found for this block.
    pub fn writable(&self, pool_count: usize) -> Writable {
        let mut accounts = Vec::new();
        let mut pools = Vec::new();
        for (i, r) in self.txs.iter().enumerate() {
            if !matches!(r, Resolved::Ready(_)) {
                continue;
            }
            for a in self.accesses.of(i) {
                let writes = match a.mode {
                    Mode::Write | Mode::Credit => true,
                    Mode::Read => false,
                };
                match a.key {
                    Key::Account(k) if writes => accounts.push(k),
                    Key::Pool(p) if writes && (p as usize) < pool_count => pools.push(p),
                    Key::Account(_) | Key::Pool(_) => {}
                    // A ready tx's signer is an account.
                    Key::UnknownSigner(_) => {}
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
            if let Some(to) = tx.recipient() {
                keys.push(to);
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
                let recipient = match tx.recipient() {
                    Some(_) => it.next()?,
                    None => None,
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
        if let (Some(to), None) = (tx.recipient(), recipient) {
            state.create_account(to);
        }
        if fee_collector == NO_ACCOUNT {
            fee_collector = state.create_account(block.fee_collector);
        }
    }
    let state = &*state;
    let txs: Vec<Resolved> = checked
        .par_iter()
        .zip(sig_ok)
        .zip(known)
        .with_min_len(1024)
        .map(|((tx, &ok), (signer, recipient))| match tx {
            None => Resolved::Rejected(Status::Malformed),
            Some(_) if !ok => Resolved::Rejected(Status::BadSignature),
            Some(tx) => {
                let recipient = match tx.recipient() {
                    Some(to) => recipient.unwrap_or_else(|| {
                        state
                            .account_index(&to)
                            .expect("resolve created every recipient")
                    }),
                    None => NO_ACCOUNT,
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
    let (accesses, unknown_signers) = access_lists(&txs, checked, fee_collector);
    let pool_id_bound = accesses
        .items()
        .iter()
        .filter_map(|a| match a.key {
            Key::Pool(p) => Some(p.saturating_add(1)),
            Key::Account(_) | Key::UnknownSigner(_) => None,
        })
        .max()
        .unwrap_or(0);
    let kinds = checked
        .iter()
        .map(|tx| tx.as_ref().map_or(0, |tx| tx.action.kind()))
        .collect();
    ResolvedBlock {
        txs,
        fee_collector,
        accounts_before,
        accesses,
        unknown_signers,
        pool_id_bound,
        kinds,
    }
}

/// Every tx's keys, from its kind's [`named_accesses`]. A tx rejected at steps 1–2 has
/// none. A ready tx's names map to its accounts and pools. A tx whose signer is unknown
/// executes nothing after step 3: it keeps its signer, as a [`Key::UnknownSigner`] in
/// Write mode, and its credits (accounts resolve created for it), and drops the other
/// keys, which it neither reads nor writes. Returns the lists and the number of distinct
/// unknown signers.
fn access_lists(
    txs: &[Resolved],
    checked: &[Option<Tx>],
    fee_collector: u32,
) -> (AccessLists<Key>, u32) {
    let mut lists = AccessLists::with_capacity(txs.len(), 3);
    let mut unknown: HashMap<[u8; 32], u32> = HashMap::new();
    for (r, tx) in txs.iter().zip(checked) {
        match r {
            Resolved::Rejected(_) => lists.push([]),
            Resolved::Ready(t) => {
                let key = |n: Named| match n {
                    Named::Signer => Key::Account(t.signer),
                    Named::Recipient => Key::Account(t.recipient),
                    Named::Pool(p) => Key::Pool(p),
                    Named::FeeCollector => Key::Account(fee_collector),
                };
                lists.push(
                    named_accesses(&t.tx.action)
                        .as_slice()
                        .iter()
                        .map(|a| Access {
                            key: key(a.key),
                            mode: a.mode,
                        }),
                );
            }
            Resolved::UnknownSigner { signer, recipient } => {
                let next = unknown.len() as u32;
                let slot = *unknown.entry(*signer).or_insert(next);
                let kept = |a: &Access<Named>| match (a.key, a.mode) {
                    (Named::Signer, _) => Some(Access {
                        key: Key::UnknownSigner(slot),
                        mode: Mode::Write,
                    }),
                    (Named::Recipient, Mode::Credit) => Some(Access {
                        key: Key::Account(*recipient),
                        mode: Mode::Credit,
                    }),
                    (Named::FeeCollector, Mode::Credit) => Some(Access {
                        key: Key::Account(fee_collector),
                        mode: Mode::Credit,
                    }),
                    (Named::Pool(p), Mode::Credit) => Some(Access {
                        key: Key::Pool(p),
                        mode: Mode::Credit,
                    }),
                    (Named::Recipient | Named::FeeCollector | Named::Pool(_), Mode::Read)
                    | (Named::Recipient | Named::FeeCollector | Named::Pool(_), Mode::Write) => {
                        None
                    }
                };
                // Only a decoded tx gets past step 2.
                let named = tx.as_ref().map(|tx| named_accesses(&tx.action));
                lists.push(named.iter().flat_map(|n| n.as_slice()).filter_map(kept));
            }
        }
    }
    (lists, unknown.len() as u32)
}
