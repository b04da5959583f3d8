//! Block logs read as a stream: [`LogReader`] yields one [`Block`] at a time from any
//! [`Read`] (a file of any size, stdin, a pipe), holding one block and one read chunk in
//! memory, with the errors [`Block::decode_log`] gives for the same bytes (block index,
//! absolute byte offset, field).

use std::io::Read;

use crate::error::{Error, Result};
use crate::tx::{Block, BlockScan, DecodeLimits};

/// Bytes asked of the source per read.
const READ_CHUNK: usize = 1 << 20;

/// Iterator over the blocks of a block log (docs/FORMATS.md), read incrementally.
///
/// Memory: the bytes of the block being read plus at most one read chunk (1 MiB) after
/// it, whatever the length of the log; a block is never buffered beyond its
/// [`DecodeLimits`] (default [`crate::tx::MAX_BLOCK_BYTES`]): one that declares more is an
/// [`Error::BlockTooLarge`] as soon as the field that goes over the bound is read. Every item is a whole, checksum-verified block or
/// the error that ends the log: a damaged or truncated block is an
/// [`Error::BlockDecode`] naming its index and byte offset (a truncated last block names
/// it; the blocks before it were yielded), an empty input is the error `decode_log`
/// gives, and a failed read is an [`Error::Io`]. After an error the iterator ends.
///
/// ```
/// use txwave::{Block, LogReader};
/// let mut log = Vec::new();
/// Block::new(1, [0; 32], [1; 32], [0; 32]).encode_into(&mut log);
/// Block::new(2, [0; 32], [1; 32], [0; 32]).encode_into(&mut log);
/// let heights: Vec<u64> = LogReader::new(&log[..])
///     .map(|b| b.map(|b| b.height))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(heights, [1, 2]);
/// # Ok::<(), txwave::Error>(())
/// ```
#[derive(Debug)]
pub struct LogReader<R> {
    src: R,
    /// Bytes read but not yet consumed start at `pos`.
    buf: Vec<u8>,
    pos: usize,
    /// Absolute offset in the log of `buf[0]`.
    base: u64,
    limits: DecodeLimits,
    /// Index of the next block.
    index: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> LogReader<R> {
    /// A reader over `src` with the default [`DecodeLimits`]. Wrap nothing in a
    /// `BufReader`: reads are already 1 MiB.
    pub fn new(src: R) -> Self {
        LogReader {
            src,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            limits: DecodeLimits::default(),
            index: 0,
            eof: false,
            done: false,
        }
    }

    /// A reader over the rest of a log whose bytes before `byte_offset` (the first
    /// `first_block_index` blocks) are already behind `src`, with the default
    /// [`DecodeLimits`]: `src` must be positioned at the first byte of a block (a file
    /// seeked there, say with a block index's offset). Offsets ([`LogReader::offset`],
    /// errors) and block indices are then absolute, as if the log had been read from its
    /// start; an empty rest is the end, not an error. [`LogReader::at_block`] does the same
    /// for a reader made with [`LogReader::with_limits`].
    pub fn starting_at(src: R, byte_offset: u64, first_block_index: usize) -> Self {
        LogReader::new(src).at_block(byte_offset, first_block_index)
    }

    /// This reader (nothing read yet) over a source positioned at byte `byte_offset` of
    /// the log, at its block `first_block_index`: see [`LogReader::starting_at`].
    pub fn at_block(self, byte_offset: u64, first_block_index: usize) -> Self {
        LogReader {
            base: byte_offset,
            index: first_block_index,
            ..self
        }
    }

    /// A reader over `src` that refuses blocks over `limits`; an error when the limits
    /// themselves are out of range ([`DecodeLimits::check`]).
    pub fn with_limits(src: R, limits: DecodeLimits) -> Result<Self> {
        limits.check()?;
        Ok(LogReader {
            limits,
            ..LogReader::new(src)
        })
    }

    /// Bytes of the log consumed by the blocks yielded so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Blocks yielded so far.
    pub fn blocks_read(&self) -> usize {
        self.index
    }

    /// Reads one more chunk after dropping the consumed bytes; sets `eof` at the end.
    fn fill(&mut self) -> Result<()> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        let old = self.buf.len();
        // Grow by a chunk or a quarter, not by doubling: the buffer holds one block and one
        // chunk, and should not keep twice the largest block reserved for the whole run.
        self.buf.reserve_exact(READ_CHUNK.max(old / 4));
        self.buf.resize(old + READ_CHUNK, 0);
        loop {
            match self.src.read(&mut self.buf[old..]) {
                Ok(n) => {
                    self.buf.truncate(old + n);
                    if n == 0 {
                        self.eof = true;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(Error::Io {
                        offset: self.base + old as u64,
                        source: e,
                    });
                }
            }
        }
    }

    fn next_block(&mut self) -> Option<Result<Block>> {
        let mut scan = BlockScan::default();
        loop {
            let avail = &self.buf[self.pos..];
            if avail.is_empty() && self.eof {
                self.done = true;
                if self.index == 0 {
                    // The error decode_log gives for an empty log.
                    return Block::decode_log(&[]).err().map(Err);
                }
                return None;
            }
            let take = match scan.advance(avail, &self.limits) {
                Some(n) => Some(n),
                // The log ends inside this block: the decoder names what is missing.
                None if self.eof => Some(avail.len()),
                None => None,
            };
            if let Some(n) = take {
                let decoded = Block::decode_streamed(
                    &avail[..n],
                    self.base + self.pos as u64,
                    self.index,
                    &self.limits,
                );
                return Some(match decoded {
                    Ok((block, used)) => {
                        self.pos += used;
                        self.index += 1;
                        Ok(block)
                    }
                    Err(e) => {
                        self.done = true;
                        Err(e)
                    }
                });
            }
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.next_block()
    }
}
