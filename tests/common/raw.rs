//! Raw block-log bytes for hostile-input tests: headers that declare anything, blocks of
//! any shape with valid checksums.

use txwave::internal::tx::BLOCK_HEADER_LEN;

/// The first bytes of a block: magic, height, parent, fee collector, no claimed root, and
/// the tx count it declares.
pub fn header(height: u64, parent: [u8; 32], tx_count: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(BLOCK_HEADER_LEN);
    h.extend_from_slice(b"TXWBLK01");
    h.extend_from_slice(&height.to_le_bytes());
    h.extend_from_slice(&parent);
    h.extend_from_slice(&[1; 32]);
    h.extend_from_slice(&[0; 32]);
    h.extend_from_slice(&tx_count.to_le_bytes());
    h
}

/// A whole block (checksum included) of `txs` transactions of `len` zero bytes each
/// (kind 0: each gets the `malformed` receipt, the block itself is valid).
pub fn block_of(height: u64, parent: [u8; 32], txs: u32, len: u16) -> Vec<u8> {
    let mut b = header(height, parent, txs);
    for _ in 0..txs {
        b.extend_from_slice(&len.to_le_bytes());
        b.resize(b.len() + len as usize, 0);
    }
    let sum = blake3::hash(&b);
    b.extend_from_slice(sum.as_bytes());
    b
}
