//! Ledger state in structure-of-arrays form: genesis loading, snapshots and the state root.
//!
//! Accounts are columns (`pubkeys`, `nonces`, one balance column per token) indexed by
//! account index (genesis order, then creation order); pools are columns too. The
//! binary snapshot format is documented in `docs/FORMATS.md`.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::chain::VerifyRule;
use crate::error::{Error, Result};
use crate::merkle::merkle_root;

/// Most tokens a chain may have.
pub const MAX_TOKENS: usize = 256;

/// Domain byte of an account leaf.
pub const ACCOUNT_LEAF_TAG: u8 = 0x00;
/// Domain byte of a pool leaf.
pub const POOL_LEAF_TAG: u8 = 0x02;
/// Domain byte of the leaf of a pool with an LP token.
pub const LP_POOL_LEAF_TAG: u8 = 0x04;
/// Shares locked for ever at a pool's first mint, counted in its `lp_supply` and held by
/// nobody (Uniswap v2's MINIMUM_LIQUIDITY).
pub const MINIMUM_LIQUIDITY: u64 = 1000;
/// Bytes of the longest pool leaf message (a pool with an LP token).
pub const POOL_LEAF_MAX_LEN: usize = 33;
/// Domain byte of the state root.
pub const STATE_ROOT_TAG: u8 = 0x03;

/// A constant-product pool between two distinct tokens, with LP shares when it has an
/// LP token (docs/SPEC.md, Liquidity and routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// First token.
    pub token_a: u16,
    /// Second token.
    pub token_b: u16,
    /// Swap fee in basis points (< 10000).
    pub fee_bps: u16,
    /// Reserve of token A (≥ 1).
    pub reserve_a: u64,
    /// Reserve of token B (≥ 1).
    pub reserve_b: u64,
    /// The token whose balances are this pool's shares; `None`: the pool has no shares.
    pub lp_token: Option<u16>,
    /// Shares in existence, the [`MINIMUM_LIQUIDITY`] locked at the first mint included
    /// (0 without an LP token).
    pub lp_supply: u64,
}

impl Pool {
    /// A pool without an LP token.
    pub fn new(token_a: u16, token_b: u16, fee_bps: u16, reserve_a: u64, reserve_b: u64) -> Pool {
        Pool {
            token_a,
            token_b,
            fee_bps,
            reserve_a,
            reserve_b,
            lp_token: None,
            lp_supply: 0,
        }
    }

    /// The pool's leaf: BLAKE3 of [`Pool::leaf_bytes`].
    pub fn leaf(&self) -> [u8; 32] {
        *blake3::hash(&self.leaf_bytes()).as_bytes()
    }

    /// The bytes hashed into the pool's leaf: 0x02 ‖ token_a ‖ token_b ‖ fee_bps ‖
    /// reserve_a ‖ reserve_b, or for a pool with an LP token 0x04 ‖ the same ‖ lp_token ‖
    /// lp_supply (docs/FORMATS.md, Roots).
    pub fn leaf_bytes(&self) -> PoolLeafBytes {
        let mut buf = [0u8; POOL_LEAF_MAX_LEN];
        buf[0] = POOL_LEAF_TAG;
        buf[1..3].copy_from_slice(&self.token_a.to_le_bytes());
        buf[3..5].copy_from_slice(&self.token_b.to_le_bytes());
        buf[5..7].copy_from_slice(&self.fee_bps.to_le_bytes());
        buf[7..15].copy_from_slice(&self.reserve_a.to_le_bytes());
        buf[15..23].copy_from_slice(&self.reserve_b.to_le_bytes());
        let len = match self.lp_token {
            None => 23,
            Some(lp) => {
                buf[0] = LP_POOL_LEAF_TAG;
                buf[23..25].copy_from_slice(&lp.to_le_bytes());
                buf[25..33].copy_from_slice(&self.lp_supply.to_le_bytes());
                33
            }
        };
        PoolLeafBytes { buf, len }
    }
}

/// The message of one pool leaf (23 or 33 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLeafBytes {
    buf: [u8; POOL_LEAF_MAX_LEN],
    len: usize,
}

impl std::ops::Deref for PoolLeafBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A pool in the genesis JSON and in `txwave inspect STATE --json`: `lp_token` and
/// `lp_supply` appear for pools with an LP token only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolJson {
    /// First token.
    pub token_a: u16,
    /// Second token.
    pub token_b: u16,
    /// Swap fee in basis points.
    pub fee_bps: u16,
    /// Reserve of token A.
    pub reserve_a: u64,
    /// Reserve of token B.
    pub reserve_b: u64,
    /// LP token, if the pool has shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lp_token: Option<u16>,
    /// Shares in existence (default 0; only with `lp_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lp_supply: Option<u64>,
}

impl From<Pool> for PoolJson {
    fn from(p: Pool) -> PoolJson {
        PoolJson {
            token_a: p.token_a,
            token_b: p.token_b,
            fee_bps: p.fee_bps,
            reserve_a: p.reserve_a,
            reserve_b: p.reserve_b,
            lp_token: p.lp_token,
            lp_supply: p.lp_token.map(|_| p.lp_supply),
        }
    }
}

impl PoolJson {
    /// The pool, or what is wrong with its LP fields taken alone.
    fn to_pool(self) -> std::result::Result<Pool, String> {
        if self.lp_token.is_none()
            && let Some(s) = self.lp_supply
        {
            return Err(format!("lp_supply ({s}) without lp_token"));
        }
        Ok(Pool {
            token_a: self.token_a,
            token_b: self.token_b,
            fee_bps: self.fee_bps,
            reserve_a: self.reserve_a,
            reserve_b: self.reserve_b,
            lp_token: self.lp_token,
            lp_supply: self.lp_supply.unwrap_or(0),
        })
    }
}

/// The account part of the genesis JSON and of `txwave inspect STATE --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountJson {
    /// Public key, 64 hex digits.
    pub pubkey: String,
    /// Account nonce.
    pub nonce: u64,
    /// One balance per token.
    pub balances: Vec<u64>,
}

/// The genesis JSON document of docs/FORMATS.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisJson {
    /// `"strict"` or `"zip215"`.
    pub verify_rule: VerifyRule,
    /// Number of tokens, 1 ..= 256.
    pub tokens: u32,
    /// Accounts in index order.
    pub accounts: Vec<AccountJson>,
    /// Pools in index order.
    pub pools: Vec<PoolJson>,
}

/// The whole ledger state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    verify_rule: VerifyRule,
    tokens: usize,
    height: u64,
    last_block_hash: [u8; 32],
    pubkeys: Vec<[u8; 32]>,
    nonces: Vec<u64>,
    /// `balances[token][account]`.
    balances: Vec<Vec<u64>>,
    pools: Vec<Pool>,
    index: HashMap<[u8; 32], u32>,
    sync: SyncCounter,
}

/// A reading of a [`State`]'s identity and edit count: two readings are equal exactly
/// when no existing value of that very object changed between them. Copies kept beside
/// the state — the device-resident columns (`gpu::resident`), the kept account leaves and
/// Merkle tree of the commit stage — record the tag of the state they mirror and are
/// trusted only while the state still has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncTag {
    identity: u64,
    edits: u64,
}

/// The counter behind [`SyncTag`]. Not part of the state's content: every counter compares
/// equal. A clone gets a fresh identity, and every change to existing values (the
/// crate-private `*_mut` accessors, [`State::rollback`]) counts an edit; appending accounts
/// does not, since a copy can pick appended accounts up incrementally.
#[derive(Debug)]
struct SyncCounter {
    id: u64,
    edits: u64,
}

impl SyncCounter {
    fn fresh() -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        SyncCounter {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            edits: 0,
        }
    }
}

impl Clone for SyncCounter {
    fn clone(&self) -> Self {
        SyncCounter::fresh()
    }
}

impl PartialEq for SyncCounter {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SyncCounter {}

/// What a caller needs to undo a block's changes: the values before the block of every
/// account and pool it may touch, and the account count before resolve.
#[derive(Debug, Clone)]
pub(crate) struct UndoLog {
    accounts_before: usize,
    height: u64,
    last_block_hash: [u8; 32],
    accounts: Vec<(u32, u64, Vec<u64>)>,
    pools: Vec<(u32, Pool)>,
}

impl State {
    /// An empty state (no accounts, no pools) at height 0.
    pub fn new(verify_rule: VerifyRule, tokens: usize) -> Result<Self> {
        if !(1..=MAX_TOKENS).contains(&tokens) {
            return Err(Error::Genesis(format!(
                "tokens must be in 1..=256, got {tokens}"
            )));
        }
        Ok(State {
            verify_rule,
            tokens,
            height: 0,
            last_block_hash: [0; 32],
            pubkeys: Vec::new(),
            nonces: Vec::new(),
            balances: vec![Vec::new(); tokens],
            pools: Vec::new(),
            index: HashMap::new(),
            sync: SyncCounter::fresh(),
        })
    }

    /// Parses and checks a genesis JSON document (docs/FORMATS.md): 1 ≤ tokens ≤ 256, pool
    /// tokens distinct and < tokens, fee_bps < 10000, reserves ≥ 1, no duplicate pubkey,
    /// every token's total supply ≤ 2^64 − 1, and the LP token rules of pools with shares
    /// (docs/SPEC.md, Liquidity and routes). Errors name the pool or account and the rule.
    pub fn from_genesis_json(json: &str) -> Result<Self> {
        let g: GenesisJson =
            serde_json::from_str(json).map_err(|e| Error::Genesis(format!("invalid JSON: {e}")))?;
        Self::from_genesis(&g)
    }

    /// [`State::from_genesis_json`] read from `reader` as it is parsed, so that the text
    /// of a large genesis is never held in memory whole (read through a buffer: the
    /// parser reads a byte at a time).
    pub fn from_genesis_reader<R: std::io::Read>(reader: R) -> Result<Self> {
        let g: GenesisJson = serde_json::from_reader(reader)
            .map_err(|e| Error::Genesis(format!("invalid JSON: {e}")))?;
        Self::from_genesis(&g)
    }

    /// Builds and checks a state from a parsed genesis document.
    pub fn from_genesis(g: &GenesisJson) -> Result<Self> {
        let mut state = State::new(g.verify_rule, g.tokens as usize)?;
        for (i, a) in g.accounts.iter().enumerate() {
            let pk = parse_pubkey(&a.pubkey)
                .map_err(|e| Error::Genesis(format!("account {i}: pubkey {e}")))?;
            if a.balances.len() != state.tokens {
                return Err(Error::Genesis(format!(
                    "account {i} ({}): {} balances, expected one per token ({})",
                    a.pubkey,
                    a.balances.len(),
                    state.tokens
                )));
            }
            if let Some(&first) = state.index.get(&pk) {
                return Err(Error::Genesis(format!(
                    "account {i}: duplicate pubkey {} (also account {first})",
                    a.pubkey
                )));
            }
            let idx = state.create_account(pk);
            state.nonces[idx as usize] = a.nonce;
            for (t, &b) in a.balances.iter().enumerate() {
                state.balances[t][idx as usize] = b;
            }
        }
        for (i, p) in g.pools.iter().enumerate() {
            let p = p
                .to_pool()
                .and_then(|p| state.check_pool(&p).map(|()| p))
                .map_err(|what| Error::Genesis(format!("pool {i}: {what}")))?;
            state.pools.push(p);
        }
        state.check_supply().map_err(Error::Genesis)?;
        state.check_lp_tokens().map_err(Error::Genesis)?;
        Ok(state)
    }

    fn check_pool(&self, p: &Pool) -> std::result::Result<(), String> {
        if p.token_a == p.token_b {
            return Err(format!("token_a and token_b are both {}", p.token_a));
        }
        for (name, t) in [("token_a", p.token_a), ("token_b", p.token_b)] {
            if t as usize >= self.tokens {
                return Err(format!(
                    "{name} = {t} but there are only {} tokens",
                    self.tokens
                ));
            }
        }
        if p.fee_bps >= 10_000 {
            return Err(format!("fee_bps = {} must be < 10000", p.fee_bps));
        }
        if p.reserve_a == 0 || p.reserve_b == 0 {
            return Err(format!(
                "reserves must be ≥ 1, got reserve_a = {}, reserve_b = {}",
                p.reserve_a, p.reserve_b
            ));
        }
        let Some(lp) = p.lp_token else {
            if p.lp_supply != 0 {
                return Err(format!("lp_supply ({}) without lp_token", p.lp_supply));
            }
            return Ok(());
        };
        if lp == 0 || lp as usize >= self.tokens {
            return Err(format!(
                "lp_token = {lp} must be between 1 and tokens - 1 = {}",
                self.tokens - 1
            ));
        }
        if lp == p.token_a || lp == p.token_b {
            return Err(format!(
                "lp_token = {lp} is one of the pool's own tokens ({}, {})",
                p.token_a, p.token_b
            ));
        }
        let s = p.lp_supply;
        if s != 0 && s < MINIMUM_LIQUIDITY {
            return Err(format!(
                "lp_supply = {s} must be 0 or at least {MINIMUM_LIQUIDITY} (the locked minimum)"
            ));
        }
        if u128::from(s) * u128::from(s) > u128::from(p.reserve_a) * u128::from(p.reserve_b) {
            return Err(format!(
                "lp_supply² = {s}² exceeds reserve_a × reserve_b = {} × {}",
                p.reserve_a, p.reserve_b
            ));
        }
        Ok(())
    }

    /// Checks the LP tokens across pools and accounts: no two pools share one, and every
    /// unit of a pool's LP token (account balances plus reserves of pools that trade it)
    /// plus the locked [`MINIMUM_LIQUIDITY`] when shares exist equals its `lp_supply`.
    fn check_lp_tokens(&self) -> std::result::Result<(), String> {
        let mut owner: HashMap<u16, usize> = HashMap::new();
        for (i, p) in self.pools.iter().enumerate() {
            let Some(lp) = p.lp_token else { continue };
            if let Some(first) = owner.insert(lp, i) {
                return Err(format!(
                    "pool {i}: lp_token = {lp} is also the LP token of pool {first}"
                ));
            }
            let t = lp as usize;
            let mut units: u128 = self.balances[t].iter().map(|&b| u128::from(b)).sum();
            for q in &self.pools {
                if q.token_a == lp {
                    units += u128::from(q.reserve_a);
                }
                if q.token_b == lp {
                    units += u128::from(q.reserve_b);
                }
            }
            if p.lp_supply > 0 {
                units += u128::from(MINIMUM_LIQUIDITY);
            }
            if units != u128::from(p.lp_supply) {
                return Err(format!(
                    "pool {i}: lp_supply = {} but the genesis holds {units} units of its LP token {lp} (balances, reserves of pools that trade it{})",
                    p.lp_supply,
                    if p.lp_supply > 0 {
                        ", and the locked 1000"
                    } else {
                        ""
                    }
                ));
            }
        }
        Ok(())
    }

    /// Checks that no token's total supply (balances plus pool reserves) exceeds u64::MAX.
    fn check_supply(&self) -> std::result::Result<(), String> {
        for t in 0..self.tokens {
            let mut total: u128 = self.balances[t].iter().map(|&b| b as u128).sum();
            for p in &self.pools {
                if p.token_a as usize == t {
                    total += p.reserve_a as u128;
                }
                if p.token_b as usize == t {
                    total += p.reserve_b as u128;
                }
            }
            if total > u64::MAX as u128 {
                return Err(format!(
                    "token {t}: total supply {total} exceeds 2^64 - 1, so a credit could overflow"
                ));
            }
        }
        Ok(())
    }

    /// The genesis-shaped JSON view of this state (used by `txwave inspect --json`).
    pub fn to_genesis(&self) -> GenesisJson {
        GenesisJson {
            verify_rule: self.verify_rule,
            tokens: self.tokens as u32,
            accounts: (0..self.account_count())
                .map(|i| AccountJson {
                    pubkey: hex::encode(self.pubkeys[i]),
                    nonce: self.nonces[i],
                    balances: self.account_balances(i),
                })
                .collect(),
            pools: self.pools.iter().map(|&p| PoolJson::from(p)).collect(),
        }
    }

    /// The chain's signature rule.
    pub fn verify_rule(&self) -> VerifyRule {
        self.verify_rule
    }
    /// Number of tokens.
    pub fn tokens(&self) -> usize {
        self.tokens
    }
    /// Height of the last applied block (0 at genesis).
    pub fn height(&self) -> u64 {
        self.height
    }
    /// Hash of the last applied block (zero at genesis).
    pub fn last_block_hash(&self) -> [u8; 32] {
        self.last_block_hash
    }
    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.pubkeys.len()
    }
    /// Index of the account with this public key.
    pub fn account_index(&self, pubkey: &[u8; 32]) -> Option<u32> {
        self.index.get(pubkey).copied()
    }
    /// Public key of account `i`.
    pub fn pubkey(&self, i: usize) -> [u8; 32] {
        self.pubkeys[i]
    }
    /// All public keys in index order.
    pub fn pubkeys(&self) -> &[[u8; 32]] {
        &self.pubkeys
    }
    /// Nonce column.
    pub fn nonces(&self) -> &[u64] {
        &self.nonces
    }
    /// Balance column of one token.
    pub fn balance_column(&self, token: usize) -> &[u64] {
        &self.balances[token]
    }
    /// Balance of `account` in `token`.
    pub fn balance(&self, account: usize, token: usize) -> u64 {
        self.balances[token][account]
    }
    /// All balances of one account, token order.
    pub fn account_balances(&self, account: usize) -> Vec<u64> {
        self.balances.iter().map(|col| col[account]).collect()
    }
    /// Pools in index order.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    pub(crate) fn nonces_mut(&mut self) -> &mut [u64] {
        self.sync.edits += 1;
        &mut self.nonces
    }
    pub(crate) fn balances_mut(&mut self) -> &mut [Vec<u64>] {
        self.sync.edits += 1;
        &mut self.balances
    }
    pub(crate) fn pools_mut(&mut self) -> &mut [Pool] {
        self.sync.edits += 1;
        &mut self.pools
    }
    /// This value's identity and edit count: equal to an earlier reading exactly when no
    /// existing value changed since, on this very object (see [`SyncTag`]).
    #[doc(hidden)]
    pub fn sync_tag(&self) -> SyncTag {
        SyncTag {
            identity: self.sync.id,
            edits: self.sync.edits,
        }
    }
    pub(crate) fn set_tip(&mut self, height: u64, block_hash: [u8; 32]) {
        self.height = height;
        self.last_block_hash = block_hash;
    }

    /// Creates an account with nonce 0 and zero balances (or returns the existing one).
    pub(crate) fn create_account(&mut self, pubkey: [u8; 32]) -> u32 {
        if let Some(&i) = self.index.get(&pubkey) {
            return i;
        }
        let i = self.pubkeys.len() as u32;
        self.pubkeys.push(pubkey);
        self.nonces.push(0);
        for col in &mut self.balances {
            col.push(0);
        }
        self.index.insert(pubkey, i);
        i
    }

    /// Records the current values of the given accounts and pools so a failed block can
    /// be rolled back with [`State::rollback`]; accounts from `accounts_before` on were
    /// created by the block and are dropped on rollback.
    pub(crate) fn undo_log(
        &self,
        accounts_before: usize,
        accounts: &[u32],
        pools: &[u32],
    ) -> UndoLog {
        UndoLog {
            accounts_before,
            height: self.height,
            last_block_hash: self.last_block_hash,
            accounts: accounts
                .iter()
                .filter(|&&a| (a as usize) < accounts_before)
                .map(|&a| {
                    (
                        a,
                        self.nonces[a as usize],
                        self.account_balances(a as usize),
                    )
                })
                .collect(),
            pools: pools
                .iter()
                .filter(|&&p| (p as usize) < self.pools.len())
                .map(|&p| (p, self.pools[p as usize]))
                .collect(),
        }
    }

    /// Restores what `log` recorded and drops accounts created since.
    pub(crate) fn rollback(&mut self, log: UndoLog) {
        self.sync.edits += 1;
        for (a, nonce, balances) in log.accounts {
            self.nonces[a as usize] = nonce;
            for (t, b) in balances.into_iter().enumerate() {
                self.balances[t][a as usize] = b;
            }
        }
        for (p, pool) in log.pools {
            self.pools[p as usize] = pool;
        }
        for pk in self.pubkeys.drain(log.accounts_before..) {
            self.index.remove(&pk);
        }
        self.nonces.truncate(log.accounts_before);
        for col in &mut self.balances {
            col.truncate(log.accounts_before);
        }
        self.height = log.height;
        self.last_block_hash = log.last_block_hash;
    }

    /// The encoding hashed into account `i`'s leaf: 0x00 ‖ pubkey ‖ nonce ‖ balances.
    pub fn account_leaf_bytes(&self, i: usize, out: &mut Vec<u8>) {
        out.clear();
        out.push(ACCOUNT_LEAF_TAG);
        out.extend_from_slice(&self.pubkeys[i]);
        out.extend_from_slice(&self.nonces[i].to_le_bytes());
        for col in &self.balances {
            out.extend_from_slice(&col[i].to_le_bytes());
        }
    }

    /// Bytes of one account leaf message: 41 + 8 × tokens.
    pub fn account_leaf_len(&self) -> usize {
        41 + 8 * self.tokens
    }

    /// Leaf of account `i`.
    pub fn account_leaf(&self, i: usize) -> [u8; 32] {
        let mut buf = Vec::with_capacity(41 + 8 * self.tokens);
        self.account_leaf_bytes(i, &mut buf);
        *blake3::hash(&buf).as_bytes()
    }

    /// Leaves of every account, in index order.
    pub fn account_leaves(&self) -> Vec<[u8; 32]> {
        (0..self.account_count())
            .into_par_iter()
            .with_min_len(1024)
            .map_init(
                || Vec::with_capacity(41 + 8 * self.tokens),
                |buf, i| {
                    self.account_leaf_bytes(i, buf);
                    *blake3::hash(buf).as_bytes()
                },
            )
            .collect()
    }

    /// Merkle root of the account leaves.
    pub fn accounts_root(&self) -> [u8; 32] {
        merkle_root(&self.account_leaves())
    }

    /// Merkle root of the pool leaves.
    pub fn pools_root(&self) -> [u8; 32] {
        let leaves: Vec<[u8; 32]> = self.pools.iter().map(Pool::leaf).collect();
        merkle_root(&leaves)
    }

    /// state_root = BLAKE3(0x03 ‖ accounts_root ‖ pools_root).
    pub fn state_root(&self) -> [u8; 32] {
        state_root_of(&self.accounts_root(), &self.pools_root())
    }

    /// Encodes the state as a versioned, checksummed binary snapshot (docs/FORMATS.md).
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.account_count() * (40 + 8 * self.tokens) + self.pools.len() * POOL_RECORD_LEN,
        );
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        out.push(match self.verify_rule {
            VerifyRule::Strict => 0,
            VerifyRule::Zip215 => 1,
        });
        out.extend_from_slice(&(self.tokens as u16).to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.last_block_hash);
        out.extend_from_slice(&(self.account_count() as u64).to_le_bytes());
        for i in 0..self.account_count() {
            out.extend_from_slice(&self.pubkeys[i]);
            out.extend_from_slice(&self.nonces[i].to_le_bytes());
            for col in &self.balances {
                out.extend_from_slice(&col[i].to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.pools.len() as u32).to_le_bytes());
        for p in &self.pools {
            out.extend_from_slice(&p.token_a.to_le_bytes());
            out.extend_from_slice(&p.token_b.to_le_bytes());
            out.extend_from_slice(&p.fee_bps.to_le_bytes());
            out.extend_from_slice(&p.reserve_a.to_le_bytes());
            out.extend_from_slice(&p.reserve_b.to_le_bytes());
            // LP token 0 is no LP token: token 0 pays fees and is never an LP token.
            out.extend_from_slice(&p.lp_token.unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&p.lp_supply.to_le_bytes());
        }
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    /// Decodes and checks a snapshot written by [`State::to_snapshot`]; the same checks as
    /// genesis apply (a snapshot is input too).
    pub fn from_snapshot(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes, at: 0 };
        let magic = r.take(8, "magic")?;
        if magic != SNAPSHOT_MAGIC {
            return Err(Error::Snapshot {
                offset: 0,
                what: format!("bad magic {magic:02x?}, expected \"TXWSTATE\""),
            });
        }
        let version = r.u32("version")?;
        if !(1..=SNAPSHOT_VERSION).contains(&version) {
            return Err(Error::Snapshot {
                offset: 8,
                what: format!(
                    "unsupported version {version}, this build reads 1 to {SNAPSHOT_VERSION}"
                ),
            });
        }
        // Version 1 has no LP fields: every pool of it is a pool without shares.
        let pool_len = if version == 1 { 22 } else { POOL_RECORD_LEN };
        if bytes.len() < 32 + r.at {
            return Err(Error::Snapshot {
                offset: bytes.len(),
                what: "truncated: no room for the checksum".into(),
            });
        }
        let body_end = bytes.len() - 32;
        let computed = blake3::hash(&bytes[..body_end]);
        if computed.as_bytes()[..] != bytes[body_end..] {
            return Err(Error::Snapshot {
                offset: body_end,
                what: "checksum mismatch (file truncated or corrupted)".into(),
            });
        }
        let r_bytes = &bytes[..body_end];
        let mut r = Reader {
            bytes: r_bytes,
            at: r.at,
        };
        let rule_at = r.at;
        let verify_rule = match r.take(1, "verify_rule")?[0] {
            0 => VerifyRule::Strict,
            1 => VerifyRule::Zip215,
            other => {
                return Err(Error::Snapshot {
                    offset: rule_at,
                    what: format!("verify_rule byte {other} is neither 0 (strict) nor 1 (zip215)"),
                });
            }
        };
        let tokens_at = r.at;
        let tokens = r.u16("tokens")? as usize;
        let mut state = State::new(verify_rule, tokens).map_err(|e| Error::Snapshot {
            offset: tokens_at,
            what: e.to_string(),
        })?;
        state.height = r.u64("height")?;
        state.last_block_hash = r.arr32("last_block_hash")?;
        let count_at = r.at;
        let count = r.u64("account count")?;
        let per_account = 40 + 8 * tokens as u64;
        let fits = (r.bytes.len() - r.at) as u64 / per_account;
        if count > fits {
            return Err(Error::Snapshot {
                offset: count_at,
                what: format!(
                    "account_count declares {count} accounts of {per_account} bytes, but the {} bytes left before the checksum hold at most {fits}",
                    r.bytes.len() - r.at
                ),
            });
        }
        for i in 0..count as usize {
            let at = r.at;
            let pk = r.arr32("pubkey")?;
            if state.index.contains_key(&pk) {
                return Err(Error::Snapshot {
                    offset: at,
                    what: format!("account {i}: duplicate pubkey {}", hex::encode(pk)),
                });
            }
            let idx = state.create_account(pk) as usize;
            state.nonces[idx] = r.u64("nonce")?;
            for t in 0..tokens {
                state.balances[t][idx] = r.u64("balance")?;
            }
        }
        let pool_count_at = r.at;
        let pool_count = r.u32("pool count")?;
        let pools_fit = (r.bytes.len() - r.at) / pool_len;
        if pool_count as usize > pools_fit {
            return Err(Error::Snapshot {
                offset: pool_count_at,
                what: format!(
                    "pool_count declares {pool_count} pools of {pool_len} bytes, but the {} bytes left before the checksum hold at most {pools_fit}",
                    r.bytes.len() - r.at
                ),
            });
        }
        for i in 0..pool_count {
            let at = r.at;
            let mut p = Pool::new(
                r.u16("token_a")?,
                r.u16("token_b")?,
                r.u16("fee_bps")?,
                r.u64("reserve_a")?,
                r.u64("reserve_b")?,
            );
            if version >= 2 {
                p.lp_token = Some(r.u16("lp_token")?).filter(|&t| t != 0);
                p.lp_supply = r.u64("lp_supply")?;
            }
            state.check_pool(&p).map_err(|what| Error::Snapshot {
                offset: at,
                what: format!("pool {i}: {what}"),
            })?;
            state.pools.push(p);
        }
        if r.at != r.bytes.len() {
            return Err(Error::Snapshot {
                offset: r.at,
                what: format!(
                    "{} unexpected bytes before the checksum",
                    r.bytes.len() - r.at
                ),
            });
        }
        state
            .check_supply()
            .map_err(|what| Error::Snapshot { offset: 0, what })?;
        state
            .check_lp_tokens()
            .map_err(|what| Error::Snapshot { offset: 0, what })?;
        Ok(state)
    }
}

/// state_root = BLAKE3(0x03 ‖ accounts_root ‖ pools_root).
pub fn state_root_of(accounts_root: &[u8; 32], pools_root: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = STATE_ROOT_TAG;
    buf[1..33].copy_from_slice(accounts_root);
    buf[33..].copy_from_slice(pools_root);
    *blake3::hash(&buf).as_bytes()
}

/// Magic of a state snapshot.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"TXWSTATE";
/// Snapshot format version this build writes; it reads every version from 1 on.
/// Version 2 added each pool's LP token and supply.
pub const SNAPSHOT_VERSION: u32 = 2;
/// Bytes of one pool in a version 2 snapshot.
const POOL_RECORD_LEN: usize = 32;

/// Whether `bytes` start like a snapshot (as opposed to genesis JSON).
pub fn is_snapshot(bytes: &[u8]) -> bool {
    bytes.starts_with(SNAPSHOT_MAGIC)
}

fn parse_pubkey(s: &str) -> std::result::Result<[u8; 32], String> {
    // A hostile genesis may hold a string of any length: never decode or echo it whole.
    if s.len() != 64 {
        let shown: String = s.chars().take(16).collect();
        return Err(format!(
            "\"{shown}{}\" is {} characters long, expected 64 hex digits",
            if s.chars().count() > 16 { "…" } else { "" },
            s.len()
        ));
    }
    let bytes = hex::decode(s).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{s:?} has {} bytes, expected 32", b.len()))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return Err(Error::Snapshot {
                offset: self.at,
                what: format!(
                    "truncated in {field}: need {n} bytes, {} left",
                    self.bytes.len() - self.at
                ),
            });
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u16(&mut self, f: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2, f)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self, f: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4, f)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, f: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, f)?.try_into().expect("8 bytes"),
        ))
    }
    fn arr32(&mut self, f: &str) -> Result<[u8; 32]> {
        Ok(self.take(32, f)?.try_into().expect("32 bytes"))
    }
}
