//! The Merkle tree shape of docs/FORMATS.md (Roots): pair neighbours, parent =
//! BLAKE3(0x01 ‖ left ‖ right), an odd last node moves up unchanged, empty tree = 32 zero
//! bytes. Below the state (whose root it defines) and the commit stage (which computes
//! roots incrementally and on the GPU with the same shape).

use rayon::prelude::*;

/// Domain byte of an interior Merkle node.
pub const NODE_TAG: u8 = 0x01;

/// Hash of an interior node.
#[inline]
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = NODE_TAG;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    *blake3::hash(&buf).as_bytes()
}

/// Levels narrower than this are hashed on one thread: rayon's overhead would dominate.
const PAR_LEVEL_MIN: usize = 4096;

/// Merkle root of `leaves` as docs/FORMATS.md (Roots) defines it.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return [0u8; 32];
    }
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        let pair = |c: &[[u8; 32]]| {
            if c.len() == 2 {
                node_hash(&c[0], &c[1])
            } else {
                c[0]
            }
        };
        level = if level.len() >= PAR_LEVEL_MIN {
            level.par_chunks(2).map(pair).collect()
        } else {
            level.chunks(2).map(pair).collect()
        };
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u8) -> [u8; 32] {
        [i; 32]
    }

    #[test]
    fn hand_computed_shapes() {
        assert_eq!(merkle_root(&[]), [0u8; 32]);
        assert_eq!(merkle_root(&[leaf(7)]), leaf(7));
        let ab = node_hash(&leaf(1), &leaf(2));
        assert_eq!(merkle_root(&[leaf(1), leaf(2)]), ab);
        // Three leaves: (1,2) pair up, 3 moves up unchanged, then the root joins them.
        assert_eq!(
            merkle_root(&[leaf(1), leaf(2), leaf(3)]),
            node_hash(&ab, &leaf(3))
        );
        // Five leaves: ((12)(34))5 → root = H(H(H12,H34), 5).
        let cd = node_hash(&leaf(3), &leaf(4));
        let abcd = node_hash(&ab, &cd);
        assert_eq!(
            merkle_root(&[leaf(1), leaf(2), leaf(3), leaf(4), leaf(5)]),
            node_hash(&abcd, &leaf(5))
        );
    }

    #[test]
    fn node_hash_is_blake3_of_tagged_concatenation() {
        let mut buf = vec![0x01u8];
        buf.extend_from_slice(&leaf(1));
        buf.extend_from_slice(&leaf(2));
        assert_eq!(
            node_hash(&leaf(1), &leaf(2)),
            *blake3::hash(&buf).as_bytes()
        );
    }

    #[test]
    fn parallel_levels_match_serial_fold() {
        let leaves: Vec<[u8; 32]> = (0..10_001u32)
            .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
            .collect();
        let mut level = leaves.clone();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        node_hash(&c[0], &c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
        }
        assert_eq!(merkle_root(&leaves), level[0]);
    }
}
