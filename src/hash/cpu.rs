//! CPU hashing: the `blake3` crate over rayon.

use rayon::prelude::*;

use crate::tx::Block;

/// Messages per rayon task: hashing a 150-byte message takes well under a microsecond,
/// so tasks must be coarse for the split to pay.
const MIN_PER_TASK: usize = 256;

/// BLAKE3 of every message.
pub fn hash_many(msgs: &[&[u8]]) -> Vec<[u8; 32]> {
    msgs.par_iter()
        .with_min_len(MIN_PER_TASK)
        .map(|m| *blake3::hash(m).as_bytes())
        .collect()
}

/// Tx ids of every transaction of a block, in block order.
pub fn tx_ids(block: &Block) -> Vec<[u8; 32]> {
    (0..block.tx_count())
        .into_par_iter()
        .with_min_len(MIN_PER_TASK)
        .map(|i| *blake3::hash(block.tx_bytes(i)).as_bytes())
        .collect()
}
