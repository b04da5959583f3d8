//! CPU twins of `shaders/shared/blake3_compress.wgsl` and `shaders/stages/hash.wgsl`: the same functions
//! under the same names, written in the same loop shape, so that each can be read beside
//! its WGSL and compared with it in tests. `[u32; 4]` stands in for WGSL's `vec4<u32>`.

use super::gpu::{HashParams, MsgDesc, PackedBatch};
use crate::error::Result;

/// BLAKE3's initial chaining value (the SHA-256 IV).
pub const BLAKE3_IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];
/// Flag of a chunk's first block.
pub const BLAKE3_CHUNK_START: u32 = 1;
/// Flag of a chunk's last block.
pub const BLAKE3_CHUNK_END: u32 = 2;
/// Flag of a parent node.
pub const BLAKE3_PARENT: u32 = 4;
/// Flag of the compression that yields the hash.
pub const BLAKE3_ROOT: u32 = 8;
/// Bytes per block.
pub const BLAKE3_BLOCK_LEN: u32 = 64;
/// Bytes per chunk.
pub const BLAKE3_CHUNK_LEN: u32 = 1024;

/// Four u32 lanes, the twin of `vec4<u32>`.
pub type Lanes = [u32; 4];

fn add(x: Lanes, y: Lanes) -> Lanes {
    [0, 1, 2, 3].map(|k| x[k].wrapping_add(y[k]))
}

fn xor(x: Lanes, y: Lanes) -> Lanes {
    [0, 1, 2, 3].map(|k| x[k] ^ y[k])
}

/// Lane rotation `x.yzwx` (by 1), `x.zwxy` (by 2), `x.wxyz` (by 3).
fn swizzle(x: Lanes, by: usize) -> Lanes {
    [0, 1, 2, 3].map(|k| x[(k + by) % 4])
}

/// The BLAKE3 state as four rows: a = words 0..3, b = 4..7, c = 8..11, d = 12..15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blake3Rows {
    /// Words 0..3.
    pub a: Lanes,
    /// Words 4..7.
    pub b: Lanes,
    /// Words 8..11.
    pub c: Lanes,
    /// Words 12..15.
    pub d: Lanes,
}

/// Rotates every lane right by `n` bits, 0 < n < 32.
pub fn blake3_rotr(x: Lanes, n: u32) -> Lanes {
    x.map(|v| v.rotate_right(n))
}

/// Four G functions side by side; `mx` and `my` hold the two message words of each lane.
pub fn blake3_g4(r: Blake3Rows, mx: Lanes, my: Lanes) -> Blake3Rows {
    let (mut a, mut b, mut c, mut d) = (r.a, r.b, r.c, r.d);
    a = add(add(a, b), mx);
    d = blake3_rotr(xor(d, a), 16);
    c = add(c, d);
    b = blake3_rotr(xor(b, c), 12);
    a = add(add(a, b), my);
    d = blake3_rotr(xor(d, a), 8);
    c = add(c, d);
    b = blake3_rotr(xor(b, c), 7);
    Blake3Rows { a, b, c, d }
}

/// One round: the column step, then the diagonal step.
pub fn blake3_round(r: Blake3Rows, m: [u32; 16]) -> Blake3Rows {
    let mut s = blake3_g4(r, [m[0], m[2], m[4], m[6]], [m[1], m[3], m[5], m[7]]);
    // Rotate rows b, c, d left by 1, 2, 3 lanes: each diagonal now sits in one lane.
    s = Blake3Rows {
        a: s.a,
        b: swizzle(s.b, 1),
        c: swizzle(s.c, 2),
        d: swizzle(s.d, 3),
    };
    s = blake3_g4(s, [m[8], m[10], m[12], m[14]], [m[9], m[11], m[13], m[15]]);
    // And back.
    Blake3Rows {
        a: s.a,
        b: swizzle(s.b, 3),
        c: swizzle(s.c, 2),
        d: swizzle(s.d, 1),
    }
}

/// The message word permutation applied between rounds.
pub fn blake3_permute(m: [u32; 16]) -> [u32; 16] {
    [
        m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13], m[1], m[11], m[12], m[5], m[9], m[14],
        m[15], m[8],
    ]
}

/// Compresses one block into `cv`; returns the first 8 output words.
pub fn blake3_compress(
    cv: [u32; 8],
    block: [u32; 16],
    counter_lo: u32,
    counter_hi: u32,
    block_len: u32,
    flags: u32,
) -> [u32; 8] {
    let mut r = Blake3Rows {
        a: [cv[0], cv[1], cv[2], cv[3]],
        b: [cv[4], cv[5], cv[6], cv[7]],
        c: [BLAKE3_IV[0], BLAKE3_IV[1], BLAKE3_IV[2], BLAKE3_IV[3]],
        d: [counter_lo, counter_hi, block_len, flags],
    };
    let mut m = block;
    for _ in 0..7 {
        r = blake3_round(r, m);
        m = blake3_permute(m);
    }
    let lo = xor(r.a, r.c);
    let hi = xor(r.b, r.d);
    [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]
}

/// The 16 words of the block at byte `block_start` of message `d`, zero past its end.
pub fn load_block(data: &[u32], d: &MsgDesc, block_start: u32) -> [u32; 16] {
    let mut m = [0u32; 16];
    for (k, word) in m.iter_mut().enumerate() {
        let at = block_start + 4 * k as u32;
        *word = if at < d.len_bytes {
            data[(d.offset_words + at / 4) as usize]
        } else {
            0
        };
    }
    m
}

/// Chaining value of chunk `chunk` of message `d`, `last_flags` added to its last block.
pub fn chunk_cv(data: &[u32], d: &MsgDesc, chunk: u32, last_flags: u32) -> [u32; 8] {
    let start = chunk * BLAKE3_CHUNK_LEN;
    let chunk_len = BLAKE3_CHUNK_LEN.min(d.len_bytes - start);
    let n_blocks = chunk_len.div_ceil(BLAKE3_BLOCK_LEN).max(1);
    let mut cv = BLAKE3_IV;
    for b in 0..n_blocks {
        let mut flags = 0;
        if b == 0 {
            flags |= BLAKE3_CHUNK_START;
        }
        if b + 1 == n_blocks {
            flags |= BLAKE3_CHUNK_END | last_flags;
        }
        let block_start = start + b * BLAKE3_BLOCK_LEN;
        let block_len = BLAKE3_BLOCK_LEN.min(chunk_len - b * BLAKE3_BLOCK_LEN);
        cv = blake3_compress(
            cv,
            load_block(data, d, block_start),
            chunk,
            0,
            block_len,
            flags,
        );
    }
    cv
}

/// Parent node of two chaining values.
pub fn parent_cv(left: [u32; 8], right: [u32; 8], extra_flags: u32) -> [u32; 8] {
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(&left);
    block[8..].copy_from_slice(&right);
    blake3_compress(
        BLAKE3_IV,
        block,
        0,
        0,
        BLAKE3_BLOCK_LEN,
        BLAKE3_PARENT | extra_flags,
    )
}

fn load_cv(cvs: &[u32], slot: u32) -> [u32; 8] {
    let at = slot as usize * 8;
    let mut cv = [0u32; 8];
    cv.copy_from_slice(&cvs[at..at + 8]);
    cv
}

fn store_words(dst: &mut [u32], slot: u32, cv: [u32; 8]) {
    let at = slot as usize * 8;
    dst[at..at + 8].copy_from_slice(&cv);
}

/// Invocation `i` of the `hash_chunks` entry point.
pub fn hash_chunks(
    i: u32,
    params: &HashParams,
    data: &[u32],
    descs: &[MsgDesc],
    chunk_msg: &[u32],
    cvs: &mut [u32],
    digests: &mut [u32],
) {
    if i >= params.n_chunks {
        return;
    }
    let msg = chunk_msg[i as usize];
    let d = &descs[msg as usize];
    let chunk = i - d.first_chunk;
    if d.n_chunks == 1 {
        store_words(digests, msg, chunk_cv(data, d, chunk, BLAKE3_ROOT));
    } else {
        store_words(cvs, i, chunk_cv(data, d, chunk, 0));
    }
}

/// Invocation `msg` of the `reduce_chunk_trees` entry point.
pub fn reduce_chunk_trees(
    msg: u32,
    params: &HashParams,
    descs: &[MsgDesc],
    cvs: &mut [u32],
    digests: &mut [u32],
) {
    if msg >= params.n_msgs {
        return;
    }
    let d = &descs[msg as usize];
    if d.n_chunks < 2 {
        return;
    }
    let base = d.first_chunk;
    let mut n = d.n_chunks;
    while n > 2 {
        let half = n / 2;
        for j in 0..half {
            let parent = parent_cv(
                load_cv(cvs, base + 2 * j),
                load_cv(cvs, base + 2 * j + 1),
                0,
            );
            store_words(cvs, base + j, parent);
        }
        if n & 1 == 1 {
            let last = load_cv(cvs, base + n - 1);
            store_words(cvs, base + half, last);
        }
        n = half + (n & 1);
    }
    let root = parent_cv(load_cv(cvs, base), load_cv(cvs, base + 1), BLAKE3_ROOT);
    store_words(digests, msg, root);
}

/// Hashes `msgs` by running both entry points' twins over every invocation of one packed
/// batch, exactly as the GPU runs them.
pub fn hash_many(msgs: &[&[u8]]) -> Result<Vec<[u8; 32]>> {
    let batch = PackedBatch::pack(msgs)?;
    let p = &batch.params;
    let mut cvs = vec![0u32; p.n_chunks as usize * 8];
    let mut digests = vec![0u32; p.n_msgs as usize * 8];
    for i in 0..p.n_chunks {
        hash_chunks(
            i,
            p,
            &batch.data,
            &batch.descs,
            &batch.chunk_msg,
            &mut cvs,
            &mut digests,
        );
    }
    for msg in 0..p.n_msgs {
        reduce_chunk_trees(msg, p, &batch.descs, &mut cvs, &mut digests);
    }
    Ok(words_to_digests(&digests))
}

/// Little-endian bytes of 8-word hashes.
pub fn words_to_digests(words: &[u32]) -> Vec<[u8; 32]> {
    words
        .chunks_exact(8)
        .map(|w| {
            let mut out = [0u8; 32];
            for (k, word) in w.iter().enumerate() {
                out[4 * k..4 * k + 4].copy_from_slice(&word.to_le_bytes());
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn block_bytes(m: &[u8]) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..m.len()].copy_from_slice(m);
        b
    }

    fn block_words(m: &[u8]) -> [u32; 16] {
        let b = block_bytes(m);
        std::array::from_fn(|k| {
            u32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
        })
    }

    /// The compression function against the blake3 crate's own portable one, with random
    /// chaining values, counters (high word included), lengths and flags.
    #[test]
    fn compress_matches_blake3_portable() {
        let platform = blake3::platform::Platform::portable();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2000 {
            let cv: [u32; 8] = rng.r#gen();
            let len: usize = rng.gen_range(0..=64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            let counter: u64 = rng.r#gen();
            let flags: u8 = rng.gen_range(0..16);
            let mut expect = cv;
            platform.compress_in_place(
                &mut expect,
                &block_bytes(&bytes),
                len as u8,
                counter,
                flags,
            );
            let got = blake3_compress(
                cv,
                block_words(&bytes),
                counter as u32,
                (counter >> 32) as u32,
                len as u32,
                u32::from(flags),
            );
            assert_eq!(got, expect, "len {len} counter {counter:#x} flags {flags}");
        }
    }

    #[test]
    fn twin_matches_blake3_on_every_boundary() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
        // Lengths 0..=4200 cover 1..=5 chunks, every block and chunk boundary inside them.
        let msgs: Vec<&[u8]> = (0..=4200).map(|n| &data[..n]).collect();
        let got = hash_many(&msgs).expect("lengths fit in u32");
        for (n, h) in got.iter().enumerate() {
            assert_eq!(h, blake3::hash(msgs[n]).as_bytes(), "length {n}");
        }
    }

    #[test]
    fn parent_cv_matches_hazmat_merge() {
        use blake3::hazmat::{Mode, merge_subtrees_non_root, merge_subtrees_root};
        let l: [u8; 32] = *blake3::hash(b"left").as_bytes();
        let r: [u8; 32] = *blake3::hash(b"right").as_bytes();
        let words = |b: &[u8; 32]| -> [u32; 8] {
            std::array::from_fn(|k| {
                u32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
            })
        };
        let non_root = words_to_digests(&parent_cv(words(&l), words(&r), 0))[0];
        assert_eq!(non_root, merge_subtrees_non_root(&l, &r, Mode::Hash));
        let root = words_to_digests(&parent_cv(words(&l), words(&r), BLAKE3_ROOT))[0];
        assert_eq!(root, *merge_subtrees_root(&l, &r, Mode::Hash).as_bytes());
    }
}
