//! Pipeline stage 1, decode: the transaction and block-log binary formats of docs/FORMATS.md.
//!
//! Transactions are kept as raw bytes inside a [`Block`] (their id is the hash of those
//! bytes) and decoded into [`Tx`] values once per block. A tx whose length does not match
//! its kind, or whose kind is unknown, is not a block error: it gets the `malformed`
//! receipt. Block-level damage (truncation, bad checksum, impossible counts) is an
//! [`Error::BlockDecode`] naming the block and the byte offset.

use ed25519_dalek::Signer;

use crate::error::{Error, Result};

/// Length of the signature prefix R ‖ S.
pub const SIGNATURE_LEN: usize = 64;
/// Byte offset of the kind byte.
pub const KIND_OFFSET: usize = 64;
/// Encoded length of a transfer.
pub const TRANSFER_LEN: usize = 155;
/// Encoded length of a swap.
pub const SWAP_LEN: usize = 134;
/// Kind byte of a transfer.
pub const KIND_TRANSFER: u8 = 1;
/// Kind byte of a swap.
pub const KIND_SWAP: u8 = 2;
/// Kind byte of a liquidity add.
pub const KIND_ADD_LIQUIDITY: u8 = 3;
/// Kind byte of a liquidity removal.
pub const KIND_REMOVE_LIQUIDITY: u8 = 4;
/// Kind byte of a route.
pub const KIND_ROUTE: u8 = 5;
/// Encoded length of a liquidity add.
pub const ADD_LIQUIDITY_LEN: usize = 149;
/// Encoded length of a liquidity removal.
pub const REMOVE_LIQUIDITY_LEN: usize = 141;
/// Encoded length of a route of no hops; each hop adds 4 bytes (its pool id).
pub const ROUTE_BASE_LEN: usize = 133;
/// Most pools a route goes through.
pub const MAX_HOPS: usize = 4;

/// Which side of a pool a swap sells into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sell token A, buy token B (encoded 0).
    AtoB,
    /// Sell token B, buy token A (encoded 1).
    BtoA,
}

/// Move `amount` of `token` from the signer to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transfer {
    /// Recipient public key (created by the resolve step if unknown).
    pub to: [u8; 32],
    /// Token id.
    pub token: u16,
    /// Amount moved.
    pub amount: u64,
}

/// Sell `amount_in` into a constant-product pool, requiring at least `min_out` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Swap {
    /// Pool index (genesis order).
    pub pool: u32,
    /// Which token is sold.
    pub direction: Direction,
    /// Amount of the sold token.
    pub amount_in: u64,
    /// Smallest acceptable amount of the bought token.
    pub min_out: u64,
}

/// Add liquidity to a pool with an LP token, as Uniswap v2's router `addLiquidity`: the
/// desired amounts are adjusted to the pool's ratio, and the side adjusted must stay at
/// or above its minimum (docs/SPEC.md, Liquidity and routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddLiquidity {
    /// Pool index (genesis order).
    pub pool: u32,
    /// Most of token A to put in.
    pub amount_a_desired: u64,
    /// Most of token B to put in.
    pub amount_b_desired: u64,
    /// Least of token A to put in if A is the adjusted side.
    pub amount_a_min: u64,
    /// Least of token B to put in if B is the adjusted side.
    pub amount_b_min: u64,
}

/// Burn `liquidity` LP shares of a pool for its tokens pro rata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoveLiquidity {
    /// Pool index (genesis order).
    pub pool: u32,
    /// Shares burned.
    pub liquidity: u64,
    /// Least of token A to receive.
    pub amount_a_min: u64,
    /// Least of token B to receive.
    pub amount_b_min: u64,
}

/// Which end of a route is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteMode {
    /// `amount` is the input; `limit` the least output (encoded 0).
    ExactIn,
    /// `amount` is the output; `limit` the most input (encoded 1).
    ExactOut,
}

/// Swap along up to [`MAX_HOPS`] distinct pools, from `token_in` to whatever the last
/// pool gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Exact in or exact out.
    pub mode: RouteMode,
    /// Token the signer pays.
    pub token_in: u16,
    /// Input (exact in) or output (exact out); at least 1.
    pub amount: u64,
    /// Least output (exact in) or most input (exact out).
    pub limit: u64,
    /// Number of pools, 1 to [`MAX_HOPS`].
    pub hops: u8,
    /// The pools in order; entries from `hops` on are 0.
    pub pools: [u32; MAX_HOPS],
}

impl Route {
    /// The pools of the route, in order.
    pub fn pools(&self) -> &[u32] {
        &self.pools[..(self.hops as usize).min(MAX_HOPS)]
    }

    /// A route through `pools` (1 to [`MAX_HOPS`] of them, else `None`).
    pub fn new(
        mode: RouteMode,
        token_in: u16,
        amount: u64,
        limit: u64,
        pools: &[u32],
    ) -> Option<Route> {
        if pools.is_empty() || pools.len() > MAX_HOPS {
            return None;
        }
        let mut padded = [0; MAX_HOPS];
        padded[..pools.len()].copy_from_slice(pools);
        Some(Route {
            mode,
            token_in,
            amount,
            limit,
            hops: pools.len() as u8,
            pools: padded,
        })
    }
}

/// What a transaction does after paying its fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Token transfer.
    Transfer(Transfer),
    /// AMM swap.
    Swap(Swap),
    /// Liquidity in for LP shares.
    AddLiquidity(AddLiquidity),
    /// LP shares in for liquidity out.
    RemoveLiquidity(RemoveLiquidity),
    /// Swap through several pools.
    Route(Route),
}

impl Action {
    /// The kind byte of this action.
    pub fn kind(&self) -> u8 {
        match self {
            Action::Transfer(_) => KIND_TRANSFER,
            Action::Swap(_) => KIND_SWAP,
            Action::AddLiquidity(_) => KIND_ADD_LIQUIDITY,
            Action::RemoveLiquidity(_) => KIND_REMOVE_LIQUIDITY,
            Action::Route(_) => KIND_ROUTE,
        }
    }
}

/// A decoded transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tx {
    /// Ed25519 signature R ‖ S over the encoding from byte 64 on.
    pub signature: [u8; 64],
    /// Signer public key.
    pub signer: [u8; 32],
    /// Must equal the signer account's nonce.
    pub nonce: u64,
    /// Fee in token 0, paid to the block's fee collector.
    pub fee: u64,
    /// The transfer or swap.
    pub action: Action,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4-byte slice"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8-byte slice"))
}
fn arr32(b: &[u8], at: usize) -> [u8; 32] {
    b[at..at + 32].try_into().expect("32-byte slice")
}

impl Tx {
    /// Decodes one transaction; `None` means the `malformed` receipt: a length that does
    /// not match the kind, an unknown kind, a swap direction other than 0 or 1, or a route
    /// whose mode, hop count, pools or amount do not decode (docs/FORMATS.md).
    pub fn decode(bytes: &[u8]) -> Option<Tx> {
        if bytes.len() <= KIND_OFFSET {
            return None;
        }
        let kind = bytes[KIND_OFFSET];
        let expected = match kind {
            KIND_TRANSFER => TRANSFER_LEN,
            KIND_SWAP => SWAP_LEN,
            KIND_ADD_LIQUIDITY => ADD_LIQUIDITY_LEN,
            KIND_REMOVE_LIQUIDITY => REMOVE_LIQUIDITY_LEN,
            // The hop count is inside the tx: read it only once the fixed part is there.
            KIND_ROUTE if bytes.len() > ROUTE_BASE_LEN - 1 => {
                ROUTE_BASE_LEN + 4 * bytes[ROUTE_BASE_LEN - 1] as usize
            }
            KIND_ROUTE => return None,
            _ => return None,
        };
        if bytes.len() != expected {
            return None;
        }
        let action = match kind {
            KIND_TRANSFER => Action::Transfer(Transfer {
                to: arr32(bytes, 113),
                token: u16_at(bytes, 145),
                amount: u64_at(bytes, 147),
            }),
            KIND_SWAP => {
                let direction = match bytes[117] {
                    0 => Direction::AtoB,
                    1 => Direction::BtoA,
                    _ => return None,
                };
                Action::Swap(Swap {
                    pool: u32_at(bytes, 113),
                    direction,
                    amount_in: u64_at(bytes, 118),
                    min_out: u64_at(bytes, 126),
                })
            }
            KIND_ADD_LIQUIDITY => Action::AddLiquidity(AddLiquidity {
                pool: u32_at(bytes, 113),
                amount_a_desired: u64_at(bytes, 117),
                amount_b_desired: u64_at(bytes, 125),
                amount_a_min: u64_at(bytes, 133),
                amount_b_min: u64_at(bytes, 141),
            }),
            KIND_REMOVE_LIQUIDITY => Action::RemoveLiquidity(RemoveLiquidity {
                pool: u32_at(bytes, 113),
                liquidity: u64_at(bytes, 117),
                amount_a_min: u64_at(bytes, 125),
                amount_b_min: u64_at(bytes, 133),
            }),
            _ => Action::Route(decode_route(bytes)?),
        };
        Some(Tx {
            signature: bytes[..64].try_into().expect("64-byte slice"),
            signer: arr32(bytes, 65),
            nonce: u64_at(bytes, 97),
            fee: u64_at(bytes, 105),
            action,
        })
    }

    /// The encoding without the signature: the bytes the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TRANSFER_LEN - SIGNATURE_LEN);
        out.push(self.action.kind());
        out.extend_from_slice(&self.signer);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.fee.to_le_bytes());
        match self.action {
            Action::Transfer(t) => {
                out.extend_from_slice(&t.to);
                out.extend_from_slice(&t.token.to_le_bytes());
                out.extend_from_slice(&t.amount.to_le_bytes());
            }
            Action::Swap(s) => {
                out.extend_from_slice(&s.pool.to_le_bytes());
                out.push(match s.direction {
                    Direction::AtoB => 0,
                    Direction::BtoA => 1,
                });
                out.extend_from_slice(&s.amount_in.to_le_bytes());
                out.extend_from_slice(&s.min_out.to_le_bytes());
            }
            Action::AddLiquidity(a) => {
                out.extend_from_slice(&a.pool.to_le_bytes());
                for v in [
                    a.amount_a_desired,
                    a.amount_b_desired,
                    a.amount_a_min,
                    a.amount_b_min,
                ] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Action::RemoveLiquidity(r) => {
                out.extend_from_slice(&r.pool.to_le_bytes());
                for v in [r.liquidity, r.amount_a_min, r.amount_b_min] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Action::Route(r) => {
                out.push(match r.mode {
                    RouteMode::ExactIn => 0,
                    RouteMode::ExactOut => 1,
                });
                out.extend_from_slice(&r.token_in.to_le_bytes());
                out.extend_from_slice(&r.amount.to_le_bytes());
                out.extend_from_slice(&r.limit.to_le_bytes());
                // A route built in memory with more than MAX_HOPS hops encodes only its
                // first MAX_HOPS pools under its own hop count, and so decodes malformed.
                out.push(r.hops);
                for p in &r.pools[..(r.hops as usize).min(MAX_HOPS)] {
                    out.extend_from_slice(&p.to_le_bytes());
                }
            }
        }
        out
    }

    /// Full encoding: signature followed by the signed bytes.
    pub fn encode(&self) -> Vec<u8> {
        let body = self.signing_bytes();
        let mut out = Vec::with_capacity(SIGNATURE_LEN + body.len());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&body);
        out
    }

    /// Builds and signs a transaction with the key derived from a 32-byte seed; the
    /// signer field is set to that key's public key.
    pub fn signed(seed: &[u8; 32], nonce: u64, fee: u64, action: Action) -> Tx {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let mut tx = Tx {
            signature: [0; 64],
            signer: key.verifying_key().to_bytes(),
            nonce,
            fee,
            action,
        };
        tx.signature = key.sign(&tx.signing_bytes()).to_bytes();
        tx
    }

    /// The recipient of a transfer, if this is one: the only account a kind names by
    /// public key besides the signer (resolve creates it when unknown).
    pub fn recipient(&self) -> Option<[u8; 32]> {
        match self.action {
            Action::Transfer(t) => Some(t.to),
            Action::Swap(_)
            | Action::AddLiquidity(_)
            | Action::RemoveLiquidity(_)
            | Action::Route(_) => None,
        }
    }
}

/// The fields of a route after the common 113 bytes, checked as docs/FORMATS.md says: mode
/// 0 or 1, 1 to [`MAX_HOPS`] hops, pairwise distinct pools, amount at least 1. The length
/// was checked against the hop count by the caller.
fn decode_route(bytes: &[u8]) -> Option<Route> {
    let mode = match bytes[113] {
        0 => RouteMode::ExactIn,
        1 => RouteMode::ExactOut,
        _ => return None,
    };
    let hops = bytes[ROUTE_BASE_LEN - 1] as usize;
    if hops == 0 || hops > MAX_HOPS {
        return None;
    }
    let amount = u64_at(bytes, 116);
    if amount == 0 {
        return None;
    }
    let mut pools = [0u32; MAX_HOPS];
    for i in 0..hops {
        let p = u32_at(bytes, ROUTE_BASE_LEN + 4 * i);
        if pools[..i].contains(&p) {
            return None;
        }
        pools[i] = p;
    }
    Some(Route {
        mode,
        token_in: u16_at(bytes, 114),
        amount,
        limit: u64_at(bytes, 124),
        hops: hops as u8,
        pools,
    })
}

/// Public key of the signing key derived from `seed`.
pub fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// Magic bytes opening every block.
pub const BLOCK_MAGIC: &[u8; 8] = b"TXWBLK01";
/// Bytes from the magic to tx_count inclusive.
pub const BLOCK_HEADER_LEN: usize = 8 + 8 + 32 + 32 + 32 + 4;

/// Default [`DecodeLimits::max_block_bytes`]: 256 MiB. The largest block the tx bound
/// allows, 2^20 transfers of 155 bytes, encodes in 165 MB; 256 MiB leaves room for that
/// and for txs of unknown kinds while keeping a stream's worst case (at most
/// `2 × queue depth + 3` blocks in flight, 7 by default) under 2 GiB.
pub const MAX_BLOCK_BYTES: u64 = 256 << 20;
/// Default [`DecodeLimits::max_block_txs`]: 2^20 transactions, 20 times the largest
/// blocks txwave's benchmarks use. A decoded tx with its id and verdict takes about
/// 200 bytes in memory whatever its encoded length (an empty tx encodes in 2 bytes), so
/// this bound, not the byte bound, caps a block of tiny txs: about 200 MiB decoded.
pub const MAX_BLOCK_TXS: u32 = 1 << 20;
/// The largest [`DecodeLimits::max_block_bytes`] accepted: tx offsets inside a block are
/// 32-bit.
pub const BLOCK_BYTES_CEILING: u64 = u32::MAX as u64;

/// Bounds on what a block may declare, checked while it is read and before the bytes it
/// declares are buffered: a block over them is an [`Error::BlockTooLarge`] naming the
/// block, the byte offset, the declared value and the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Bytes of one block's encoding, header to checksum (default [`MAX_BLOCK_BYTES`],
    /// at most [`BLOCK_BYTES_CEILING`]).
    pub max_block_bytes: u64,
    /// Transactions in one block (default [`MAX_BLOCK_TXS`]).
    pub max_block_txs: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_block_bytes: MAX_BLOCK_BYTES,
            max_block_txs: MAX_BLOCK_TXS,
        }
    }
}

impl DecodeLimits {
    /// Checks the bounds themselves: a block size from the smallest block (an empty one,
    /// 148 bytes) to [`BLOCK_BYTES_CEILING`].
    pub fn check(&self) -> Result<()> {
        let smallest = (BLOCK_HEADER_LEN + 32) as u64;
        if !(smallest..=BLOCK_BYTES_CEILING).contains(&self.max_block_bytes) {
            return Err(Error::InvalidArgument(format!(
                "max_block_bytes must be between {smallest} (an empty block) and {BLOCK_BYTES_CEILING}, got {}",
                self.max_block_bytes
            )));
        }
        Ok(())
    }

    /// Checks a block built in memory (not decoded) against these bounds, as decoding
    /// would have: its tx count and its encoded size. `index` names it in the error.
    pub(crate) fn check_block(&self, block: &Block, index: usize) -> Result<()> {
        let txs = block.tx_count() as u64;
        if txs > u64::from(self.max_block_txs) {
            return Err(Error::BlockTooLarge {
                block: index,
                offset: 112,
                field: "tx_count",
                declared: txs,
                bound: u64::from(self.max_block_txs),
                setting: "max_block_txs",
            });
        }
        let bytes = block.encoded_len();
        if bytes > self.max_block_bytes {
            return Err(Error::BlockTooLarge {
                block: index,
                offset: 0,
                field: "block size",
                declared: bytes,
                bound: self.max_block_bytes,
                setting: "max_block_bytes",
            });
        }
        Ok(())
    }
}

/// One block: header fields and the raw bytes of its transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Must be the state's height + 1.
    pub height: u64,
    /// Must be the state's last block hash.
    pub parent_hash: [u8; 32],
    /// Account credited with every fee of the block.
    pub fee_collector: [u8; 32],
    /// State root after the block; all zero means not claimed.
    pub claimed_state_root: [u8; 32],
    data: Vec<u8>,
    offsets: Vec<u32>,
}

impl Block {
    /// An empty block.
    pub fn new(
        height: u64,
        parent_hash: [u8; 32],
        fee_collector: [u8; 32],
        claimed_state_root: [u8; 32],
    ) -> Self {
        Block {
            height,
            parent_hash,
            fee_collector,
            claimed_state_root,
            data: Vec::new(),
            offsets: vec![0],
        }
    }

    /// Appends raw transaction bytes (any content; at most 65535 bytes, the u16 length field).
    pub fn push_tx_bytes(&mut self, tx: &[u8]) -> Result<()> {
        if tx.len() > u16::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "a tx is at most 65535 bytes, got {}",
                tx.len()
            )));
        }
        if self.offsets.len() > u32::MAX as usize || self.data.len() + tx.len() > u32::MAX as usize
        {
            return Err(Error::InvalidArgument("block too large".into()));
        }
        self.data.extend_from_slice(tx);
        self.offsets.push(self.data.len() as u32);
        Ok(())
    }

    /// Appends an encoded transaction.
    pub fn push_tx(&mut self, tx: &Tx) {
        self.push_tx_bytes(&tx.encode())
            .expect("an encoded tx is at most 155 bytes");
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Bytes of this block's log encoding: header, length fields, txs and checksum.
    pub fn encoded_len(&self) -> u64 {
        (BLOCK_HEADER_LEN + 32) as u64 + 2 * self.tx_count() as u64 + self.data.len() as u64
    }

    /// Raw bytes of transaction `i`.
    pub fn tx_bytes(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Iterator over the raw bytes of every transaction, in block order.
    pub fn txs(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.offsets
            .windows(2)
            .map(|w| &self.data[w[0] as usize..w[1] as usize])
    }

    /// The claimed state root, if the block claims one.
    pub fn claimed_root(&self) -> Option<[u8; 32]> {
        (self.claimed_state_root != [0; 32]).then_some(self.claimed_state_root)
    }

    /// The header bytes from the magic to tx_count inclusive.
    pub fn header_bytes(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut h = [0u8; BLOCK_HEADER_LEN];
        h[..8].copy_from_slice(BLOCK_MAGIC);
        h[8..16].copy_from_slice(&self.height.to_le_bytes());
        h[16..48].copy_from_slice(&self.parent_hash);
        h[48..80].copy_from_slice(&self.fee_collector);
        h[80..112].copy_from_slice(&self.claimed_state_root);
        h[112..116].copy_from_slice(&(self.tx_count() as u32).to_le_bytes());
        h
    }

    /// Checks that this block follows the tip of a chain whose last block has `height` and
    /// hash `last_block_hash` (docs/SPEC.md, Block acceptance): height + 1 and that parent.
    /// The error names the field, the expected and the found value.
    pub fn check_follows(&self, height: u64, last_block_hash: [u8; 32]) -> Result<()> {
        let expected = height.checked_add(1);
        if expected != Some(self.height) {
            return Err(Error::WrongHeight {
                // A state at u64::MAX takes no block; no u64 height is its next one.
                expected: expected.unwrap_or(u64::MAX),
                found: self.height,
            });
        }
        if self.parent_hash != last_block_hash {
            return Err(Error::WrongParent {
                height: self.height,
                expected: last_block_hash,
                found: self.parent_hash,
            });
        }
        Ok(())
    }

    /// block_hash = BLAKE3(header bytes ‖ tx_root).
    pub fn block_hash(&self, tx_root: &[u8; 32]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&self.header_bytes());
        h.update(tx_root);
        *h.finalize().as_bytes()
    }

    /// Appends the block-log encoding of this block (with its checksum) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.header_bytes());
        for tx in self.txs() {
            out.extend_from_slice(&(tx.len() as u16).to_le_bytes());
            out.extend_from_slice(tx);
        }
        let checksum = blake3::hash(&out[start..]);
        out.extend_from_slice(checksum.as_bytes());
    }

    /// The block-log encoding of this block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(BLOCK_HEADER_LEN + self.data.len() + 2 * self.tx_count() + 32);
        self.encode_into(&mut out);
        out
    }

    /// Decodes the block at the start of `bytes`; returns it and the bytes consumed.
    /// Errors name block 0 and the offset within `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<(Block, usize)> {
        Self::decode_at(bytes, 0, 0, &DecodeLimits::default())
    }

    /// Decodes every block of a block log, in order. Errors name the block index and the
    /// absolute byte offset in `bytes`.
    pub fn decode_log(bytes: &[u8]) -> Result<Vec<Block>> {
        Self::decode_log_with(bytes, &DecodeLimits::default())
    }

    /// [`Block::decode_log`] under `limits` instead of the default bounds.
    pub fn decode_log_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<Block>> {
        limits.check()?;
        let mut blocks = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (block, end) = Self::decode_at(bytes, at, blocks.len(), limits)?;
            blocks.push(block);
            at = end;
        }
        if blocks.is_empty() {
            return Err(Error::BlockDecode {
                block: 0,
                offset: 0,
                what: "empty block log: expected at least one block".into(),
            });
        }
        Ok(blocks)
    }

    /// Decodes one block from `bytes`, which hold it from its first byte (and possibly
    /// less than all of it, when the log ends early). Errors name block `index` and the
    /// offset `base + ` the position in `bytes`: the same errors [`Block::decode_log`]
    /// gives for a log whose block `index` starts at byte `base`. Used by `LogReader`.
    pub(crate) fn decode_streamed(
        bytes: &[u8],
        base: u64,
        index: usize,
        limits: &DecodeLimits,
    ) -> Result<(Block, usize)> {
        Self::decode_at(bytes, 0, index, limits).map_err(|e| match e {
            Error::BlockDecode {
                block,
                offset,
                what,
            } => Error::BlockDecode {
                block,
                offset: usize::try_from(base)
                    .unwrap_or(usize::MAX)
                    .saturating_add(offset),
                what,
            },
            Error::BlockTooLarge {
                block,
                offset,
                field,
                declared,
                bound,
                setting,
            } => Error::BlockTooLarge {
                block,
                offset: base.saturating_add(offset),
                field,
                declared,
                bound,
                setting,
            },
            other => other,
        })
    }

    /// Decodes the block that starts at `start`; returns it and the end offset. Every
    /// size the block declares is checked against `limits` before it is used, and every
    /// position is checked arithmetic: nothing a hostile block declares can wrap.
    fn decode_at(
        bytes: &[u8],
        start: usize,
        index: usize,
        limits: &DecodeLimits,
    ) -> Result<(Block, usize)> {
        let err = |offset: usize, what: String| Error::BlockDecode {
            block: index,
            offset,
            what,
        };
        let too_large =
            |offset: usize, field, declared: u64, bound: u64, setting| Error::BlockTooLarge {
                block: index,
                offset: offset as u64,
                field,
                declared,
                bound,
                setting,
            };
        let rest = &bytes[start..];
        if rest.len() < BLOCK_HEADER_LEN {
            return Err(err(
                bytes.len(),
                format!(
                    "truncated header: need {BLOCK_HEADER_LEN} bytes, {} left",
                    rest.len()
                ),
            ));
        }
        if &rest[..8] != BLOCK_MAGIC {
            return Err(err(
                start,
                format!("bad magic {:02x?}, expected \"TXWBLK01\"", &rest[..8]),
            ));
        }
        let declared_txs = u32_at(rest, 112);
        if declared_txs > limits.max_block_txs {
            return Err(too_large(
                start + 112,
                "tx_count",
                u64::from(declared_txs),
                u64::from(limits.max_block_txs),
                "max_block_txs",
            ));
        }
        // Header, a 2-byte length per tx and the checksum: the least the count declares.
        let least = (BLOCK_HEADER_LEN + 32) as u64 + 2 * u64::from(declared_txs);
        if least > limits.max_block_bytes {
            return Err(too_large(
                start + 112,
                "block size (tx_count × 2-byte lengths at least)",
                least,
                limits.max_block_bytes,
                "max_block_bytes",
            ));
        }
        let tx_count = declared_txs as usize;
        // Pass 1 walks the length fields only: every bound, truncation and the checksum are
        // checked before a byte is copied, so a block that fails costs no copy of itself.
        // `at` and every end below are bounded by max_block_bytes ≤ u32::MAX (checked
        // first), so u64 arithmetic cannot wrap and the u32 offsets cannot either.
        let mut at: u64 = BLOCK_HEADER_LEN as u64;
        for i in 0..tx_count {
            let here = at as usize;
            if rest.len() < here + 2 {
                return Err(err(
                    start + here,
                    format!("truncated: tx {i} of {tx_count} has no length field"),
                ));
            }
            let len = u64::from(u16_at(rest, here));
            // This tx's end, the length fields of the txs after it and the checksum.
            let least = at + 2 + len + 2 * (tx_count - i - 1) as u64 + 32;
            if least > limits.max_block_bytes {
                return Err(too_large(
                    start + here,
                    "block size (the txs up to this one's length field, the rest's lengths and the checksum at least)",
                    least,
                    limits.max_block_bytes,
                    "max_block_bytes",
                ));
            }
            at += 2;
            if (rest.len() as u64) < at + len {
                return Err(err(
                    start + at as usize,
                    format!(
                        "truncated: tx {i} of {tx_count} declares {len} bytes, {} left",
                        rest.len() - at as usize
                    ),
                ));
            }
            at += len;
        }
        let at = at as usize;
        if rest.len() < at + 32 {
            return Err(err(
                start + at,
                format!(
                    "truncated: checksum needs 32 bytes, {} left",
                    rest.len() - at
                ),
            ));
        }
        let computed = blake3::hash(&rest[..at]);
        if computed.as_bytes()[..] != rest[at..at + 32] {
            return Err(err(
                start + at,
                format!(
                    "checksum mismatch: block says {}, bytes hash to {}",
                    hex::encode(&rest[at..at + 32]),
                    computed.to_hex()
                ),
            ));
        }
        // Pass 2 copies the txs into storage of exactly their size (a stream keeps several
        // blocks in flight, so each holds only what it uses).
        let data_len = at - BLOCK_HEADER_LEN - 2 * tx_count;
        let mut block = Block {
            height: u64_at(rest, 8),
            parent_hash: arr32(rest, 16),
            fee_collector: arr32(rest, 48),
            claimed_state_root: arr32(rest, 80),
            data: Vec::with_capacity(data_len),
            offsets: Vec::with_capacity(tx_count + 1),
        };
        block.offsets.push(0);
        let mut from = BLOCK_HEADER_LEN;
        for _ in 0..tx_count {
            let len = u16_at(rest, from) as usize;
            block
                .data
                .extend_from_slice(&rest[from + 2..from + 2 + len]);
            let end = u32::try_from(block.data.len())
                .expect("block data is bounded by max_block_bytes ≤ u32::MAX");
            block.offsets.push(end);
            from += 2 + len;
        }
        Ok((block, start + at + 32))
    }
}

/// Finds where a block's encoding ends from a growing prefix of it, without decoding it
/// (the decoder, [`Block::decode_streamed`], checks it afterwards). Used by `LogReader`
/// to read exactly one block at a time from a stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct BlockScan {
    /// Offset of the next tx length field (valid once the header was seen).
    at: u64,
    /// Txs whose length field has not been seen yet; `None` until the header was seen.
    txs_left: Option<u32>,
}

impl BlockScan {
    /// Scans `prefix`, the first bytes of one block (the same block, growing, between
    /// calls). `Some(n)`: hand the first `n` bytes to the decoder: the whole encoding,
    /// just the header when its magic is wrong or its tx count is over `limits`, or the
    /// bytes up to the length field that takes the block over `limits` (the decoder then
    /// reports it, so a reader never buffers more than the bound). `None`: more bytes are
    /// needed.
    pub(crate) fn advance(&mut self, prefix: &[u8], limits: &DecodeLimits) -> Option<usize> {
        let mut left = match self.txs_left {
            Some(n) => n,
            None => {
                if prefix.len() < BLOCK_HEADER_LEN {
                    return None;
                }
                let count = u32_at(prefix, 112);
                let least = (BLOCK_HEADER_LEN + 32) as u64 + 2 * u64::from(count);
                if &prefix[..8] != BLOCK_MAGIC
                    || count > limits.max_block_txs
                    || least > limits.max_block_bytes
                {
                    return Some(BLOCK_HEADER_LEN);
                }
                self.at = BLOCK_HEADER_LEN as u64;
                count
            }
        };
        let have = prefix.len() as u64;
        while left > 0 && have >= self.at + 2 {
            let len = u64::from(u16_at(prefix, self.at as usize));
            let least = self.at + 2 + len + 2 * u64::from(left - 1) + 32;
            if least > limits.max_block_bytes {
                return Some((self.at + 2) as usize);
            }
            self.at += 2 + len;
            left -= 1;
        }
        self.txs_left = Some(left);
        let end = self.at + 32;
        (left == 0 && have >= end).then_some(end as usize)
    }
}
