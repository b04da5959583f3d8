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

/// What a transaction does after paying its fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Token transfer.
    Transfer(Transfer),
    /// AMM swap.
    Swap(Swap),
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
    /// Decodes one transaction; `None` means the `malformed` receipt (wrong length for the
    /// kind, unknown kind, or a swap direction other than 0 or 1).
    pub fn decode(bytes: &[u8]) -> Option<Tx> {
        if bytes.len() <= KIND_OFFSET {
            return None;
        }
        let kind = bytes[KIND_OFFSET];
        let expected = match kind {
            KIND_TRANSFER => TRANSFER_LEN,
            KIND_SWAP => SWAP_LEN,
            _ => return None,
        };
        if bytes.len() != expected {
            return None;
        }
        let action = if kind == KIND_TRANSFER {
            Action::Transfer(Transfer {
                to: arr32(bytes, 113),
                token: u16_at(bytes, 145),
                amount: u64_at(bytes, 147),
            })
        } else {
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
        match self.action {
            Action::Transfer(_) => out.push(KIND_TRANSFER),
            Action::Swap(_) => out.push(KIND_SWAP),
        }
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

    /// The recipient of a transfer, if this is one.
    pub fn recipient(&self) -> Option<[u8; 32]> {
        match self.action {
            Action::Transfer(t) => Some(t.to),
            Action::Swap(_) => None,
        }
    }
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
        if self.height != height.wrapping_add(1) || height == u64::MAX {
            return Err(Error::BlockRejected {
                height: self.height,
                what: format!(
                    "height field: expected {}, found {}",
                    height.wrapping_add(1),
                    self.height
                ),
            });
        }
        if self.parent_hash != last_block_hash {
            return Err(Error::BlockRejected {
                height: self.height,
                what: format!(
                    "parent_hash field: expected {}, found {}",
                    hex::encode(last_block_hash),
                    hex::encode(self.parent_hash)
                ),
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
        Self::decode_at(bytes, 0, 0)
    }

    /// Decodes every block of a block log, in order. Errors name the block index and the
    /// absolute byte offset in `bytes`.
    pub fn decode_log(bytes: &[u8]) -> Result<Vec<Block>> {
        let mut blocks = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (block, end) = Self::decode_at(bytes, at, blocks.len())?;
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
        base: usize,
        index: usize,
    ) -> Result<(Block, usize)> {
        Self::decode_at(bytes, 0, index).map_err(|e| match e {
            Error::BlockDecode {
                block,
                offset,
                what,
            } => Error::BlockDecode {
                block,
                offset: base.saturating_add(offset),
                what,
            },
            other => other,
        })
    }

    /// Decodes the block that starts at `start`; returns it and the end offset.
    fn decode_at(bytes: &[u8], start: usize, index: usize) -> Result<(Block, usize)> {
        let err = |offset: usize, what: String| Error::BlockDecode {
            block: index,
            offset,
            what,
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
        let tx_count = u32_at(rest, 112) as usize;
        // Each tx takes at least its 2-byte length; never trust the count for allocation.
        let max_possible = (rest.len() - BLOCK_HEADER_LEN) / 2;
        let mut block = Block {
            height: u64_at(rest, 8),
            parent_hash: arr32(rest, 16),
            fee_collector: arr32(rest, 48),
            claimed_state_root: arr32(rest, 80),
            data: Vec::new(),
            offsets: Vec::with_capacity(tx_count.min(max_possible) + 1),
        };
        block.offsets.push(0);
        let mut at = BLOCK_HEADER_LEN;
        for i in 0..tx_count {
            if rest.len() < at + 2 {
                return Err(err(
                    start + at,
                    format!("truncated: tx {i} of {tx_count} has no length field"),
                ));
            }
            let len = u16_at(rest, at) as usize;
            at += 2;
            if rest.len() < at + len {
                return Err(err(
                    start + at,
                    format!(
                        "truncated: tx {i} of {tx_count} declares {len} bytes, {} left",
                        rest.len() - at
                    ),
                ));
            }
            block.data.extend_from_slice(&rest[at..at + len]);
            block.offsets.push(block.data.len() as u32);
            at += len;
        }
        // Growing by doubling leaves up to twice the bytes reserved; a stream keeps
        // several blocks in flight, so each holds only what it uses.
        block.data.shrink_to_fit();
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
        Ok((block, start + at + 32))
    }
}

/// Finds where a block's encoding ends from a growing prefix of it, without decoding it
/// (the decoder, [`Block::decode_streamed`], checks it afterwards). Used by `LogReader`
/// to read exactly one block at a time from a stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct BlockScan {
    /// Offset of the next tx length field (valid once the header was seen).
    at: usize,
    /// Txs whose length field has not been seen yet; `None` until the header was seen.
    txs_left: Option<u32>,
}

impl BlockScan {
    /// Scans `prefix`, the first bytes of one block (the same block, growing, between
    /// calls). `Some(n)`: hand the first `n` bytes to the decoder: the whole encoding, or
    /// just the header when its magic is wrong (the decoder then reports it). `None`: more
    /// bytes are needed.
    pub(crate) fn advance(&mut self, prefix: &[u8]) -> Option<usize> {
        let left = match self.txs_left {
            Some(n) => n,
            None => {
                if prefix.len() < BLOCK_HEADER_LEN {
                    return None;
                }
                if &prefix[..8] != BLOCK_MAGIC {
                    return Some(BLOCK_HEADER_LEN);
                }
                self.at = BLOCK_HEADER_LEN;
                u32_at(prefix, 112)
            }
        };
        let mut left = left;
        while left > 0 && prefix.len() >= self.at + 2 {
            self.at += 2 + u16_at(prefix, self.at) as usize;
            left -= 1;
        }
        self.txs_left = Some(left);
        let end = self.at + 32;
        (left == 0 && prefix.len() >= end).then_some(end)
    }
}
