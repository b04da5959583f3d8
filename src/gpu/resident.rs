//! The device-resident copy of the state: the one owner of the columns that the GPU
//! resolve, execute and commit stages share, and of the rule for when that copy may be
//! trusted. Stages borrow the columns through [`ResidentState::with_columns`] (read only:
//! resolve, commit) and [`ResidentState::update`] (execute, which changes them on the
//! device and writes the same changes into the host state).
//!
//! # What is on the device
//! The state's columns as u32 pairs: nonces (two words per account), one balance column
//! per token (`account_cap` pairs each, so column `t` of account `a` is at pair
//! `t × account_cap + a`), the pools ([`PoolWords`]), the pubkeys (8 words per account) and
//! a pubkey → account hash table ([`AccountTable`]: keyed BLAKE3, linear probing, at most
//! half full, the longest probe run recorded so lookups are bounded). They are uploaded
//! once and kept; per block only the accounts appended since (their host values, zero by
//! construction) go up, with the table slots they changed. The host [`State`] stays the
//! source of truth.
//!
//! # When the copy is trusted
//! Only while the host state is provably the one it mirrors: the copy records the state's
//! [`SyncTag`] (identity and edit count: a clone is a new identity, any change to existing
//! values, a rollback included, is an edit) and the account count after the last block it
//! took part in. If the tag differs, accounts were removed, the token or pool count
//! changed, or the columns outgrow their capacity, the whole state is uploaded again. Any
//! error while the copy is being changed drops it. So a block rejected after execution (a
//! wrong claimed root: the engine rolls the host back) makes the next block upload
//! everything — correctness first; rejected blocks are rare.
//!
//! # Limits
//! The balance columns must fit one storage binding (`tokens × account_cap × 8` bytes), and
//! the pubkeys too (`account_cap × 32`); a larger state fails with an [`Error::Gpu`] of kind
//! [`GpuErrorKind::LimitExceeded`] and `Auto` runs that block on the CPU.

use std::sync::{Mutex, MutexGuard};

use super::GpuContext;
use super::pool::{BatchLimits, GrowBuffer, clear_all, limits_accessors, lock_or_reset};
use crate::error::{Error, GpuErrorKind, Result};
use crate::state::{Pool, State, SyncTag};

/// An empty table slot; keep in sync with `RESOLVE_EMPTY` in shaders/stages/resolve.wgsl.
pub const TABLE_EMPTY: u32 = u32::MAX;

/// A pool as the shaders read it. Keep in sync with `PoolWords` in
/// shaders/shared/pool_words.wgsl (read by exec.wgsl and state_leaves.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolWords {
    /// Token A.
    pub token_a: u32,
    /// Token B.
    pub token_b: u32,
    /// Fee in basis points.
    pub fee_bps: u32,
    /// The pool's LP token, or [`NO_LP_TOKEN`].
    pub lp_token: u32,
    /// Reserve of A (low, high).
    pub reserve_a: [u32; 2],
    /// Reserve of B (low, high).
    pub reserve_b: [u32; 2],
    /// LP shares in existence plus the locked minimum (low, high); 0 without an LP token.
    pub lp_supply: [u32; 2],
}

/// [`PoolWords::lp_token`] of a pool without LP shares; keep in sync with `NO_LP_TOKEN` in
/// shaders/shared/pool_words.wgsl. Token indices are u16, so it is no token.
pub const NO_LP_TOKEN: u32 = u32::MAX;

/// A u64 as (low word, high word), as the columns store it.
pub fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

/// The u64 of (low word, high word).
pub fn join(w: [u32; 2]) -> u64 {
    u64::from(w[0]) | (u64::from(w[1]) << 32)
}

/// A pool in the shaders' layout.
pub fn pool_words(p: &Pool) -> PoolWords {
    PoolWords {
        token_a: u32::from(p.token_a),
        token_b: u32::from(p.token_b),
        fee_bps: u32::from(p.fee_bps),
        lp_token: p.lp_token.map_or(NO_LP_TOKEN, u32::from),
        reserve_a: split(p.reserve_a),
        reserve_b: split(p.reserve_b),
        lp_supply: split(p.lp_supply),
    }
}

/// The 8 little-endian words of a 32-byte key.
pub fn key_words(k: &[u8; 32]) -> [u32; 8] {
    std::array::from_fn(|i| {
        u32::from_le_bytes([k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3]])
    })
}

/// The host copy of the device's pubkey → account table: slot `s` holds an account index
/// or [`TABLE_EMPTY`]; a pubkey's home slot is the first word of BLAKE3 keyed with the
/// table's key, masked to the table size, and collisions probe the following slots.
#[derive(Debug, Clone)]
pub struct AccountTable {
    key: [u8; 32],
    slots: Vec<u32>,
    max_probe: u32,
    accounts: usize,
}

impl AccountTable {
    /// A table of `slots` (a power of two) over `pubkeys`, keyed with `key`.
    ///
    /// # Panics
    /// If `slots` is not a power of two or cannot hold every pubkey at half load.
    pub fn new(key: [u8; 32], slots: usize, pubkeys: &[[u8; 32]]) -> Self {
        assert!(slots.is_power_of_two() && pubkeys.len() <= slots / 2);
        let mut t = AccountTable {
            key,
            slots: vec![TABLE_EMPTY; slots],
            max_probe: 0,
            accounts: 0,
        };
        t.append(pubkeys);
        t
    }

    /// The slots.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// The hash key, as the shader's 8 words.
    pub fn key_words(&self) -> [u32; 8] {
        key_words(&self.key)
    }

    /// Slot count − 1 (the slot count is a power of two).
    pub fn mask(&self) -> u32 {
        (self.slots.len() - 1) as u32
    }

    /// The longest probe run any pubkey needed: a lookup gives up after it.
    pub fn max_probe(&self) -> u32 {
        self.max_probe
    }

    /// Home slot of `pk` in this table.
    pub fn home_slot(&self, pk: &[u8; 32]) -> u32 {
        let digest = blake3::keyed_hash(&self.key, pk);
        let b = digest.as_bytes();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & self.mask()
    }

    /// Inserts `pubkeys` as the next accounts; returns the slots that changed.
    ///
    /// # Panics
    /// If the table would pass half load.
    pub fn append(&mut self, pubkeys: &[[u8; 32]]) -> Vec<u32> {
        assert!(self.accounts + pubkeys.len() <= self.slots.len() / 2);
        let mask = self.mask();
        let mut changed = Vec::with_capacity(pubkeys.len());
        for pk in pubkeys {
            let home = self.home_slot(pk);
            let mut p = 0u32;
            while self.slots[(home.wrapping_add(p) & mask) as usize] != TABLE_EMPTY {
                p += 1;
            }
            let slot = home.wrapping_add(p) & mask;
            self.slots[slot as usize] = self.accounts as u32;
            self.max_probe = self.max_probe.max(p);
            self.accounts += 1;
            changed.push(slot);
        }
        changed
    }
}

/// The device columns, as the stage kernels bind them.
#[derive(Debug, Clone, Copy)]
pub struct ResidentColumns<'a> {
    /// 8 words per account.
    pub pubkeys: &'a wgpu::Buffer,
    /// 2 words per account.
    pub nonces: &'a wgpu::Buffer,
    /// One column of `account_cap` u32 pairs per token.
    pub balances: &'a wgpu::Buffer,
    /// [`PoolWords`] per pool.
    pub pools: &'a wgpu::Buffer,
    /// Accounts per balance column.
    pub account_cap: usize,
}

/// The device's pubkey table and its host copy (for the lookup parameters).
#[derive(Debug, Clone, Copy)]
pub struct ResidentTable<'a> {
    /// The slots.
    pub buffer: &'a wgpu::Buffer,
    /// The host copy.
    pub host: &'a AccountTable,
}

/// How the state went up during one block: whether it went up whole, and how many
/// accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// The whole state was uploaded (first block, another state, a rollback, growth).
    pub full_upload: bool,
    /// Accounts uploaded.
    pub accounts_uploaded: usize,
}

/// What the device copy mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mirror {
    /// The state's tag after the last block this copy took part in.
    tag: SyncTag,
    /// Accounts on the device.
    accounts: usize,
    /// Accounts per balance column.
    account_cap: usize,
    tokens: usize,
    pools: usize,
}

#[derive(Debug)]
struct Columns {
    pubkeys: GrowBuffer,
    table: GrowBuffer,
    table_host: Option<AccountTable>,
    nonces: GrowBuffer,
    balances: GrowBuffer,
    pools: GrowBuffer,
    mirror: Option<Mirror>,
}

impl Columns {
    /// Drops every buffer and with them the device copy.
    fn clear(&mut self) {
        clear_all([
            &mut self.pubkeys,
            &mut self.table,
            &mut self.nonces,
            &mut self.balances,
            &mut self.pools,
        ]);
        self.mirror = None;
        self.table_host = None;
    }
}

/// The device-resident copy of one state at a time (see the module docs).
pub struct ResidentState {
    limits: BatchLimits,
    /// Hash key of the account table (random per copy, so pubkeys cannot be chosen to
    /// collide).
    table_key: [u8; 32],
    columns: Mutex<Columns>,
    last_sync: Mutex<SyncReport>,
}

impl std::fmt::Debug for ResidentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentState")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Bytes of a u64 column as u32 pairs (low word first), little-endian as the device reads.
fn column_bytes(col: &[u64]) -> Vec<u8> {
    col.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn limit_exceeded(what: String) -> Error {
    Error::gpu("resident upload", GpuErrorKind::LimitExceeded, what)
}

impl ResidentState {
    /// An empty copy for the device behind `ctx`: the first block uploads everything.
    pub fn new(ctx: &GpuContext) -> Self {
        let rw = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        ResidentState {
            limits: BatchLimits::of(ctx),
            table_key: rand10::random(),
            columns: Mutex::new(Columns {
                pubkeys: GrowBuffer::new("resident pubkeys", rw),
                table: GrowBuffer::new("resident account table", rw),
                table_host: None,
                nonces: GrowBuffer::new("resident nonces", rw),
                balances: GrowBuffer::new("resident balances", rw),
                pools: GrowBuffer::new("resident pools", rw),
                mirror: None,
            }),
            last_sync: Mutex::new(SyncReport::default()),
        }
    }

    limits_accessors!();

    fn lock(&self) -> MutexGuard<'_, Columns> {
        // A panic while holding the lock could leave a half-updated copy: drop it.
        lock_or_reset(&self.columns, |g| g.clear())
    }

    /// Drops the device copy: the next use uploads the whole state (after a kernel
    /// reported an internal error, its writes are not trusted).
    pub fn invalidate(&self) {
        self.lock().mirror = None;
    }

    /// How the state went up since [`ResidentState::begin_block`]: whether it went up
    /// whole, and how many accounts (resolve, execute and commit share this copy).
    pub fn last_sync(&self) -> SyncReport {
        *self.last_sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts counting a new block's uploads for [`ResidentState::last_sync`].
    pub fn begin_block(&self) {
        *self.last_sync.lock().unwrap_or_else(|p| p.into_inner()) = SyncReport::default();
    }

    /// Brings the copy up to date with `state` and hands its columns and account table to
    /// `f`, which only reads them (resolve lookups, commit leaves). An upload error drops
    /// the copy; an error of `f` leaves it.
    pub fn with_columns<T>(
        &self,
        ctx: &GpuContext,
        state: &State,
        f: impl FnOnce(ResidentColumns<'_>, ResidentTable<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let cols = &mut *guard;
        match self.sync(ctx, cols, state).and_then(|()| borrow(cols)) {
            Ok((columns, table)) => f(columns, table),
            Err(e) => {
                cols.clear();
                Err(e)
            }
        }
    }

    /// Brings the copy up to date with `state` and lets `f` change both: the device
    /// columns (through the kernels it runs) and the host `state` (the same changes, read
    /// back). When `f` succeeds the copy mirrors `state` as `f` left it; when it fails the
    /// copy is dropped (the device may hold changes the host does not), and `f` must leave
    /// `state` untouched then, so a CPU fallback starts from the same state.
    pub fn update<T>(
        &self,
        ctx: &GpuContext,
        state: &mut State,
        f: impl FnOnce(ResidentColumns<'_>, &mut State) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let cols = &mut *guard;
        let result = self
            .sync(ctx, cols, state)
            .and_then(|()| borrow(cols))
            .and_then(|(columns, _)| f(columns, state));
        match result {
            Ok(v) => {
                if let Some(m) = &mut cols.mirror {
                    m.tag = state.sync_tag();
                }
                Ok(v)
            }
            Err(e) => {
                cols.clear();
                Err(e)
            }
        }
    }

    /// Brings the device copy up to date with `state`: the appended accounts, or everything.
    fn sync(&self, ctx: &GpuContext, cols: &mut Columns, state: &State) -> Result<()> {
        let n = state.account_count();
        let tokens = state.tokens();
        let pools = state.pools().len();
        let cap_bytes = self.limits.max_binding_bytes;
        let incremental = cols.mirror.filter(|m| {
            cols.table_host.is_some()
                && m.tag == state.sync_tag()
                && m.tokens == tokens
                && m.pools == pools
                && m.accounts <= n
                && n <= m.account_cap
        });
        // The copy is invalid from here until the upload completes.
        cols.mirror = None;
        let (from, account_cap, full) = match incremental {
            Some(m) => (m.accounts, m.account_cap, false),
            None => {
                // The widest per-account column: the balances, or the 32-byte pubkeys.
                let column_bytes = |cap: usize| (cap as u64) * 8 * (tokens as u64).max(4);
                let fits = |cap: usize| column_bytes(cap) <= cap_bytes;
                let grown = n.max(1).next_power_of_two();
                let cap = if fits(grown) { grown } else { n.max(1) };
                if !fits(cap) {
                    return Err(limit_exceeded(format!(
                        "{n} accounts × {tokens} tokens need {}-byte columns (balances or pubkeys), above the device's {cap_bytes}-byte binding limit",
                        column_bytes(n)
                    )));
                }
                (0, cap, true)
            }
        };
        let cap_u64 = account_cap as u64;
        ctx.scoped("resident upload", || -> Result<()> {
            let (dev, queue) = (&ctx.device, &ctx.queue);
            if full {
                // Fresh buffers: whatever they held belongs to no state we know.
                cols.clear();
            }
            let pubkeys = cols.pubkeys.ensure(dev, 32 * cap_u64, cap_bytes);
            if n > from {
                queue.write_buffer(
                    pubkeys,
                    32 * from as u64,
                    bytemuck::cast_slice(&state.pubkeys()[from..n]),
                );
            }
            // The account table: rebuilt with the columns, else the appended accounts
            // inserted and only the changed slots written.
            let slots = (2 * account_cap).next_power_of_two();
            let table = cols.table.ensure(dev, 4 * slots as u64, cap_bytes);
            match (&mut cols.table_host, full) {
                (Some(host), false) => {
                    let changed = host.append(&state.pubkeys()[from..n]);
                    if changed.len() > slots / 64 {
                        queue.write_buffer(table, 0, bytemuck::cast_slice(host.slots()));
                    } else {
                        for slot in changed {
                            queue.write_buffer(
                                table,
                                4 * u64::from(slot),
                                bytemuck::bytes_of(&host.slots()[slot as usize]),
                            );
                        }
                    }
                }
                _ => {
                    let host = AccountTable::new(self.table_key, slots, &state.pubkeys()[..n]);
                    queue.write_buffer(table, 0, bytemuck::cast_slice(host.slots()));
                    cols.table_host = Some(host);
                }
            }
            let nonces = cols.nonces.ensure(dev, 8 * cap_u64, cap_bytes);
            if n > from {
                queue.write_buffer(
                    nonces,
                    8 * from as u64,
                    &column_bytes(&state.nonces()[from..n]),
                );
            }
            let balances = cols
                .balances
                .ensure(dev, 8 * cap_u64 * tokens as u64, cap_bytes);
            if n > from {
                for t in 0..tokens {
                    let at = 8 * (t as u64 * cap_u64 + from as u64);
                    queue.write_buffer(
                        balances,
                        at,
                        &column_bytes(&state.balance_column(t)[from..n]),
                    );
                }
            }
            let pool_bytes = (pools * std::mem::size_of::<PoolWords>()) as u64;
            let dev_pools = cols.pools.ensure(dev, pool_bytes, cap_bytes);
            if full && pools > 0 {
                let words: Vec<PoolWords> = state.pools().iter().map(pool_words).collect();
                queue.write_buffer(dev_pools, 0, bytemuck::cast_slice(&words));
            }
            Ok(())
        })??;
        cols.mirror = Some(Mirror {
            tag: state.sync_tag(),
            accounts: n,
            account_cap,
            tokens,
            pools,
        });
        let mut block = self.last_sync.lock().unwrap_or_else(|p| p.into_inner());
        block.full_upload |= full;
        block.accounts_uploaded += n - from;
        Ok(())
    }
}

/// The columns and table of an up-to-date copy.
fn borrow(cols: &Columns) -> Result<(ResidentColumns<'_>, ResidentTable<'_>)> {
    let missing = |what: &str| {
        Error::gpu(
            "resident state",
            GpuErrorKind::Internal,
            format!("{what} missing after upload"),
        )
    };
    fn buffer<'a>(b: &'a GrowBuffer, what: &str) -> Result<&'a wgpu::Buffer> {
        b.get().ok_or_else(|| {
            Error::gpu(
                "resident state",
                GpuErrorKind::Internal,
                format!("{what} missing after upload"),
            )
        })
    }
    let columns = ResidentColumns {
        pubkeys: buffer(&cols.pubkeys, "pubkeys")?,
        nonces: buffer(&cols.nonces, "nonces")?,
        balances: buffer(&cols.balances, "balances")?,
        pools: buffer(&cols.pools, "pools")?,
        account_cap: cols.mirror.map_or(0, |m| m.account_cap),
    };
    let table = ResidentTable {
        buffer: buffer(&cols.table, "account table")?,
        host: cols
            .table_host
            .as_ref()
            .ok_or_else(|| missing("account table"))?,
    };
    Ok((columns, table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pk(i: u32) -> [u8; 32] {
        *blake3::hash(&i.to_le_bytes()).as_bytes()
    }

    /// The host lookup the device runs (its twin is `resolve::gpu::lookup`): probe from the
    /// home slot until the pubkey or an empty slot.
    fn find(t: &AccountTable, pubkeys: &[[u8; 32]], q: &[u8; 32]) -> Option<u32> {
        let home = t.home_slot(q);
        (0..=t.max_probe()).find_map(|p| {
            let e = t.slots()[(home.wrapping_add(p) & t.mask()) as usize];
            (e != TABLE_EMPTY && pubkeys[e as usize] == *q).then_some(e)
        })
    }

    #[test]
    fn table_finds_every_key_while_it_grows() {
        let mut pubkeys: Vec<[u8; 32]> = (0..300).map(pk).collect();
        let mut t = AccountTable::new([9; 32], 1024, &pubkeys);
        let more: Vec<[u8; 32]> = (300..500).map(pk).collect();
        let changed = t.append(&more);
        assert_eq!(changed.len(), 200);
        pubkeys.extend(more);
        let want: HashMap<[u8; 32], u32> = pubkeys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        for (k, &i) in &want {
            assert_eq!(find(&t, &pubkeys, k), Some(i));
        }
        for absent in 500..600 {
            assert_eq!(find(&t, &pubkeys, &pk(absent)), None);
        }
    }

    #[test]
    fn pool_words_round_trip_and_layout() {
        // Field offsets against the WGSL struct: exec::layout's naga-based layout test.
        assert!(
            crate::gpu::shaders::POOL_WORDS
                .text
                .contains(&format!("const NO_LP_TOKEN: u32 = 0x{NO_LP_TOKEN:x}u;"))
        );
        assert!(u16::try_from(NO_LP_TOKEN).is_err(), "no token index");
        for v in [0, 1, u64::from(u32::MAX), 1 << 32, u64::MAX] {
            assert_eq!(join(split(v)), v);
        }
    }
}
