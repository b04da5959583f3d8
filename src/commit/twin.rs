//! CPU twins of `shaders/stages/merkle.wgsl` and `shaders/stages/state_leaves.wgsl`: the same functions
//! under the same names and in the same loop shape, compared with the shaders and with
//! [`crate::merkle::merkle_root`], [`State::account_leaf`] and [`Pool::leaf`] in tests.

use super::gpu_leaves::LeafParams;
use super::gpu_merkle::LevelParams;
use crate::gpu::resident::{NO_LP_TOKEN, PoolWords};
use crate::hash::twin::{
    BLAKE3_BLOCK_LEN, BLAKE3_CHUNK_END, BLAKE3_CHUNK_LEN, BLAKE3_CHUNK_START, BLAKE3_IV,
    BLAKE3_ROOT, blake3_compress, parent_cv, words_to_digests,
};
use crate::merkle::NODE_TAG;
#[cfg(doc)]
use crate::state::{Pool, State};

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

/// Domain byte of an account leaf as a word; keep in sync with `ACCOUNT_LEAF_TAG`.
pub const ACCOUNT_LEAF_TAG: u32 = crate::state::ACCOUNT_LEAF_TAG as u32;
/// Domain byte of a pool leaf as a word; keep in sync with `POOL_LEAF_TAG`.
pub const POOL_LEAF_TAG: u32 = crate::state::POOL_LEAF_TAG as u32;
/// Domain byte of the leaf of a pool with an LP token as a word; keep in sync with
/// `LP_POOL_LEAF_TAG`.
pub const LP_POOL_LEAF_TAG: u32 = crate::state::LP_POOL_LEAF_TAG as u32;

/// The bindings the account leaf kernel reads, as word slices.
#[derive(Debug, Clone, Copy)]
pub struct LeafColumns<'a> {
    /// `leaf_params`.
    pub params: &'a LeafParams,
    /// `pubkeys`: 8 words per account.
    pub pubkeys: &'a [u32],
    /// `leaf_nonces`: 2 words per account.
    pub nonces: &'a [u32],
    /// `leaf_balances`: a column of `account_cap` pairs per token.
    pub balances: &'a [u32],
}

/// Word `k` of the run after the tag byte of account `i`: pubkey, nonce, balances.
pub fn account_run_word(c: &LeafColumns<'_>, i: u32, k: u32) -> u32 {
    if k < 8 {
        return c.pubkeys[(i * 8 + k) as usize];
    }
    if k < 10 {
        return c.nonces[(i * 2 + (k - 8)) as usize];
    }
    let t = (k - 10) / 2;
    c.balances[((t * c.params.account_cap + i) * 2 + ((k - 10) & 1)) as usize]
}

/// Word `w` of account `i`'s leaf message; zero past its end.
pub fn account_message_word(c: &LeafColumns<'_>, i: u32, w: u32) -> u32 {
    let run = 10 + 2 * c.params.tokens;
    if w > run {
        return 0;
    }
    let mut word = if w == 0 {
        ACCOUNT_LEAF_TAG
    } else {
        account_run_word(c, i, w - 1) >> 24
    };
    if w < run {
        word |= account_run_word(c, i, w) << 8;
    }
    word
}

/// Chaining value of chunk `chunk` of account `i`'s leaf message of `len` bytes.
pub fn account_chunk_cv(
    c: &LeafColumns<'_>,
    i: u32,
    len: u32,
    chunk: u32,
    last_flags: u32,
) -> [u32; 8] {
    let start = chunk * BLAKE3_CHUNK_LEN;
    let chunk_len = BLAKE3_CHUNK_LEN.min(len - start);
    let n_blocks = chunk_len.div_ceil(BLAKE3_BLOCK_LEN);
    let mut cv = BLAKE3_IV;
    for b in 0..n_blocks {
        let first_word = (start + b * BLAKE3_BLOCK_LEN) / 4;
        let block: [u32; 16] =
            std::array::from_fn(|k| account_message_word(c, i, first_word + k as u32));
        let mut flags = 0;
        if b == 0 {
            flags |= BLAKE3_CHUNK_START;
        }
        if b + 1 == n_blocks {
            flags |= BLAKE3_CHUNK_END | last_flags;
        }
        let block_len = BLAKE3_BLOCK_LEN.min(chunk_len - b * BLAKE3_BLOCK_LEN);
        cv = blake3_compress(cv, block, chunk, 0, block_len, flags);
    }
    cv
}

/// BLAKE3 of account `i`'s leaf message (one to three chunks for up to 256 tokens).
pub fn account_leaf_hash(c: &LeafColumns<'_>, i: u32) -> [u32; 8] {
    let len = 41 + 8 * c.params.tokens;
    let n_chunks = len.div_ceil(BLAKE3_CHUNK_LEN);
    if n_chunks == 1 {
        return account_chunk_cv(c, i, len, 0, BLAKE3_ROOT);
    }
    let c0 = account_chunk_cv(c, i, len, 0, 0);
    let c1 = account_chunk_cv(c, i, len, 1, 0);
    if n_chunks == 2 {
        return parent_cv(c0, c1, BLAKE3_ROOT);
    }
    let c2 = account_chunk_cv(c, i, len, 2, 0);
    parent_cv(parent_cv(c0, c1, 0), c2, BLAKE3_ROOT)
}

/// The pool leaf message as a block: 23 bytes (6 words), or 33 (9 words) with an LP token.
pub fn pool_message(p: &PoolWords) -> [u32; 16] {
    let has_lp = p.lp_token != NO_LP_TOKEN;
    let tag = if has_lp {
        LP_POOL_LEAF_TAG
    } else {
        POOL_LEAF_TAG
    };
    let mut m = [0u32; 16];
    m[0] = tag | ((p.token_a & 0xFFFF) << 8) | ((p.token_b & 0xFF) << 24);
    m[1] = ((p.token_b >> 8) & 0xFF) | ((p.fee_bps & 0xFFFF) << 8) | (p.reserve_a[0] << 24);
    m[2] = (p.reserve_a[0] >> 8) | (p.reserve_a[1] << 24);
    m[3] = (p.reserve_a[1] >> 8) | (p.reserve_b[0] << 24);
    m[4] = (p.reserve_b[0] >> 8) | (p.reserve_b[1] << 24);
    m[5] = p.reserve_b[1] >> 8;
    if has_lp {
        // Bytes 23–24 lp_token, 25–32 lp_supply.
        m[5] |= (p.lp_token & 0xFF) << 24;
        m[6] = ((p.lp_token >> 8) & 0xFF) | (p.lp_supply[0] << 8);
        m[7] = (p.lp_supply[0] >> 24) | (p.lp_supply[1] << 8);
        m[8] = p.lp_supply[1] >> 24;
    }
    m
}

/// Bytes of the pool leaf message.
pub fn pool_message_len(p: &PoolWords) -> u32 {
    if p.lp_token != NO_LP_TOKEN { 33 } else { 23 }
}

/// What invocation `j` of `hash_pool_leaves` writes for pool `p`.
pub fn pool_leaf_hash(p: &PoolWords) -> [u32; 8] {
    let flags = BLAKE3_CHUNK_START | BLAKE3_CHUNK_END | BLAKE3_ROOT;
    blake3_compress(BLAKE3_IV, pool_message(p), 0, 0, pool_message_len(p), flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::resident::{pool_words, split};
    use crate::state::{Pool, State};
    use crate::verify::VerifyRule;

    /// A state with `tokens` tokens and accounts whose values cover every byte position.
    fn state_with(tokens: usize) -> State {
        let mut s = State::new(VerifyRule::Zip215, tokens).unwrap();
        let values = [0, 1, 0xFF, 0x1_0000_0000, u64::MAX, 0x0123_4567_89AB_CDEF];
        for a in 0..6u8 {
            let pk: [u8; 32] = std::array::from_fn(|k| a.wrapping_mul(53) ^ (k as u8 * 7));
            let i = s.create_account(pk) as usize;
            s.nonces_mut()[i] = values[(a as usize + 1) % values.len()];
            for (t, col) in s.balances_mut().iter_mut().enumerate() {
                col[i] = values[(a as usize + t) % values.len()].rotate_left(t as u32);
            }
        }
        s
    }

    /// The state's columns laid out as the executor uploads them, `cap` accounts wide.
    fn columns(s: &State, cap: usize) -> (LeafParams, Vec<u32>, Vec<u32>, Vec<u32>) {
        let words = |v: u64| [v as u32, (v >> 32) as u32];
        let pubkeys: Vec<u32> = s
            .pubkeys()
            .iter()
            .flat_map(|pk| {
                pk.chunks_exact(4)
                    .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            })
            .collect();
        let nonces: Vec<u32> = s.nonces().iter().flat_map(|&v| words(v)).collect();
        let mut balances = vec![0u32; 2 * cap * s.tokens()];
        for t in 0..s.tokens() {
            for (i, &v) in s.balance_column(t).iter().enumerate() {
                balances[2 * (t * cap + i)..][..2].copy_from_slice(&words(v));
            }
        }
        let params = LeafParams {
            count: s.account_count() as u32,
            all_accounts: 1,
            tokens: s.tokens() as u32,
            account_cap: cap as u32,
            n_pools: 0,
            pad: [0; 3],
        };
        (params, pubkeys, nonces, balances)
    }

    #[test]
    fn account_leaves_match_the_state_on_every_chunk_count() {
        // 41 + 8·tokens bytes: 122 → 1017 (one chunk), 123 → 1025 (two), 250 → 2041,
        // 251 → 2049 (three), 256 → 2089.
        for tokens in [1, 2, 8, 122, 123, 250, 251, 256] {
            let s = state_with(tokens);
            let cap = 8;
            let (params, pubkeys, nonces, balances) = columns(&s, cap);
            let c = LeafColumns {
                params: &params,
                pubkeys: &pubkeys,
                nonces: &nonces,
                balances: &balances,
            };
            for i in 0..s.account_count() {
                let got = words_to_digests(&account_leaf_hash(&c, i as u32))[0];
                assert_eq!(got, s.account_leaf(i), "tokens {tokens}, account {i}");
            }
        }
    }

    #[test]
    fn pool_leaves_match_the_state() {
        let values = [1, 2, 0xFF, 0x1_0000_0000, u64::MAX, 0x0123_4567_89AB_CDEF];
        for (k, &reserve_a) in values.iter().enumerate() {
            let pool = Pool {
                token_a: [0, 1, 255, 256, 0xABCD, u16::MAX][k],
                token_b: [1, 0xFF00, 7, 0x1234, 3, 0][k],
                fee_bps: [0, 30, 9999, 256, 1, 0xFF][k],
                reserve_a,
                reserve_b: values[(k + 3) % values.len()].rotate_left(13),
                lp_token: None,
                lp_supply: 0,
            };
            let got = words_to_digests(&pool_leaf_hash(&pool_words(&pool)))[0];
            assert_eq!(got, pool.leaf(), "pool {pool:?}");
        }
    }

    #[test]
    fn lp_pool_leaves_hash_the_0x04_message() {
        // BLAKE3(0x04 ‖ token_a u16 ‖ token_b u16 ‖ fee_bps u16 ‖ reserve_a u64 ‖
        // reserve_b u64 ‖ lp_token u16 ‖ lp_supply u64), byte by byte, on values whose
        // bytes all differ and on limb edges.
        let values = [
            0u64,
            1,
            0xFF,
            0x1_0000_0000,
            u64::MAX,
            0x0123_4567_89AB_CDEF,
        ];
        for (k, &lp_supply) in values.iter().enumerate() {
            let (token_a, token_b, fee_bps) = ([0u16, 1, 255, 256, 0xABCD, 7][k], 9u16, 30u16);
            let lp_token = [1u16, 0xFF, 0x100, 0x1234, u16::MAX - 1, 0x8001][k];
            let (reserve_a, reserve_b) = (values[(k + 1) % 6], values[(k + 4) % 6] ^ 0x55);
            let mut msg = vec![0x04u8];
            for t in [token_a, token_b, fee_bps] {
                msg.extend(t.to_le_bytes());
            }
            msg.extend(reserve_a.to_le_bytes());
            msg.extend(reserve_b.to_le_bytes());
            msg.extend(lp_token.to_le_bytes());
            msg.extend(lp_supply.to_le_bytes());
            assert_eq!(msg.len(), 33);
            let words = PoolWords {
                token_a: u32::from(token_a),
                token_b: u32::from(token_b),
                fee_bps: u32::from(fee_bps),
                lp_token: u32::from(lp_token),
                reserve_a: split(reserve_a),
                reserve_b: split(reserve_b),
                lp_supply: split(lp_supply),
            };
            let got = words_to_digests(&pool_leaf_hash(&words))[0];
            assert_eq!(got, *blake3::hash(&msg).as_bytes(), "case {k}");
            // The state's own leaf of the same pool, through the resident layout.
            let pool = Pool {
                lp_token: Some(lp_token),
                lp_supply,
                ..Pool::new(token_a, token_b, fee_bps, reserve_a, reserve_b)
            };
            assert_eq!(pool_words(&pool), words, "case {k}");
            assert_eq!(got, pool.leaf(), "case {k}");
        }
    }

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
            assert_eq!(got, crate::merkle::node_hash(&l, &r), "seed {s}");
        }
    }

    #[test]
    fn twin_root_matches_commit_root() {
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 1000] {
            let l = leaves(n);
            assert_eq!(
                merkle_root(&l),
                crate::merkle::merkle_root(&l),
                "{n} leaves"
            );
        }
    }
}
