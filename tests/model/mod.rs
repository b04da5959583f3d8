//! A second, independent implementation of the design ("Binary formats", "Semantics",
//! "Roots", "Conflicts and waves", "Liquidity and routes"; in this repository
//! docs/SPEC.md and docs/FORMATS.md), kept as a test oracle. It shares no code with the crate: it parses the genesis JSON, decodes
//! block and transaction bytes, checks signatures with ed25519-dalek `verify_strict` and
//! ed25519-zebra, resolves accounts, executes every kind with arbitrary-precision integers
//! and computes every root with its own Merkle tree, step by step from the design's tables.
//!
//! Test files include it with `mod model;`: build a [`Ledger`] from genesis JSON, feed it
//! block-log bytes with [`Ledger::apply_block_bytes`], and compare its [`BlockResult`]
//! (receipts, roots, block hash, waves) and its accounts and pools with the crate's.
#![allow(dead_code)]

use std::collections::HashMap;

use num_bigint::BigUint;

/// MINIMUM_LIQUIDITY: shares locked for ever at a pool's first mint.
pub const MINIMUM_LIQUIDITY: u64 = 1000;

/// Transaction kinds (byte 64).
pub const KIND_TRANSFER: u8 = 1;
pub const KIND_SWAP: u8 = 2;
pub const KIND_ADD: u8 = 3;
pub const KIND_REMOVE: u8 = 4;
pub const KIND_ROUTE: u8 = 5;

/// Common prefix of every transaction: signature, kind, signer, nonce, fee.
pub const COMMON_LEN: usize = 113;
pub const TRANSFER_LEN: usize = 155;
pub const SWAP_LEN: usize = 134;
pub const ADD_LEN: usize = 149;
pub const REMOVE_LEN: usize = 141;
/// Length of a route with no pool ids (each hop adds 4 bytes).
pub const ROUTE_BASE_LEN: usize = 133;

/// Bytes of a block header, magic to tx_count.
pub const HEADER_LEN: usize = 8 + 8 + 32 + 32 + 32 + 4;
pub const MAGIC: &[u8; 8] = b"TXWBLK01";

/// Receipt status codes of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    Malformed = 1,
    BadSignature = 2,
    UnknownSigner = 3,
    BadNonce = 4,
    InsufficientFee = 5,
    UnknownToken = 6,
    UnknownPool = 7,
    InsufficientBalance = 8,
    SlippageExceeded = 9,
    BadRoute = 10,
    NoLpToken = 11,
    InsufficientLiquidity = 12,
}

/// The chain's signature rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Strict,
    Zip215,
}

/// The amounts a receipt carries; the variant follows the tx's kind (malformed: `Out(0)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amounts {
    Out {
        amount_out: u64,
    },
    Route {
        amount_in: u64,
        amount_out: u64,
    },
    Liquidity {
        amount_a: u64,
        amount_b: u64,
        liquidity: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub tx_id: [u8; 32],
    pub status: Status,
    pub amounts: Amounts,
}

impl Receipt {
    /// Receipt leaf, per kind (design: "Receipts, conflicts, resolve").
    pub fn leaf(&self) -> [u8; 32] {
        let mut m = Vec::with_capacity(57);
        m.extend_from_slice(&self.tx_id);
        m.push(self.status as u8);
        match self.amounts {
            Amounts::Out { amount_out } => m.extend_from_slice(&amount_out.to_le_bytes()),
            Amounts::Route {
                amount_in,
                amount_out,
            } => {
                m.extend_from_slice(&amount_in.to_le_bytes());
                m.extend_from_slice(&amount_out.to_le_bytes());
            }
            Amounts::Liquidity {
                amount_a,
                amount_b,
                liquidity,
            } => {
                m.extend_from_slice(&amount_a.to_le_bytes());
                m.extend_from_slice(&amount_b.to_le_bytes());
                m.extend_from_slice(&liquidity.to_le_bytes());
            }
        }
        *blake3::hash(&m).as_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub pubkey: [u8; 32],
    pub nonce: u64,
    pub balances: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lp {
    pub token: u16,
    pub supply: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub token_a: u16,
    pub token_b: u16,
    pub fee_bps: u16,
    pub reserve_a: u64,
    pub reserve_b: u64,
    pub lp: Option<Lp>,
}

impl Pool {
    /// 0x02 leaf, or the 0x04 leaf of a pool with an LP token.
    pub fn leaf(&self) -> [u8; 32] {
        let mut m = Vec::with_capacity(33);
        m.push(if self.lp.is_some() { 0x04 } else { 0x02 });
        m.extend_from_slice(&self.token_a.to_le_bytes());
        m.extend_from_slice(&self.token_b.to_le_bytes());
        m.extend_from_slice(&self.fee_bps.to_le_bytes());
        m.extend_from_slice(&self.reserve_a.to_le_bytes());
        m.extend_from_slice(&self.reserve_b.to_le_bytes());
        if let Some(lp) = self.lp {
            m.extend_from_slice(&lp.token.to_le_bytes());
            m.extend_from_slice(&lp.supply.to_le_bytes());
        }
        *blake3::hash(&m).as_bytes()
    }
}

// ---------------------------------------------------------------- Merkle tree

/// Merkle root: empty → zeros; pair neighbours with BLAKE3(0x01 ‖ l ‖ r), an odd last node
/// moves up unchanged.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return [0; 32];
    }
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut i = 0;
        while i < level.len() {
            if i + 1 < level.len() {
                let mut h = blake3::Hasher::new();
                h.update(&[0x01]);
                h.update(&level[i]);
                h.update(&level[i + 1]);
                next.push(*h.finalize().as_bytes());
            } else {
                next.push(level[i]);
            }
            i += 2;
        }
        level = next;
    }
    level[0]
}

// ---------------------------------------------------------------- Arithmetic (full width)

pub fn big(x: u64) -> BigUint {
    BigUint::from(x)
}

/// The value if it fits in a u64.
pub fn fit(x: &BigUint) -> Option<u64> {
    u64::try_from(x).ok()
}

/// out(x, r_in, r_out, fee) = ⌊x(10000−fee)·r_out / (r_in·10000 + x(10000−fee))⌋.
pub fn amount_out(x: &BigUint, r_in: u64, r_out: u64, fee_bps: u16) -> BigUint {
    let a = x * big(10_000 - fee_bps as u64);
    let num = &a * big(r_out);
    let den = big(r_in) * big(10_000) + &a;
    num / den
}

/// in(y, r_in, r_out, fee) = ⌊r_in·y·10000 / ((r_out − y)(10000 − fee))⌋ + 1, for y < r_out.
pub fn amount_in(y: &BigUint, r_in: u64, r_out: u64, fee_bps: u16) -> Option<BigUint> {
    if y >= &big(r_out) {
        return None;
    }
    let num = big(r_in) * y * big(10_000);
    let den = (big(r_out) - y) * big(10_000 - fee_bps as u64);
    Some(num / den + big(1))
}

/// quote(x, r_x, r_y) = ⌊x·r_y / r_x⌋.
pub fn quote(x: &BigUint, r_x: u64, r_y: u64) -> BigUint {
    x * big(r_y) / big(r_x)
}

/// Floor square root by Newton's iteration from above.
pub fn isqrt(n: &BigUint) -> BigUint {
    if n < &big(2) {
        return n.clone();
    }
    // Start at a power of two at least the root.
    let mut x = big(1) << (n.bits() / 2 + 1);
    loop {
        let y = (&x + n / &x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

// ---------------------------------------------------------------- Transactions

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Transfer {
        to: [u8; 32],
        token: u16,
        amount: u64,
    },
    Swap {
        pool: u32,
        b_to_a: bool,
        amount_in: u64,
        min_out: u64,
    },
    Add {
        pool: u32,
        a_desired: u64,
        b_desired: u64,
        a_min: u64,
        b_min: u64,
    },
    Remove {
        pool: u32,
        liquidity: u64,
        a_min: u64,
        b_min: u64,
    },
    Route {
        exact_out: bool,
        token_in: u16,
        amount: u64,
        limit: u64,
        pools: Vec<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedTx {
    pub signature: [u8; 64],
    pub kind: u8,
    pub signer: [u8; 32],
    pub nonce: u64,
    pub fee: u64,
    pub action: Action,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn arr32(b: &[u8], at: usize) -> [u8; 32] {
    b[at..at + 32].try_into().unwrap()
}

/// Step 1: the tx decodes, or it is malformed (`None`).
pub fn decode_tx(b: &[u8]) -> Option<DecodedTx> {
    if b.len() < COMMON_LEN {
        return None;
    }
    let kind = b[64];
    let p = COMMON_LEN;
    let action = match kind {
        KIND_TRANSFER => {
            if b.len() != TRANSFER_LEN {
                return None;
            }
            Action::Transfer {
                to: arr32(b, p),
                token: u16_at(b, p + 32),
                amount: u64_at(b, p + 34),
            }
        }
        KIND_SWAP => {
            if b.len() != SWAP_LEN {
                return None;
            }
            let b_to_a = match b[p + 4] {
                0 => false,
                1 => true,
                _ => return None,
            };
            Action::Swap {
                pool: u32_at(b, p),
                b_to_a,
                amount_in: u64_at(b, p + 5),
                min_out: u64_at(b, p + 13),
            }
        }
        KIND_ADD => {
            if b.len() != ADD_LEN {
                return None;
            }
            Action::Add {
                pool: u32_at(b, p),
                a_desired: u64_at(b, p + 4),
                b_desired: u64_at(b, p + 12),
                a_min: u64_at(b, p + 20),
                b_min: u64_at(b, p + 28),
            }
        }
        KIND_REMOVE => {
            if b.len() != REMOVE_LEN {
                return None;
            }
            Action::Remove {
                pool: u32_at(b, p),
                liquidity: u64_at(b, p + 4),
                a_min: u64_at(b, p + 12),
                b_min: u64_at(b, p + 20),
            }
        }
        KIND_ROUTE => {
            if b.len() < ROUTE_BASE_LEN {
                return None;
            }
            let exact_out = match b[p] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let token_in = u16_at(b, p + 1);
            let amount = u64_at(b, p + 3);
            let limit = u64_at(b, p + 11);
            let hops = b[p + 19] as usize;
            if !(1..=4).contains(&hops) || amount == 0 || b.len() != ROUTE_BASE_LEN + 4 * hops {
                return None;
            }
            let pools: Vec<u32> = (0..hops)
                .map(|i| u32_at(b, ROUTE_BASE_LEN + 4 * i))
                .collect();
            for i in 0..hops {
                for j in i + 1..hops {
                    if pools[i] == pools[j] {
                        return None;
                    }
                }
            }
            Action::Route {
                exact_out,
                token_in,
                amount,
                limit,
                pools,
            }
        }
        _ => return None,
    };
    Some(DecodedTx {
        signature: b[0..64].try_into().unwrap(),
        kind,
        signer: arr32(b, 65),
        nonce: u64_at(b, 97),
        fee: u64_at(b, 105),
        action,
    })
}

/// Step 2 under the chain's rule; the message is bytes [64, len).
pub fn signature_ok(rule: Rule, tx: &[u8]) -> bool {
    let sig: [u8; 64] = tx[0..64].try_into().unwrap();
    let pk: [u8; 32] = tx[65..97].try_into().unwrap();
    let msg = &tx[64..];
    match rule {
        Rule::Strict => {
            let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else {
                return false;
            };
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            key.verify_strict(msg, &sig).is_ok()
        }
        Rule::Zip215 => {
            let Ok(key) = ed25519_zebra::VerificationKey::try_from(pk) else {
                return false;
            };
            let sig = ed25519_zebra::Signature::from(sig);
            key.verify(&sig, msg).is_ok()
        }
    }
}

/// The zero amounts of a kind (receipts of txs that did not apply).
pub fn zero_amounts(kind: u8) -> Amounts {
    match kind {
        KIND_ROUTE => Amounts::Route {
            amount_in: 0,
            amount_out: 0,
        },
        KIND_ADD | KIND_REMOVE => Amounts::Liquidity {
            amount_a: 0,
            amount_b: 0,
            liquidity: 0,
        },
        _ => Amounts::Out { amount_out: 0 },
    }
}

// ---------------------------------------------------------------- Blocks

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    pub header: [u8; HEADER_LEN],
    pub height: u64,
    pub parent: [u8; 32],
    pub fee_collector: [u8; 32],
    pub claimed_root: [u8; 32],
    pub txs: Vec<Vec<u8>>,
}

/// Decodes one block of a log: its fields and the bytes it took.
pub fn decode_block(b: &[u8]) -> Result<(RawBlock, usize), String> {
    if b.len() < HEADER_LEN + 32 {
        return Err("short block".into());
    }
    if &b[0..8] != MAGIC {
        return Err("bad magic".into());
    }
    let height = u64_at(b, 8);
    let parent = arr32(b, 16);
    let fee_collector = arr32(b, 48);
    let claimed_root = arr32(b, 80);
    let count = u32_at(b, 112) as usize;
    let mut at = HEADER_LEN;
    let mut txs = Vec::new();
    for _ in 0..count {
        if b.len() < at + 2 {
            return Err("truncated tx length".into());
        }
        let len = u16_at(b, at) as usize;
        at += 2;
        if b.len() < at + len {
            return Err("truncated tx".into());
        }
        txs.push(b[at..at + len].to_vec());
        at += len;
    }
    if b.len() < at + 32 {
        return Err("truncated checksum".into());
    }
    if blake3::hash(&b[..at]).as_bytes() != &b[at..at + 32] {
        return Err("bad checksum".into());
    }
    Ok((
        RawBlock {
            header: b[0..HEADER_LEN].try_into().unwrap(),
            height,
            parent,
            fee_collector,
            claimed_root,
            txs,
        },
        at + 32,
    ))
}

/// Encodes a block in the log format (checksum included).
pub fn encode_block(
    height: u64,
    parent: &[u8; 32],
    fee_collector: &[u8; 32],
    claimed_root: &[u8; 32],
    txs: &[Vec<u8>],
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&height.to_le_bytes());
    b.extend_from_slice(parent);
    b.extend_from_slice(fee_collector);
    b.extend_from_slice(claimed_root);
    b.extend_from_slice(&(txs.len() as u32).to_le_bytes());
    for t in txs {
        b.extend_from_slice(&(t.len() as u16).to_le_bytes());
        b.extend_from_slice(t);
    }
    let sum = *blake3::hash(&b).as_bytes();
    b.extend_from_slice(&sum);
    b
}

/// What applying a block gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResult {
    pub receipts: Vec<Receipt>,
    pub tx_root: [u8; 32],
    pub receipts_root: [u8; 32],
    pub state_root: [u8; 32],
    pub block_hash: [u8; 32],
    pub waves: usize,
    /// Wave (1-based) of every tx; `None` for txs rejected at steps 1–2.
    pub wave_of: Vec<Option<usize>>,
}

// ---------------------------------------------------------------- Ledger

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub rule: Rule,
    pub tokens: usize,
    pub accounts: Vec<Account>,
    pub pools: Vec<Pool>,
    pub height: u64,
    pub last_block_hash: [u8; 32],
    index: HashMap<[u8; 32], usize>,
}

fn field_u64(v: &serde_json::Value, name: &str) -> Result<u64, String> {
    v.get(name)
        .and_then(|x| x.as_u64())
        .ok_or_else(|| format!("{name}: missing or not a u64"))
}

impl Ledger {
    /// Parses and checks a genesis (design: "Genesis" and "Pools with LP shares").
    pub fn from_genesis_json(json: &str) -> Result<Ledger, String> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let rule = match v.get("verify_rule").and_then(|r| r.as_str()) {
            Some("strict") => Rule::Strict,
            Some("zip215") => Rule::Zip215,
            other => return Err(format!("verify_rule {other:?}")),
        };
        let tokens = field_u64(&v, "tokens")?;
        if !(1..=256).contains(&tokens) {
            return Err(format!("tokens {tokens}"));
        }
        let tokens = tokens as usize;
        let mut ledger = Ledger {
            rule,
            tokens,
            accounts: Vec::new(),
            pools: Vec::new(),
            height: 0,
            last_block_hash: [0; 32],
            index: HashMap::new(),
        };
        let empty = Vec::new();
        let accounts = match v.get("accounts") {
            Some(a) => a.as_array().ok_or("accounts: not an array")?,
            None => &empty,
        };
        for a in accounts {
            let hex_key = a
                .get("pubkey")
                .and_then(|p| p.as_str())
                .ok_or("pubkey missing")?;
            let bytes = hex::decode(hex_key).map_err(|e| e.to_string())?;
            let pubkey: [u8; 32] = bytes.try_into().map_err(|_| "pubkey length")?;
            let nonce = field_u64(a, "nonce")?;
            let balances = a
                .get("balances")
                .and_then(|b| b.as_array())
                .ok_or("balances missing")?
                .iter()
                .map(|x| x.as_u64().ok_or("balance not a u64"))
                .collect::<Result<Vec<u64>, _>>()?;
            if balances.len() != tokens {
                return Err("balances length".into());
            }
            if ledger.index.contains_key(&pubkey) {
                return Err("duplicate pubkey".into());
            }
            ledger.index.insert(pubkey, ledger.accounts.len());
            ledger.accounts.push(Account {
                pubkey,
                nonce,
                balances,
            });
        }
        let pools = match v.get("pools") {
            Some(p) => p.as_array().ok_or("pools: not an array")?,
            None => &empty,
        };
        for p in pools {
            let token_a = field_u64(p, "token_a")?;
            let token_b = field_u64(p, "token_b")?;
            let fee_bps = field_u64(p, "fee_bps")?;
            let reserve_a = field_u64(p, "reserve_a")?;
            let reserve_b = field_u64(p, "reserve_b")?;
            if token_a == token_b || token_a >= tokens as u64 || token_b >= tokens as u64 {
                return Err("pool tokens".into());
            }
            if fee_bps >= 10_000 {
                return Err("fee_bps".into());
            }
            if reserve_a == 0 || reserve_b == 0 {
                return Err("zero reserve".into());
            }
            let lp_token = p.get("lp_token");
            let lp_supply = p.get("lp_supply");
            let lp = match (lp_token, lp_supply) {
                (None, None) => None,
                (None, Some(_)) => return Err("lp_supply without lp_token".into()),
                (Some(t), s) => {
                    let t = t.as_u64().ok_or("lp_token")?;
                    let s = match s {
                        Some(s) => s.as_u64().ok_or("lp_supply")?,
                        None => 0,
                    };
                    if t == 0 || t >= tokens as u64 || t == token_a || t == token_b {
                        return Err("lp_token".into());
                    }
                    if s != 0 && s < MINIMUM_LIQUIDITY {
                        return Err("lp_supply below the minimum".into());
                    }
                    if big(s) * big(s) > big(reserve_a) * big(reserve_b) {
                        return Err("lp_supply squared above the reserves' product".into());
                    }
                    Some(Lp {
                        token: t as u16,
                        supply: s,
                    })
                }
            };
            ledger.pools.push(Pool {
                token_a: token_a as u16,
                token_b: token_b as u16,
                fee_bps: fee_bps as u16,
                reserve_a,
                reserve_b,
                lp,
            });
        }
        // Supply bound per token.
        let mut supply = vec![big(0); tokens];
        for a in &ledger.accounts {
            for (t, x) in a.balances.iter().enumerate() {
                supply[t] += big(*x);
            }
        }
        for p in &ledger.pools {
            supply[p.token_a as usize] += big(p.reserve_a);
            supply[p.token_b as usize] += big(p.reserve_b);
        }
        for s in &supply {
            if s > &big(u64::MAX) {
                return Err("token supply above 2^64 - 1".into());
            }
        }
        // LP tokens: one pool each, and every unit of T (plus 1000 when S > 0) equals S.
        for (i, p) in ledger.pools.iter().enumerate() {
            let Some(lp) = p.lp else { continue };
            for q in &ledger.pools[i + 1..] {
                if q.lp.map(|l| l.token) == Some(lp.token) {
                    return Err("two pools share an LP token".into());
                }
            }
            let mut units = supply[lp.token as usize].clone();
            if lp.supply > 0 {
                units += big(MINIMUM_LIQUIDITY);
            }
            if units != big(lp.supply) {
                return Err("LP token units differ from lp_supply".into());
            }
        }
        Ok(ledger)
    }

    pub fn account_index(&self, pubkey: &[u8; 32]) -> Option<usize> {
        self.index.get(pubkey).copied()
    }

    fn create_account(&mut self, pubkey: [u8; 32]) {
        if !self.index.contains_key(&pubkey) {
            self.index.insert(pubkey, self.accounts.len());
            self.accounts.push(Account {
                pubkey,
                nonce: 0,
                balances: vec![0; self.tokens],
            });
        }
    }

    pub fn account_leaf(&self, i: usize) -> [u8; 32] {
        let a = &self.accounts[i];
        let mut m = Vec::with_capacity(41 + 8 * self.tokens);
        m.push(0x00);
        m.extend_from_slice(&a.pubkey);
        m.extend_from_slice(&a.nonce.to_le_bytes());
        for x in &a.balances {
            m.extend_from_slice(&x.to_le_bytes());
        }
        *blake3::hash(&m).as_bytes()
    }

    pub fn accounts_root(&self) -> [u8; 32] {
        let leaves: Vec<[u8; 32]> = (0..self.accounts.len())
            .map(|i| self.account_leaf(i))
            .collect();
        merkle_root(&leaves)
    }

    pub fn pools_root(&self) -> [u8; 32] {
        let leaves: Vec<[u8; 32]> = self.pools.iter().map(Pool::leaf).collect();
        merkle_root(&leaves)
    }

    pub fn state_root(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&[0x03]);
        h.update(&self.accounts_root());
        h.update(&self.pools_root());
        *h.finalize().as_bytes()
    }

    /// Decodes and applies one block of `bytes` (all or nothing): the result and the
    /// bytes the block took, or why it was rejected.
    pub fn apply_block_bytes(&mut self, bytes: &[u8]) -> Result<(BlockResult, usize), String> {
        let (block, used) = decode_block(bytes)?;
        let r = self.apply_block(&block)?;
        Ok((r, used))
    }

    /// Applies a decoded block (all or nothing).
    pub fn apply_block(&mut self, block: &RawBlock) -> Result<BlockResult, String> {
        if block.height != self.height.wrapping_add(1) || self.height == u64::MAX {
            return Err(format!("height {} after {}", block.height, self.height));
        }
        if block.parent != self.last_block_hash {
            return Err("parent hash".into());
        }
        let mut next = self.clone();
        let result = next.execute(block);
        if block.claimed_root != [0; 32] && block.claimed_root != result.state_root {
            return Err("claimed state root differs".into());
        }
        next.height = block.height;
        next.last_block_hash = result.block_hash;
        *self = next;
        Ok(result)
    }

    /// The sequential semantics of one block on this ledger.
    fn execute(&mut self, block: &RawBlock) -> BlockResult {
        let n = block.txs.len();
        let tx_ids: Vec<[u8; 32]> = block
            .txs
            .iter()
            .map(|t| *blake3::hash(t).as_bytes())
            .collect();
        // Steps 1–2 for every tx, state-free.
        let decoded: Vec<Option<DecodedTx>> = block.txs.iter().map(|t| decode_tx(t)).collect();
        let sig_ok: Vec<bool> = (0..n)
            .map(|i| decoded[i].is_some() && signature_ok(self.rule, &block.txs[i]))
            .collect();
        // Resolve: recipients and the fee collector of every tx past steps 1–2, in block
        // order, the recipient first.
        for i in 0..n {
            if !sig_ok[i] {
                continue;
            }
            let tx = decoded[i].as_ref().unwrap();
            if let Action::Transfer { to, .. } = tx.action {
                self.create_account(to);
            }
            self.create_account(block.fee_collector);
        }
        let wave_of = self.waves(block, &decoded, &sig_ok);
        let waves = wave_of.iter().flatten().copied().max().unwrap_or(0);
        let fee_collector = self.account_index(&block.fee_collector);
        let mut receipts = Vec::with_capacity(n);
        for i in 0..n {
            let (status, amounts) = match &decoded[i] {
                None => (Status::Malformed, Amounts::Out { amount_out: 0 }),
                Some(tx) if !sig_ok[i] => (Status::BadSignature, zero_amounts(tx.kind)),
                Some(tx) => self.execute_tx(tx, fee_collector.expect("resolved")),
            };
            receipts.push(Receipt {
                tx_id: tx_ids[i],
                status,
                amounts,
            });
        }
        let tx_root = merkle_root(&tx_ids);
        let leaves: Vec<[u8; 32]> = receipts.iter().map(Receipt::leaf).collect();
        let receipts_root = merkle_root(&leaves);
        let state_root = self.state_root();
        let mut h = blake3::Hasher::new();
        h.update(&block.header);
        h.update(&tx_root);
        BlockResult {
            receipts,
            tx_root,
            receipts_root,
            state_root,
            block_hash: *h.finalize().as_bytes(),
            waves,
            wave_of,
        }
    }

    /// Applies one tx outside any block: its own resolve, then steps 1 onward. The block
    /// generator uses it to follow balances, reserves and nonces as a block is built.
    pub fn apply_loose(&mut self, tx: &[u8], fee_collector: &[u8; 32]) -> (Status, Amounts) {
        let Some(d) = decode_tx(tx) else {
            return (Status::Malformed, Amounts::Out { amount_out: 0 });
        };
        if !signature_ok(self.rule, tx) {
            return (Status::BadSignature, zero_amounts(d.kind));
        }
        if let Action::Transfer { to, .. } = d.action {
            self.create_account(to);
        }
        self.create_account(*fee_collector);
        let fc = self.account_index(fee_collector).unwrap();
        self.execute_tx(&d, fc)
    }

    /// ASAP waves (design: "Conflicts and waves"): the signer and every pool a tx names
    /// are Write, a transfer's recipient and the fee collector are Credit.
    fn waves(
        &self,
        block: &RawBlock,
        decoded: &[Option<DecodedTx>],
        sig_ok: &[bool],
    ) -> Vec<Option<usize>> {
        #[derive(Hash, PartialEq, Eq, Clone, Copy)]
        enum Key {
            Account([u8; 32]),
            Pool(u32),
        }
        let mut last_any: HashMap<Key, usize> = HashMap::new();
        let mut last_write: HashMap<Key, usize> = HashMap::new();
        let mut wave_of = vec![None; decoded.len()];
        for (i, tx) in decoded.iter().enumerate() {
            if !sig_ok[i] {
                continue;
            }
            let tx = tx.as_ref().unwrap();
            let mut writes = vec![Key::Account(tx.signer)];
            let mut credits = vec![Key::Account(block.fee_collector)];
            // A tx whose signer has no account stops at step 3 and touches no pool: it
            // keeps its signer's key and its credits (docs/SPEC.md, "Conflicts and waves",
            // where the design's "signer account" does not exist).
            let signer_known = self.index.contains_key(&tx.signer);
            match &tx.action {
                Action::Transfer { to, .. } => credits.push(Key::Account(*to)),
                Action::Swap { pool, .. }
                | Action::Add { pool, .. }
                | Action::Remove { pool, .. } => {
                    if signer_known {
                        writes.push(Key::Pool(*pool))
                    }
                }
                Action::Route { pools, .. } => {
                    if signer_known {
                        writes.extend(pools.iter().map(|p| Key::Pool(*p)))
                    }
                }
            }
            credits.retain(|k| !writes.contains(k));
            let mut wave = 1;
            for k in &writes {
                wave = wave.max(1 + last_any.get(k).copied().unwrap_or(0));
            }
            for k in &credits {
                wave = wave.max(1 + last_write.get(k).copied().unwrap_or(0));
            }
            for k in writes {
                last_any.insert(k, wave);
                last_write.insert(k, wave);
            }
            for k in credits {
                let e = last_any.entry(k).or_insert(0);
                *e = (*e).max(wave);
            }
            wave_of[i] = Some(wave);
        }
        wave_of
    }

    /// Steps 3 onward of one tx that decoded and whose signature holds.
    fn execute_tx(&mut self, tx: &DecodedTx, fee_collector: usize) -> (Status, Amounts) {
        let zero = zero_amounts(tx.kind);
        // 3
        let Some(s) = self.account_index(&tx.signer) else {
            return (Status::UnknownSigner, zero);
        };
        // 4
        if tx.nonce != self.accounts[s].nonce || tx.nonce == u64::MAX {
            return (Status::BadNonce, zero);
        }
        // 5
        if self.accounts[s].balances[0] < tx.fee {
            return (Status::InsufficientFee, zero);
        }
        // 6
        self.debit(s, 0, &big(tx.fee));
        self.accounts[s].nonce = fit(&(big(tx.nonce) + big(1))).expect("nonce below 2^64 − 1");
        self.credit(fee_collector, 0, &big(tx.fee));
        match &tx.action {
            Action::Transfer { to, token, amount } => {
                let r = self.account_index(to).expect("resolved");
                self.transfer(s, r, *token, *amount)
            }
            Action::Swap {
                pool,
                b_to_a,
                amount_in,
                min_out,
            } => self.swap(s, *pool, *b_to_a, *amount_in, *min_out),
            Action::Add {
                pool,
                a_desired,
                b_desired,
                a_min,
                b_min,
            } => self.add_liquidity(s, *pool, *a_desired, *b_desired, *a_min, *b_min),
            Action::Remove {
                pool,
                liquidity,
                a_min,
                b_min,
            } => self.remove_liquidity(s, *pool, *liquidity, *a_min, *b_min),
            Action::Route {
                exact_out,
                token_in,
                amount,
                limit,
                pools,
            } => self.route(s, *exact_out, *token_in, *amount, *limit, pools),
        }
    }

    /// Adds to a balance; the supply bound keeps every balance within u64.
    fn credit(&mut self, account: usize, token: usize, x: &BigUint) {
        let b = big(self.accounts[account].balances[token]) + x;
        self.accounts[account].balances[token] = fit(&b).expect("supply bound");
    }

    fn debit(&mut self, account: usize, token: usize, x: &BigUint) {
        let b = big(self.accounts[account].balances[token]) - x;
        self.accounts[account].balances[token] = fit(&b).expect("checked balance");
    }

    fn transfer(&mut self, s: usize, r: usize, token: u16, amount: u64) -> (Status, Amounts) {
        let zero = Amounts::Out { amount_out: 0 };
        if token as usize >= self.tokens {
            return (Status::UnknownToken, zero);
        }
        let t = token as usize;
        if self.accounts[s].balances[t] < amount {
            return (Status::InsufficientBalance, zero);
        }
        self.debit(s, t, &big(amount));
        self.credit(r, t, &big(amount));
        (Status::Ok, zero)
    }

    /// The input and output side of a pool for a direction: (token, reserve) pairs.
    fn sides(p: &Pool, b_to_a: bool) -> ((u16, u64), (u16, u64)) {
        if b_to_a {
            ((p.token_b, p.reserve_b), (p.token_a, p.reserve_a))
        } else {
            ((p.token_a, p.reserve_a), (p.token_b, p.reserve_b))
        }
    }

    /// Moves a hop's amounts through a pool: reserve_in += x_in, reserve_out −= x_out.
    fn move_reserves(&mut self, pool: usize, b_to_a: bool, x_in: &BigUint, x_out: &BigUint) {
        let p = &mut self.pools[pool];
        let (r_in, r_out) = if b_to_a {
            (&mut p.reserve_b, &mut p.reserve_a)
        } else {
            (&mut p.reserve_a, &mut p.reserve_b)
        };
        *r_in = fit(&(big(*r_in) + x_in)).expect("supply bound");
        *r_out = fit(&(big(*r_out) - x_out)).expect("output below the reserve");
    }

    fn swap(
        &mut self,
        s: usize,
        pool: u32,
        b_to_a: bool,
        amount_in: u64,
        min_out: u64,
    ) -> (Status, Amounts) {
        let zero = Amounts::Out { amount_out: 0 };
        let Some(p) = self.pools.get(pool as usize).copied() else {
            return (Status::UnknownPool, zero);
        };
        let ((t_in, r_in), (t_out, r_out)) = Self::sides(&p, b_to_a);
        if self.accounts[s].balances[t_in as usize] < amount_in {
            return (Status::InsufficientBalance, zero);
        }
        let x = big(amount_in);
        let out = amount_out(&x, r_in, r_out, p.fee_bps);
        if out < big(min_out) {
            return (Status::SlippageExceeded, zero);
        }
        self.debit(s, t_in as usize, &x);
        self.credit(s, t_out as usize, &out);
        self.move_reserves(pool as usize, b_to_a, &x, &out);
        (
            Status::Ok,
            Amounts::Out {
                amount_out: fit(&out).unwrap(),
            },
        )
    }

    fn add_liquidity(
        &mut self,
        s: usize,
        pool: u32,
        a_desired: u64,
        b_desired: u64,
        a_min: u64,
        b_min: u64,
    ) -> (Status, Amounts) {
        let zero = zero_amounts(KIND_ADD);
        // 7, 8
        let Some(p) = self.pools.get(pool as usize).copied() else {
            return (Status::UnknownPool, zero);
        };
        let Some(lp) = p.lp else {
            return (Status::NoLpToken, zero);
        };
        // 9
        let b_opt = quote(&big(a_desired), p.reserve_a, p.reserve_b);
        let (a_used, b_used) = if b_opt <= big(b_desired) {
            if b_opt < big(b_min) {
                return (Status::SlippageExceeded, zero);
            }
            (big(a_desired), b_opt)
        } else {
            let a_opt = quote(&big(b_desired), p.reserve_b, p.reserve_a);
            if a_opt < big(a_min) {
                return (Status::SlippageExceeded, zero);
            }
            (a_opt, big(b_desired))
        };
        // 10
        let bal = &self.accounts[s].balances;
        if big(bal[p.token_a as usize]) < a_used || big(bal[p.token_b as usize]) < b_used {
            return (Status::InsufficientBalance, zero);
        }
        // 11
        let (liquidity, new_supply) = if lp.supply == 0 {
            let root = isqrt(&(&a_used * &b_used));
            if root <= big(MINIMUM_LIQUIDITY) {
                return (Status::InsufficientLiquidity, zero);
            }
            (&root - big(MINIMUM_LIQUIDITY), root)
        } else {
            let by_a = &a_used * big(lp.supply) / big(p.reserve_a);
            let by_b = &b_used * big(lp.supply) / big(p.reserve_b);
            let l = by_a.min(by_b);
            if l == big(0) {
                return (Status::InsufficientLiquidity, zero);
            }
            let total = big(lp.supply) + &l;
            (l, total)
        };
        // 12
        self.debit(s, p.token_a as usize, &a_used);
        self.debit(s, p.token_b as usize, &b_used);
        self.credit(s, lp.token as usize, &liquidity);
        let q = &mut self.pools[pool as usize];
        q.reserve_a = fit(&(big(q.reserve_a) + &a_used)).expect("supply bound");
        q.reserve_b = fit(&(big(q.reserve_b) + &b_used)).expect("supply bound");
        q.lp = Some(Lp {
            token: lp.token,
            supply: fit(&new_supply).expect("S² ≤ reserve product"),
        });
        (
            Status::Ok,
            Amounts::Liquidity {
                amount_a: fit(&a_used).unwrap(),
                amount_b: fit(&b_used).unwrap(),
                liquidity: fit(&liquidity).unwrap(),
            },
        )
    }

    fn remove_liquidity(
        &mut self,
        s: usize,
        pool: u32,
        liquidity: u64,
        a_min: u64,
        b_min: u64,
    ) -> (Status, Amounts) {
        let zero = zero_amounts(KIND_REMOVE);
        // 7, 8
        let Some(p) = self.pools.get(pool as usize).copied() else {
            return (Status::UnknownPool, zero);
        };
        let Some(lp) = p.lp else {
            return (Status::NoLpToken, zero);
        };
        // 9
        if self.accounts[s].balances[lp.token as usize] < liquidity {
            return (Status::InsufficientBalance, zero);
        }
        // 10
        let (a_out, b_out) = if lp.supply == 0 {
            (big(0), big(0))
        } else {
            (
                big(liquidity) * big(p.reserve_a) / big(lp.supply),
                big(liquidity) * big(p.reserve_b) / big(lp.supply),
            )
        };
        if a_out < big(1) || b_out < big(1) {
            return (Status::InsufficientLiquidity, zero);
        }
        // 11
        if a_out < big(a_min) || b_out < big(b_min) {
            return (Status::SlippageExceeded, zero);
        }
        // 12
        let l = big(liquidity);
        self.debit(s, lp.token as usize, &l);
        self.credit(s, p.token_a as usize, &a_out);
        self.credit(s, p.token_b as usize, &b_out);
        let q = &mut self.pools[pool as usize];
        q.reserve_a = fit(&(big(q.reserve_a) - &a_out)).expect("at most the reserve");
        q.reserve_b = fit(&(big(q.reserve_b) - &b_out)).expect("at most the reserve");
        q.lp = Some(Lp {
            token: lp.token,
            supply: fit(&(big(lp.supply) - l)).expect("at most the supply"),
        });
        (
            Status::Ok,
            Amounts::Liquidity {
                amount_a: fit(&a_out).unwrap(),
                amount_b: fit(&b_out).unwrap(),
                liquidity,
            },
        )
    }

    fn route(
        &mut self,
        s: usize,
        exact_out: bool,
        token_in: u16,
        amount: u64,
        limit: u64,
        pools: &[u32],
    ) -> (Status, Amounts) {
        let zero = zero_amounts(KIND_ROUTE);
        // 7: every pool exists.
        if pools.iter().any(|&p| p as usize >= self.pools.len()) {
            return (Status::UnknownPool, zero);
        }
        // 8: the pools chain; each hop's direction follows from the token it takes.
        let mut hops: Vec<(usize, bool)> = Vec::with_capacity(pools.len());
        let mut token = token_in;
        for &id in pools {
            let p = &self.pools[id as usize];
            let b_to_a = if p.token_a == token {
                false
            } else if p.token_b == token {
                true
            } else {
                return (Status::BadRoute, zero);
            };
            token = if b_to_a { p.token_a } else { p.token_b };
            hops.push((id as usize, b_to_a));
        }
        let token_out = token;
        // 9: x_0 … x_n at full width, on the reserves as they stand (the pools are distinct).
        let n = hops.len();
        let mut x: Vec<BigUint> = vec![big(0); n + 1];
        if !exact_out {
            x[0] = big(amount);
            for i in 0..n {
                let (id, b_to_a) = hops[i];
                let p = &self.pools[id];
                let ((_, r_in), (_, r_out)) = Self::sides(p, b_to_a);
                x[i + 1] = amount_out(&x[i], r_in, r_out, p.fee_bps);
            }
        } else {
            x[n] = big(amount);
            for i in (0..n).rev() {
                let (id, b_to_a) = hops[i];
                let p = &self.pools[id];
                let ((_, r_in), (_, r_out)) = Self::sides(p, b_to_a);
                match amount_in(&x[i + 1], r_in, r_out, p.fee_bps) {
                    Some(v) => x[i] = v,
                    None => return (Status::InsufficientLiquidity, zero),
                }
            }
        }
        // 10: an x_0 of 2^64 or more is never covered.
        if big(self.accounts[s].balances[token_in as usize]) < x[0] {
            return (Status::InsufficientBalance, zero);
        }
        // 11
        let slipped = if exact_out {
            x[0] > big(limit)
        } else {
            x[n] < big(limit)
        };
        if slipped {
            return (Status::SlippageExceeded, zero);
        }
        // 12: pay x_0, then receive x_n; each hop moves its reserves.
        self.debit(s, token_in as usize, &x[0]);
        for i in 0..n {
            let (id, b_to_a) = hops[i];
            self.move_reserves(id, b_to_a, &x[i], &x[i + 1]);
        }
        self.credit(s, token_out as usize, &x[n]);
        (
            Status::Ok,
            Amounts::Route {
                amount_in: fit(&x[0]).unwrap(),
                amount_out: fit(&x[n]).unwrap(),
            },
        )
    }
}

// ---------------------------------------------------------------- Building transactions

/// A tx's bytes after the signature (kind onward), for the given action.
pub fn unsigned_body(signer: &[u8; 32], nonce: u64, fee: u64, action: &Action) -> Vec<u8> {
    let mut b = Vec::with_capacity(160);
    let kind = match action {
        Action::Transfer { .. } => KIND_TRANSFER,
        Action::Swap { .. } => KIND_SWAP,
        Action::Add { .. } => KIND_ADD,
        Action::Remove { .. } => KIND_REMOVE,
        Action::Route { .. } => KIND_ROUTE,
    };
    b.push(kind);
    b.extend_from_slice(signer);
    b.extend_from_slice(&nonce.to_le_bytes());
    b.extend_from_slice(&fee.to_le_bytes());
    match action {
        Action::Transfer { to, token, amount } => {
            b.extend_from_slice(to);
            b.extend_from_slice(&token.to_le_bytes());
            b.extend_from_slice(&amount.to_le_bytes());
        }
        Action::Swap {
            pool,
            b_to_a,
            amount_in,
            min_out,
        } => {
            b.extend_from_slice(&pool.to_le_bytes());
            b.push(*b_to_a as u8);
            b.extend_from_slice(&amount_in.to_le_bytes());
            b.extend_from_slice(&min_out.to_le_bytes());
        }
        Action::Add {
            pool,
            a_desired,
            b_desired,
            a_min,
            b_min,
        } => {
            b.extend_from_slice(&pool.to_le_bytes());
            for v in [a_desired, b_desired, a_min, b_min] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        Action::Remove {
            pool,
            liquidity,
            a_min,
            b_min,
        } => {
            b.extend_from_slice(&pool.to_le_bytes());
            for v in [liquidity, a_min, b_min] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        Action::Route {
            exact_out,
            token_in,
            amount,
            limit,
            pools,
        } => {
            b.push(*exact_out as u8);
            b.extend_from_slice(&token_in.to_le_bytes());
            b.extend_from_slice(&amount.to_le_bytes());
            b.extend_from_slice(&limit.to_le_bytes());
            b.push(pools.len() as u8);
            for p in pools {
                b.extend_from_slice(&p.to_le_bytes());
            }
        }
    }
    b
}

/// A signed tx (ed25519-dalek) of the key with this seed.
pub fn signed_tx(seed: &[u8; 32], nonce: u64, fee: u64, action: &Action) -> Vec<u8> {
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let signer = key.verifying_key().to_bytes();
    let body = unsigned_body(&signer, nonce, fee, action);
    sign_body(seed, body)
}

/// Signs bytes [64, len) of a tx with the key of this seed.
pub fn sign_body(seed: &[u8; 32], body: Vec<u8>) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let sig = key.sign(&body).to_bytes();
    let mut t = sig.to_vec();
    t.extend_from_slice(&body);
    t
}

pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}
