//! Block-log indices, beside the decode stage: where every block of a log lies and what
//! it hashes to, from one pass that checks checksums and hashes transactions but verifies
//! no signature and executes nothing. A range of a long history can then be read by
//! seeking to its first block ([`LogReader::starting_at`]) and checked against the
//! index at its edges. The file format is in docs/FORMATS.md (Block index).

use std::io::Read;

use crate::error::{Error, Result};
use crate::reader::LogReader;
use crate::tx::{BLOCK_BYTES_CEILING, BLOCK_HEADER_LEN, Block, DecodeLimits};

/// Magic and version of an index file.
pub const INDEX_MAGIC: &[u8; 8] = b"TXWIDX01";
/// Most log files one index may describe.
pub const MAX_INDEX_FILES: usize = 65_536;
/// Longest log path (UTF-8 bytes) an index may record.
pub const MAX_PATH_BYTES: usize = 4096;
/// Bytes of one block entry in an index file.
pub const ENTRY_LEN: usize = 8 + 4 + 8 + 8 + 4 + 32 + 32;
/// Smallest encoded block: header, no transaction, checksum.
const MIN_BLOCK_LEN: u64 = (BLOCK_HEADER_LEN + 32) as u64;

/// One log file an index describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// The path as it was given when the index was made.
    pub path: String,
    /// Bytes of the file (the sum of its blocks' lengths).
    pub len: u64,
}

/// Where one block lies and what it hashes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Block height.
    pub height: u64,
    /// Position of its file in [`BlockIndex::files`].
    pub file: u32,
    /// Byte offset of its first byte in that file.
    pub offset: u64,
    /// Bytes of its encoding (header, transactions, checksum).
    pub len: u64,
    /// Transactions in it.
    pub tx_count: u32,
    /// The parent hash its header carries.
    pub parent_hash: [u8; 32],
    /// Its block hash (docs/FORMATS.md, Roots).
    pub block_hash: [u8; 32],
}

/// The index of one or more block logs read in order: one entry per block, heights
/// consecutive, each block's parent hash the previous block's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIndex {
    /// The logs, in the order their blocks follow each other.
    pub files: Vec<IndexedFile>,
    /// Every block, in log order.
    pub entries: Vec<IndexEntry>,
}

/// The hash of a block: its tx ids, their Merkle root (the tx root), then the header.
pub fn block_hash_of(block: &Block) -> [u8; 32] {
    let ids = crate::hash::cpu::tx_ids(block);
    block.block_hash(&crate::merkle::merkle_root(&ids))
}

impl BlockIndex {
    /// Indexes the logs `(path, reader)` read in order. Every block is decoded (its
    /// checksum checked) and hashed; heights must follow each other by one and every
    /// parent hash must be the previous block's hash, across files too, else the error
    /// names the block ([`Error::WrongHeight`], [`Error::WrongParent`]). Decode errors are the reader's, with
    /// `file` telling which log failed: the error comes back with the file's position.
    pub fn build<R, I>(logs: I) -> std::result::Result<BlockIndex, (usize, Error)>
    where
        R: Read,
        I: IntoIterator<Item = (String, R)>,
    {
        Self::build_with_limits(logs, DecodeLimits::default())
    }

    /// [`BlockIndex::build`] refusing blocks over `limits` (as `LogReader::with_limits`).
    pub fn build_with_limits<R, I>(
        logs: I,
        limits: DecodeLimits,
    ) -> std::result::Result<BlockIndex, (usize, Error)>
    where
        R: Read,
        I: IntoIterator<Item = (String, R)>,
    {
        let mut index = BlockIndex {
            files: Vec::new(),
            entries: Vec::new(),
        };
        for (file_no, (path, src)) in logs.into_iter().enumerate() {
            if file_no >= MAX_INDEX_FILES {
                return Err((
                    file_no,
                    Error::InvalidArgument(format!(
                        "an index holds at most {MAX_INDEX_FILES} log files"
                    )),
                ));
            }
            if path.len() > MAX_PATH_BYTES {
                return Err((
                    file_no,
                    Error::InvalidArgument(format!(
                        "log path of {} bytes; an index holds paths of at most {MAX_PATH_BYTES}",
                        path.len()
                    )),
                ));
            }
            let mut reader = LogReader::with_limits(src, limits).map_err(|e| (file_no, e))?;
            let mut offset = 0u64;
            while let Some(item) = reader.next() {
                let block = item.map_err(|e| (file_no, e))?;
                let end = reader.offset();
                let entry = IndexEntry {
                    height: block.height,
                    file: file_no as u32,
                    offset,
                    len: end - offset,
                    tx_count: block.tx_count() as u32,
                    parent_hash: block.parent_hash,
                    block_hash: block_hash_of(&block),
                };
                if let Some(prev) = index.entries.last() {
                    check_follows(prev, &entry).map_err(|e| (file_no, e))?;
                }
                index.entries.push(entry);
                offset = end;
            }
            index.files.push(IndexedFile { path, len: offset });
        }
        if index.entries.is_empty() {
            return Err((0, Error::InvalidArgument("no log to index".into())));
        }
        Ok(index)
    }

    /// Height of the first block.
    pub fn first_height(&self) -> u64 {
        self.entries.first().map_or(0, |e| e.height)
    }

    /// Height of the last block.
    pub fn last_height(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.height)
    }

    /// Position in [`BlockIndex::entries`] of the block at `height`, if indexed.
    pub fn position(&self, height: u64) -> Option<usize> {
        let i = usize::try_from(height.checked_sub(self.first_height())?).ok()?;
        (i < self.entries.len()).then_some(i)
    }

    /// The entry of the block at `height`, if indexed.
    pub fn entry(&self, height: u64) -> Option<&IndexEntry> {
        self.entries.get(self.position(height)?)
    }

    /// Index within its own file (0-based) of the block at entry position `pos`.
    pub fn block_in_file(&self, pos: usize) -> usize {
        let file = self.entries[pos].file;
        let first = self.entries[..pos].partition_point(|e| e.file < file);
        pos - first
    }

    /// Transactions in the blocks of heights `from..=to` that are indexed.
    pub fn txs_between(&self, from: u64, to: u64) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.height >= from && e.height <= to)
            .map(|e| e.tx_count as u64)
            .sum()
    }

    /// The index file's bytes (docs/FORMATS.md, Block index).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.len() * ENTRY_LEN);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for f in &self.files {
            out.extend_from_slice(&(f.path.len() as u16).to_le_bytes());
            out.extend_from_slice(f.path.as_bytes());
            out.extend_from_slice(&f.len.to_le_bytes());
        }
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.height.to_le_bytes());
            out.extend_from_slice(&e.file.to_le_bytes());
            out.extend_from_slice(&e.offset.to_le_bytes());
            out.extend_from_slice(&e.len.to_le_bytes());
            out.extend_from_slice(&e.tx_count.to_le_bytes());
            out.extend_from_slice(&e.parent_hash);
            out.extend_from_slice(&e.block_hash);
        }
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    /// Decodes and validates an index file: checksum first, then every declared size
    /// against the bytes there are, then that the entries tile each file from byte 0 to
    /// its length, heights follow by one and parent hashes chain. Errors are
    /// [`Error::Index`] naming the byte offset.
    pub fn decode(bytes: &[u8]) -> Result<BlockIndex> {
        let bad = |offset: usize, what: String| Error::Index { offset, what };
        if bytes.len() < INDEX_MAGIC.len() + 4 + 8 + 32 {
            return Err(bad(
                bytes.len(),
                format!("{} bytes is too short for an index", bytes.len()),
            ));
        }
        if &bytes[..8] != INDEX_MAGIC {
            return Err(bad(
                0,
                format!("bad magic {:02x?}, expected \"TXWIDX01\"", &bytes[..8]),
            ));
        }
        let body_len = bytes.len() - 32;
        if blake3::hash(&bytes[..body_len]).as_bytes() != &bytes[body_len..] {
            return Err(bad(
                body_len,
                "checksum mismatch: the index is damaged".into(),
            ));
        }
        let mut r = Cursor {
            bytes: &bytes[..body_len],
            at: 8,
        };
        let file_count = r.u32("file count")? as usize;
        if file_count == 0 || file_count > MAX_INDEX_FILES {
            return Err(bad(
                8,
                format!("file count {file_count}, expected 1..={MAX_INDEX_FILES}"),
            ));
        }
        let mut files = Vec::with_capacity(file_count);
        for _ in 0..file_count {
            let at = r.at;
            let path_len = r.u16("path length")? as usize;
            if path_len > MAX_PATH_BYTES {
                return Err(bad(
                    at,
                    format!("path length {path_len}, at most {MAX_PATH_BYTES}"),
                ));
            }
            let path = std::str::from_utf8(r.take(path_len, "path")?)
                .map_err(|_| bad(at + 2, "path is not UTF-8".into()))?
                .to_string();
            let len = r.u64("file length")?;
            files.push(IndexedFile { path, len });
        }
        let count_at = r.at;
        let count = r.u64("block count")?;
        let left = r.bytes.len() - r.at;
        if count == 0 || count.checked_mul(ENTRY_LEN as u64) != Some(left as u64) {
            return Err(bad(
                count_at,
                format!(
                    "block count {count} does not fit the {left} bytes of entries ({ENTRY_LEN} each, at least one)"
                ),
            ));
        }
        let mut entries: Vec<IndexEntry> = Vec::with_capacity(count as usize);
        let mut file_end = 0u64;
        for _ in 0..count {
            let at = r.at;
            let e = IndexEntry {
                height: r.u64("height")?,
                file: r.u32("file")?,
                offset: r.u64("offset")?,
                len: r.u64("length")?,
                tx_count: r.u32("tx count")?,
                parent_hash: r.hash("parent hash")?,
                block_hash: r.hash("block hash")?,
            };
            let prev_file = entries.last().map_or(0, |p| p.file);
            let starts_file = entries.is_empty() || e.file != prev_file;
            if starts_file {
                // The file before this one must be covered to its end.
                if let Some(p) = entries.last()
                    && file_end != files[p.file as usize].len
                {
                    return Err(bad(
                        at,
                        format!(
                            "the blocks of file {} end at byte {file_end}, but it has {} bytes",
                            p.file, files[p.file as usize].len
                        ),
                    ));
                }
                let want = if entries.is_empty() { 0 } else { prev_file + 1 };
                if e.file != want {
                    return Err(bad(
                        at,
                        format!("block of file {}, expected file {want}", e.file),
                    ));
                }
                file_end = 0;
            }
            if e.file as usize >= file_count {
                return Err(bad(at, format!("file {} of {file_count} files", e.file)));
            }
            if e.offset != file_end {
                return Err(bad(
                    at,
                    format!("block at byte {}, expected {file_end}", e.offset),
                ));
            }
            let max_txs = e.len.saturating_sub(MIN_BLOCK_LEN) / 2;
            if e.len < MIN_BLOCK_LEN
                || e.len > BLOCK_BYTES_CEILING
                || u64::from(e.tx_count) > max_txs
            {
                return Err(bad(
                    at,
                    format!(
                        "block of {} bytes cannot hold {} txs (header and checksum take {MIN_BLOCK_LEN})",
                        e.len, e.tx_count
                    ),
                ));
            }
            file_end = e
                .offset
                .checked_add(e.len)
                .ok_or_else(|| bad(at, "block offset plus length overflows".into()))?;
            if let Some(prev) = entries.last() {
                check_follows(prev, &e).map_err(|err| bad(at, err.to_string()))?;
            }
            entries.push(e);
        }
        let last = entries
            .last()
            .expect("count was checked to be at least one");
        if last.file as usize != file_count - 1 {
            return Err(bad(
                body_len,
                format!(
                    "{file_count} files, but the blocks end in file {}",
                    last.file
                ),
            ));
        }
        if file_end != files[file_count - 1].len {
            return Err(bad(
                body_len,
                format!(
                    "the blocks of file {} end at byte {file_end}, but it has {} bytes",
                    last.file,
                    files[file_count - 1].len
                ),
            ));
        }
        Ok(BlockIndex { files, entries })
    }
}

/// `next` must be the block after `prev`: one height more, `prev`'s hash as parent.
fn check_follows(prev: &IndexEntry, next: &IndexEntry) -> Result<()> {
    if prev.height.checked_add(1) != Some(next.height) {
        return Err(Error::WrongHeight {
            expected: prev.height.saturating_add(1),
            found: next.height,
        });
    }
    if next.parent_hash != prev.block_hash {
        return Err(Error::WrongParent {
            height: next.height,
            expected: prev.block_hash,
            found: next.parent_hash,
        });
    }
    Ok(())
}

/// Bounded little-endian reads that name the field that ran out.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.at..end];
                self.at = end;
                Ok(out)
            }
            None => Err(Error::Index {
                offset: self.at,
                what: format!(
                    "truncated {field}: need {n} bytes, {} left",
                    self.bytes.len() - self.at
                ),
            }),
        }
    }

    fn u16(&mut self, field: &str) -> Result<u16> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &str) -> Result<u32> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes taken")))
    }

    fn u64(&mut self, field: &str) -> Result<u64> {
        let b = self.take(8, field)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes taken")))
    }

    fn hash(&mut self, field: &str) -> Result<[u8; 32]> {
        let b = self.take(32, field)?;
        Ok(b.try_into().expect("32 bytes taken"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chained log of `n` empty blocks from height 1.
    fn log(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut parent = [0u8; 32];
        for h in 1..=n {
            let b = Block::new(h, parent, [1; 32], [0; 32]);
            parent = block_hash_of(&b);
            b.encode_into(&mut out);
        }
        out
    }

    #[test]
    fn round_trips_and_locates_blocks_across_files() {
        let a = log(5);
        let split = a.len() / 5 * 2; // empty blocks: all the same length
        let idx = BlockIndex::build([
            ("a.blk".to_string(), &a[..split]),
            ("b.blk".to_string(), &a[split..]),
        ])
        .map_err(|(_, e)| e)
        .unwrap();
        assert_eq!(idx.entries.len(), 5);
        assert_eq!(idx.files[1].len, (a.len() - split) as u64);
        assert_eq!(idx.entry(3).unwrap().file, 1);
        assert_eq!(idx.entry(3).unwrap().offset, 0);
        assert_eq!(idx.block_in_file(3), 1);
        assert_eq!(BlockIndex::decode(&idx.encode()).unwrap(), idx);
    }

    #[test]
    fn refuses_a_gap_when_building() {
        let mut bytes = log(2);
        let b3 = Block::new(4, [0; 32], [1; 32], [0; 32]);
        b3.encode_into(&mut bytes);
        let (file, err) = BlockIndex::build([("a".to_string(), &bytes[..])]).unwrap_err();
        assert_eq!(file, 0);
        // Block 3 is missing: the block after height 2 claims height 4.
        assert_eq!(
            err.to_string(),
            "block at height 4 rejected: height field: expected 3, found 4"
        );
    }

    #[test]
    fn every_damaged_or_inconsistent_index_is_refused() {
        let idx = BlockIndex::build([("a".to_string(), &log(3)[..])])
            .map_err(|(_, e)| e)
            .unwrap();
        let good = idx.encode();
        // One flipped byte anywhere: the checksum.
        for i in [0, 9, 20, good.len() - 40] {
            let mut b = good.clone();
            b[i] ^= 1;
            assert!(BlockIndex::decode(&b).is_err(), "byte {i}");
        }
        // Declared sizes that lie, checksum recomputed so only the bounds catch them.
        let reseal = |mut b: Vec<u8>| {
            let n = b.len() - 32;
            let sum = *blake3::hash(&b[..n]).as_bytes();
            b[n..].copy_from_slice(&sum);
            b
        };
        let mut huge_count = good.clone();
        let at = 8 + 4 + 2 + 1 + 8;
        huge_count[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = BlockIndex::decode(&reseal(huge_count)).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        let mut long_path = good.clone();
        long_path[12..14].copy_from_slice(&u16::MAX.to_le_bytes());
        let err = BlockIndex::decode(&reseal(long_path)).unwrap_err();
        assert!(err.to_string().contains("path length 65535"), "{err}");
        let mut wrong_len = good.clone();
        wrong_len[15..23].copy_from_slice(&1u64.to_le_bytes());
        let err = BlockIndex::decode(&reseal(wrong_len)).unwrap_err();
        assert!(err.to_string().contains("but it has 1 bytes"), "{err}");
    }
}
