//! CPU twin of `shaders/merkle.wgsl`: the same functions under the same names and in the
//! same loop shape, compared with the shader and with [`crate::commit::merkle_root`] in tests.

use super::NODE_TAG;
use super::gpu::LevelParams;
use crate::hash::twin::{
    BLAKE3_BLOCK_LEN, BLAKE3_CHUNK_END, BLAKE3_CHUNK_START, BLAKE3_IV, BLAKE3_ROOT,
    blake3_compress, words_to_digests,
};

/// The interior-node domain byte as a word; keep in sync with `MERKLE_NODE_TAG`.
pub const MERKLE_NODE_TAG: u32 = NODE_TAG as u32;

/// BLAKE3(0x01 ‖ left ‖ right) of two nodes held as 8 little-endian words each.
pub fn node_hash(left: [u32; 8], right: [u32; 8]) -> [u32; 8] {
    let (l, r) = (left, right);
    let mut b0 = [0u32; 16];
    b0[0] = MERKLE_NODE_TAG | (l[0] << 8);
    for k in 1..8 {
        b0[k] = (l[k - 1] >> 24) | (l[k] << 8);
    }
    b0[8] = (l[7] >> 24) | (r[0] << 8);
    for k in 9..16 {
        b0[k] = (r[k - 9] >> 24) | (r[k - 8] << 8);
    }
    let mut b1 = [0u32; 16];
    b1[0] = r[7] >> 24;
    let cv = blake3_compress(BLAKE3_IV, b0, 0, 0, BLAKE3_BLOCK_LEN, BLAKE3_CHUNK_START);
    blake3_compress(cv, b1, 0, 0, 1, BLAKE3_CHUNK_END | BLAKE3_ROOT)
}

fn load_node(nodes: &[u32], index: u32) -> [u32; 8] {
    let at = index as usize * 8;
    let mut node = [0u32; 8];
    node.copy_from_slice(&nodes[at..at + 8]);
    node
}

fn store_node(nodes: &mut [u32], index: u32, node: [u32; 8]) {
    let at = index as usize * 8;
    nodes[at..at + 8].copy_from_slice(&node);
}

/// Invocation `j` of the `merkle_level` entry point.
pub fn merkle_level(j: u32, level: &LevelParams, nodes_in: &[u32], nodes_out: &mut [u32]) {
    let n_out = level.n_in / 2 + (level.n_in & 1);
    if j >= n_out {
        return;
    }
    let left = load_node(nodes_in, 2 * j);
    if 2 * j + 1 < level.n_in {
        store_node(
            nodes_out,
            j,
            node_hash(left, load_node(nodes_in, 2 * j + 1)),
        );
    } else {
        store_node(nodes_out, j, left);
    }
}

/// The Merkle root computed level by level with [`merkle_level`], as the GPU does.
///
/// Precondition: fewer than 2^32 leaves.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return [0u8; 32];
    }
    let mut nodes: Vec<u32> = leaves
        .iter()
        .flat_map(|l| {
            l.chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        })
        .collect();
    let mut n_in = leaves.len() as u32;
    while n_in > 1 {
        let level = LevelParams { n_in, pad: [0; 3] };
        let n_out = n_in / 2 + (n_in & 1);
        let mut next = vec![0u32; n_out as usize * 8];
        for j in 0..n_out {
            merkle_level(j, &level, &nodes, &mut next);
        }
        nodes = next;
        n_in = n_out;
    }
    words_to_digests(&nodes[..8])[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u32) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
            .collect()
    }

    #[test]
    fn node_hash_matches_commit_node_hash() {
        // Leaves with every byte value in every position, so a wrong shift shows.
        for s in 0..64u8 {
            let l: [u8; 32] = std::array::from_fn(|i| {
                s.wrapping_mul(37).wrapping_add((i as u8).wrapping_mul(11))
            });
            let r: [u8; 32] = std::array::from_fn(|i| s.wrapping_mul(91) ^ (255 - i as u8));
            let words = |b: &[u8; 32]| -> [u32; 8] {
                std::array::from_fn(|k| {
                    u32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
                })
            };
            let got = words_to_digests(&node_hash(words(&l), words(&r)))[0];
            assert_eq!(got, crate::commit::node_hash(&l, &r), "seed {s}");
        }
    }

    #[test]
    fn twin_root_matches_commit_root() {
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 1000] {
            let l = leaves(n);
            assert_eq!(
                merkle_root(&l),
                crate::commit::merkle_root(&l),
                "{n} leaves"
            );
        }
    }
}
