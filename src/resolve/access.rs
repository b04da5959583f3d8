//! The keys every tx touches and how (docs/SPEC.md, Conflicts and waves): one function
//! per kind lists them, resolve turns each tx's list into account and pool indices once,
//! and everything that needs keys reads those lists — the scheduler, the wave executor's
//! chains, the writable set (undo log, GPU gather list, commit rehash) and the GPU plan.
//!
//! Adding a kind starts here: its function in [`named_accesses`] (docs/NEW-KIND.md).

use crate::tx::{Action, AddLiquidity, MAX_HOPS, RemoveLiquidity, Route, Swap, Transfer};

/// How a tx uses a key.
///
/// | | Read | Write | Credit |
/// |---|---|---|---|
/// | **Read** | — | conflict | conflict |
/// | **Write** | conflict | conflict | conflict |
/// | **Credit** | conflict | conflict | — |
///
/// Reads of one key commute, and so do credits (additions that cannot fail: the genesis
/// supply bound); everything else keeps block order. Today's kinds use Write and Credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    /// The tx reads the key and changes nothing in it.
    // No kind reads without writing yet; the scheduler and the chains handle it already.
    #[allow(dead_code)]
    Read = 0,
    /// The tx reads and writes the key.
    Write = 1,
    /// The tx only adds to the key (a balance), reading nothing of it.
    Credit = 2,
}

impl Mode {
    /// Whether accesses of modes `self` and `other` to one key by two txs must keep their
    /// block order.
    #[inline]
    pub const fn conflicts(self, other: Mode) -> bool {
        match (self, other) {
            (Mode::Read, Mode::Read) | (Mode::Credit, Mode::Credit) => false,
            (Mode::Write, _) | (_, Mode::Write) => true,
            (Mode::Read, Mode::Credit) | (Mode::Credit, Mode::Read) => true,
        }
    }

    /// The one mode of a key named twice: the weakest mode that conflicts with whatever
    /// either of the two conflicts with. Read and Credit together are a Write (the tx
    /// reads what others may add to).
    #[inline]
    pub const fn join(self, other: Mode) -> Mode {
        match (self, other) {
            (Mode::Read, Mode::Read) => Mode::Read,
            (Mode::Credit, Mode::Credit) => Mode::Credit,
            (Mode::Write, _) | (_, Mode::Write) => Mode::Write,
            (Mode::Read, Mode::Credit) | (Mode::Credit, Mode::Read) => Mode::Write,
        }
    }
}

/// One key a tx touches, with its mode. Inside txwave `K` is `Named` as the tx names
/// it, then `Key` after resolve; callers of [`crate::waves`] bring their own key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access<K> {
    /// The key.
    pub key: K,
    /// How the tx uses it.
    pub mode: Mode,
}

/// A key as a tx names it, before resolve maps public keys to accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Named {
    /// The signer's account.
    Signer,
    /// The account a transfer pays (created by resolve when unknown).
    Recipient,
    /// A pool, by the id the tx names, whether or not it exists.
    Pool(u32),
    /// The block's fee collector.
    FeeCollector,
}

/// A key after resolve. `repr(u32)` with fixed discriminants so that [`Key::parts`]
/// compiles to two loads: the scheduler indexes tables by the kind instead of branching
/// on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub(crate) enum Key {
    /// An account index.
    Account(u32) = 0,
    /// A pool id as named (it may name no pool: such a key still orders the txs naming it,
    /// but no executor touches it).
    Pool(u32) = 1,
    /// The public key of a signer no account has, numbered in order of first appearance
    /// in the block: no account's key, so it meets only txs of the same unknown signer.
    UnknownSigner(u32) = 2,
}

/// Number of kinds of [`Key`]: [`Key::parts`] gives a kind below it.
pub(crate) const KEY_KINDS: usize = 3;

impl Key {
    /// (kind, index): the kind is the variant's discriminant, below [`KEY_KINDS`].
    #[inline]
    pub(crate) const fn parts(self) -> (usize, u32) {
        match self {
            Key::Account(i) => (0, i),
            Key::Pool(i) => (1, i),
            Key::UnknownSigner(i) => (2, i),
        }
    }
}

/// Most keys one kind names: a route's signer, its pools and the fee collector.
pub(crate) const MAX_NAMED: usize = 2 + MAX_HOPS;

/// The accesses one kind lists, at most [`MAX_NAMED`], in the order the kind names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NamedAccesses {
    items: [Access<Named>; MAX_NAMED],
    len: usize,
}

impl NamedAccesses {
    fn of<const N: usize>(list: [Access<Named>; N]) -> NamedAccesses {
        const { assert!(N <= MAX_NAMED) };
        let mut items = [Access {
            key: Named::Signer,
            mode: Mode::Write,
        }; MAX_NAMED];
        items[..N].copy_from_slice(&list);
        NamedAccesses { items, len: N }
    }

    /// The accesses, in the order the kind names them.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Access<Named>] {
        &self.items[..self.len]
    }
}

const fn named(key: Named, mode: Mode) -> Access<Named> {
    Access { key, mode }
}

/// Keys of a transfer: the signer (nonce and balances) is Write; the recipient and the
/// fee collector only receive, Credit.
fn transfer_accesses(_: &Transfer) -> NamedAccesses {
    NamedAccesses::of([
        named(Named::Signer, Mode::Write),
        named(Named::Recipient, Mode::Credit),
        named(Named::FeeCollector, Mode::Credit),
    ])
}

/// Keys of a swap: the signer and the pool (reserves read and written) are Write; the fee
/// collector is Credit.
fn swap_accesses(s: &Swap) -> NamedAccesses {
    NamedAccesses::of([
        named(Named::Signer, Mode::Write),
        named(Named::Pool(s.pool), Mode::Write),
        named(Named::FeeCollector, Mode::Credit),
    ])
}

/// Keys of a liquidity add or removal: the signer (balances of the pool's tokens and of
/// its LP token) and the pool (reserves and supply) are Write; the fee collector Credit.
fn liquidity_accesses(pool: u32) -> NamedAccesses {
    NamedAccesses::of([
        named(Named::Signer, Mode::Write),
        named(Named::Pool(pool), Mode::Write),
        named(Named::FeeCollector, Mode::Credit),
    ])
}

/// Keys of a route: the signer and every pool it names (in order) are Write, the fee
/// collector Credit. The pools are distinct (decode checks it).
fn route_accesses(r: &Route) -> NamedAccesses {
    let mut list = NamedAccesses::of([named(Named::Signer, Mode::Write)]);
    for &p in r.pools() {
        list.items[list.len] = named(Named::Pool(p), Mode::Write);
        list.len += 1;
    }
    list.items[list.len] = named(Named::FeeCollector, Mode::Credit);
    list.len += 1;
    list
}

/// The keys a tx of this action touches and their modes: the one place that says it.
#[inline]
pub(crate) fn named_accesses(action: &Action) -> NamedAccesses {
    match action {
        Action::Transfer(t) => transfer_accesses(t),
        Action::Swap(s) => swap_accesses(s),
        Action::AddLiquidity(AddLiquidity { pool, .. })
        | Action::RemoveLiquidity(RemoveLiquidity { pool, .. }) => liquidity_accesses(*pool),
        Action::Route(r) => route_accesses(r),
    }
}

/// One access list per tx of a block, stored back to back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLists<K> {
    /// `items[starts[i]..starts[i + 1]]` is tx `i`'s list; `starts.len()` = txs + 1.
    starts: Vec<u32>,
    items: Vec<Access<K>>,
}

impl<K: PartialEq> Default for AccessLists<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: PartialEq> AccessLists<K> {
    /// No lists yet.
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// Room for `txs` lists of about `per_tx` accesses.
    pub fn with_capacity(txs: usize, per_tx: usize) -> Self {
        let mut starts = Vec::with_capacity(txs + 1);
        starts.push(0);
        AccessLists {
            starts,
            items: Vec::with_capacity(txs * per_tx),
        }
    }

    /// Appends the next tx's list. A key named twice is kept once, at its first place,
    /// with the [`Mode::join`] of its modes (a self-transfer's recipient is its signer: one
    /// Write). Finding a repeated key compares with the list's earlier keys, so a list
    /// is meant to be short (tens of keys).
    ///
    /// Panics if the lists would hold 2^32 accesses or more in all.
    #[inline]
    pub fn push(&mut self, accesses: impl IntoIterator<Item = Access<K>>) {
        let start = *self.starts.last().expect("starts holds at least 0") as usize;
        for a in accesses {
            match self.items[start..].iter_mut().find(|b| b.key == a.key) {
                Some(b) => b.mode = b.mode.join(a.mode),
                None => self.items.push(a),
            }
        }
        // A block holds fewer than 2^32 txs of at most MAX_NAMED keys; a caller of
        // `waves` may push more.
        let end = u32::try_from(self.items.len()).expect("fewer than 2^32 accesses in all");
        self.starts.push(end);
    }

    /// Number of lists (txs).
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether no list was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every list, back to back.
    pub fn items(&self) -> &[Access<K>] {
        &self.items
    }

    /// Tx `i`'s list. Panics if `i >= len()`.
    #[inline]
    pub fn of(&self, i: usize) -> &[Access<K>] {
        &self.items[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::Direction;

    const MODES: [Mode; 3] = [Mode::Read, Mode::Write, Mode::Credit];

    #[test]
    fn conflict_table_is_the_documented_one() {
        // Rows and columns Read, Write, Credit (docs/SPEC.md, Conflicts and waves).
        let table = [[false, true, true], [true, true, true], [true, true, false]];
        for (i, a) in MODES.iter().enumerate() {
            for (j, b) in MODES.iter().enumerate() {
                assert_eq!(a.conflicts(*b), table[i][j], "{a:?} × {b:?}");
            }
        }
    }

    #[test]
    fn join_conflicts_with_exactly_what_either_mode_conflicts_with() {
        for a in MODES {
            for b in MODES {
                let j = a.join(b);
                assert_eq!(j, b.join(a), "join is symmetric");
                for c in MODES {
                    assert_eq!(
                        j.conflicts(c),
                        a.conflicts(c) || b.conflicts(c),
                        "{a:?} ⊔ {b:?} = {j:?} against {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_kind_lists_its_keys_once() {
        let transfer = Action::Transfer(Transfer {
            to: [7; 32],
            token: 1,
            amount: 5,
        });
        let swap = Action::Swap(Swap {
            pool: 9,
            direction: Direction::BtoA,
            amount_in: 5,
            min_out: 0,
        });
        assert_eq!(
            named_accesses(&transfer).as_slice(),
            [
                named(Named::Signer, Mode::Write),
                named(Named::Recipient, Mode::Credit),
                named(Named::FeeCollector, Mode::Credit),
            ]
        );
        assert_eq!(
            named_accesses(&swap).as_slice(),
            [
                named(Named::Signer, Mode::Write),
                named(Named::Pool(9), Mode::Write),
                named(Named::FeeCollector, Mode::Credit),
            ]
        );
    }

    #[test]
    fn lists_merge_a_key_named_twice() {
        let a = |key, mode| Access { key, mode };
        let mut lists = AccessLists::with_capacity(3, 3);
        // A self-transfer signed by the fee collector: one key, Write.
        lists.push([
            a(Key::Account(4), Mode::Write),
            a(Key::Account(4), Mode::Credit),
            a(Key::Account(4), Mode::Credit),
        ]);
        lists.push([]);
        // Read and Credit of one key are a Write; distinct keys keep their order.
        lists.push([
            a(Key::Pool(4), Mode::Read),
            a(Key::Account(4), Mode::Credit),
            a(Key::Pool(4), Mode::Credit),
        ]);
        assert_eq!(lists.len(), 3);
        assert_eq!(lists.of(0), [a(Key::Account(4), Mode::Write)]);
        assert_eq!(lists.of(1), []);
        assert_eq!(
            lists.of(2),
            [
                a(Key::Pool(4), Mode::Write),
                a(Key::Account(4), Mode::Credit)
            ]
        );
    }
}
