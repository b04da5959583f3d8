//! GPU backend of the hash stage: BLAKE3 of many messages of any length, in WGSL.
//!
//! Shaders: `shaders/shared/blake3_compress.wgsl` followed by `shaders/stages/hash.wgsl` (WGSL has no
//! `#include`; the shader table, [`crate::gpu::shaders::HASH`], concatenates them). CPU twin: [`super::twin`].
//!
//! One call uploads the batch (messages packed word-aligned, one [`MsgDesc`] each, and the
//! message index of every 1024-byte chunk), runs `hash_chunks` (one invocation per chunk)
//! and, if any message has more than one chunk, `reduce_chunk_trees` (one per message) in
//! one compute pass, then reads the hashes back. A batch larger than the device's binding
//! or dispatch limits is split into sub-batches run one after the other; buffers grow as
//! needed and are kept for the next call.
//!
//! Timings ([`GpuTimings`]) per call, summed over sub-batches: `upload_ns` covers packing
//! the batch on the host, the buffer writes and waiting for the transfers; `dispatch_ns`
//! encoding, submitting and waiting for the compute pass; `readback_ns` the copy to a
//! host-visible buffer, the map and the copy out; `gpu_pass_ns` the pass's own time by
//! timestamp queries when the device has them. Each phase ends with a wait, so the three
//! wall times do not overlap.

use std::ops::Range;
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, GpuErrorKind, Result};
use crate::gpu::pass::{bind_and_dispatch, entry, run_pass, stage_pipelines, upload};
use crate::gpu::pool::allocated;
use crate::gpu::pool::{
    BatchLimits, GrowBuffer, PassTimer, Readback, clear_all, limits_accessors, lock_kept,
};
use crate::gpu::shaders;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};

/// Counts of one sub-batch. Keep in sync with `HashParams` in shaders/stages/hash.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HashParams {
    /// Chunks in the sub-batch: invocations of `hash_chunks`.
    pub n_chunks: u32,
    /// Messages in the sub-batch: invocations of `reduce_chunk_trees`.
    pub n_msgs: u32,
    /// Pads the uniform to 16 bytes.
    pub pad: [u32; 2],
}

/// Where one message lies in the packed data. Keep in sync with `MsgDesc` in
/// shaders/stages/hash.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MsgDesc {
    /// First word of the message in the data buffer.
    pub offset_words: u32,
    /// Length in bytes.
    pub len_bytes: u32,
    /// Global index of its first chunk in the sub-batch.
    pub first_chunk: u32,
    /// Number of chunks: `max(1, ceil(len_bytes / 1024))`.
    pub n_chunks: u32,
}

/// Chunks BLAKE3 splits a message of `len` bytes into (the empty message is one chunk).
pub fn chunk_count(len: usize) -> usize {
    len.div_ceil(1024).max(1)
}

/// A sub-batch laid out as the shader reads it.
#[derive(Debug, Clone, Default)]
pub struct PackedBatch {
    /// Counts.
    pub params: HashParams,
    /// Messages as little-endian words, each starting on a word and zero-filled to the
    /// end of its last word.
    pub data: Vec<u32>,
    /// One per message.
    pub descs: Vec<MsgDesc>,
    /// Message index of every chunk.
    pub chunk_msg: Vec<u32>,
}

impl PackedBatch {
    /// Packs `msgs`. Fails if the batch or a message does not fit the shader's u32 counts.
    pub fn pack(msgs: &[&[u8]]) -> Result<Self> {
        let too_big = |what: String| Error::InvalidArgument(format!("hash batch: {what}"));
        let words: usize = msgs.iter().map(|m| m.len().div_ceil(4)).sum();
        let chunks: usize = msgs.iter().map(|m| chunk_count(m.len())).sum();
        if u32::try_from(words).is_err() || u32::try_from(chunks).is_err() {
            return Err(too_big(format!(
                "{words} words in {chunks} chunks exceed u32 indices"
            )));
        }
        let n_msgs =
            u32::try_from(msgs.len()).map_err(|_| too_big(format!("{} messages", msgs.len())))?;
        let mut batch = PackedBatch {
            params: HashParams {
                n_chunks: chunks as u32,
                n_msgs,
                pad: [0; 2],
            },
            data: Vec::with_capacity(words),
            descs: Vec::with_capacity(msgs.len()),
            chunk_msg: Vec::with_capacity(chunks),
        };
        for (i, m) in msgs.iter().enumerate() {
            let len_bytes = u32::try_from(m.len())
                .map_err(|_| too_big(format!("message {i} is {} bytes", m.len())))?;
            // Both fit: checked against the totals above.
            let n_chunks = chunk_count(m.len()) as u32;
            batch.descs.push(MsgDesc {
                offset_words: batch.data.len() as u32,
                len_bytes,
                first_chunk: batch.chunk_msg.len() as u32,
                n_chunks,
            });
            let mut words = m.chunks_exact(4);
            batch.data.extend(
                words
                    .by_ref()
                    .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            );
            let tail = words.remainder();
            if !tail.is_empty() {
                let mut last = [0u8; 4];
                last[..tail.len()].copy_from_slice(tail);
                batch.data.push(u32::from_le_bytes(last));
            }
            batch
                .chunk_msg
                .extend(std::iter::repeat_n(i as u32, n_chunks as usize));
        }
        Ok(batch)
    }

    /// Whether any message spans more than one chunk (so `reduce_chunk_trees` must run).
    pub fn has_multi_chunk(&self) -> bool {
        self.params.n_chunks > self.params.n_msgs
    }
}

/// Splits `msgs` into consecutive sub-batches whose every buffer fits one binding and
/// whose invocations fit one dispatch of workgroups of `workgroup_size`.
pub fn plan_sub_batches(
    msgs: &[&[u8]],
    limits: &BatchLimits,
    workgroup_size: u32,
) -> Result<Vec<Range<usize>>> {
    let max_bytes = limits.max_binding_bytes;
    let max_inv = limits.max_invocations(workgroup_size);
    let fits = |words: u64, chunks: u64, n: u64| {
        4 * words <= max_bytes
            // cvs hold 8 words per chunk (and cover chunk_msg's one).
            && 32 * chunks <= max_bytes
            // digests hold 8 words per message (and cover the 4-word descs).
            && 32 * n <= max_bytes
            && chunks <= max_inv
    };
    let mut plan = Vec::new();
    let (mut start, mut words, mut chunks) = (0usize, 0u64, 0u64);
    for (i, m) in msgs.iter().enumerate() {
        let w = m.len().div_ceil(4) as u64;
        let c = chunk_count(m.len()) as u64;
        if !fits(w, c, 1) {
            return Err(Error::gpu(
                "hash batch",
                GpuErrorKind::LimitExceeded,
                format!(
                    "message {i} of {} bytes does not fit the device's limits ({max_bytes} bytes per binding, {max_inv} invocations per dispatch)",
                    m.len()
                ),
            ));
        }
        if !fits(words + w, chunks + c, (i - start + 1) as u64) {
            plan.push(start..i);
            (start, words, chunks) = (i, 0, 0);
        }
        words += w;
        chunks += c;
    }
    if start < msgs.len() {
        plan.push(start..msgs.len());
    }
    Ok(plan)
}

/// Buffers the hasher keeps between calls.
#[derive(Debug)]
pub(crate) struct HashBuffers {
    params: GrowBuffer,
    data: GrowBuffer,
    descs: GrowBuffer,
    chunk_msg: GrowBuffer,
    cvs: GrowBuffer,
    digests: GrowBuffer,
    readback: Readback,
    timer: Option<PassTimer>,
}

impl HashBuffers {
    /// Reads back the hashes of the `n` messages the last sub-batch left in `digests`.
    fn read_digests(
        &mut self,
        ctx: &GpuContext,
        n: u64,
        t: &mut GpuTimings,
    ) -> Result<Vec<[u8; 32]>> {
        let bytes = self.readback.read_into(
            ctx,
            "hash readback",
            &self.digests,
            32 * n,
            self.timer.as_ref().as_slice(),
            t,
        )?;
        Ok(bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect())
    }

    fn clear(&mut self) {
        clear_all([
            &mut self.params,
            &mut self.data,
            &mut self.descs,
            &mut self.chunk_msg,
            &mut self.cvs,
            &mut self.digests,
        ]);
        self.readback = Readback::default();
    }
}

/// Whether a caller needs the leaf hashes on the host or only on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaves {
    /// Read the hashes back as well.
    Read,
    /// Leave them on the device.
    DeviceOnly,
}

/// What [`GpuHasher::with_device_digests`] hands its continuation.
pub(crate) struct DeviceDigests<'a> {
    /// 8 words per message.
    pub buffer: &'a wgpu::Buffer,
    /// Number of messages.
    pub count: u64,
    /// The hash pass's timer, when its time has not been read yet.
    pub timer: Option<&'a PassTimer>,
}

/// What a hash-then-continue call returns: the hashes if they were read back, the
/// continuation's value, and the timings of both.
pub(crate) type OnDevice<T> = (Option<Vec<[u8; 32]>>, T, GpuTimings);

/// BLAKE3 of many messages on the GPU, bit-identical to the `blake3` crate.
#[derive(Debug)]
pub struct GpuHasher {
    chunks: wgpu::ComputePipeline,
    reduce: wgpu::ComputePipeline,
    limits: BatchLimits,
    workgroup_size: u32,
    buffers: Mutex<HashBuffers>,
}

impl GpuHasher {
    /// Compiles the hashing pipelines for the device behind `ctx`, with workgroups of
    /// `tunables.hash_workgroup_size`.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        let workgroup_size = tunables.hash_workgroup_size;
        let [chunks, reduce] = stage_pipelines(
            ctx,
            &shaders::HASH,
            ["hash_chunks", "reduce_chunk_trees"],
            workgroup_size,
            None,
        )?;
        let timer = ctx.scoped("hash timer", || PassTimer::new(ctx))?;
        Ok(Self {
            chunks,
            reduce,
            limits: BatchLimits::of(ctx),
            workgroup_size,
            buffers: Mutex::new(HashBuffers {
                params: GrowBuffer::uniform("hash params"),
                data: GrowBuffer::input("hash data"),
                descs: GrowBuffer::input("hash descs"),
                chunk_msg: GrowBuffer::input("hash chunk_msg"),
                cvs: GrowBuffer::new("hash cvs", wgpu::BufferUsages::STORAGE),
                digests: GrowBuffer::output("hash digests"),
                readback: Readback::default(),
                timer,
            }),
        })
    }

    limits_accessors!();

    fn lock(&self) -> MutexGuard<'_, HashBuffers> {
        // A panic elsewhere while holding the lock leaves nothing half-done that the next
        // call relies on: every call rewrites what it reads.
        lock_kept(&self.buffers)
    }

    /// BLAKE3 of every message, in order, with the time each phase took.
    pub fn hash_many(
        &self,
        ctx: &GpuContext,
        msgs: &[&[u8]],
    ) -> Result<(Vec<[u8; 32]>, GpuTimings)> {
        let mut timings = GpuTimings::default();
        let mut out = Vec::with_capacity(msgs.len());
        if msgs.is_empty() {
            return Ok((out, timings));
        }
        let plan = plan_sub_batches(msgs, &self.limits, self.workgroup_size)?;
        let mut guard = self.lock();
        let bufs = &mut *guard;
        for range in plan {
            let result = self
                .run(ctx, bufs, &msgs[range], &mut timings)
                .and_then(|n| bufs.read_digests(ctx, n, &mut timings));
            match result {
                Ok(d) => out.extend(d),
                Err(e) => {
                    bufs.clear();
                    return Err(e);
                }
            }
        }
        Ok((out, timings))
    }

    /// Hashes `msgs` and hands the device buffer of their hashes to `then`, without
    /// reading them back unless `leaves` asks for it. Returns `None`, having done nothing,
    /// when the batch would need more than one sub-batch.
    pub(crate) fn with_device_digests<T>(
        &self,
        ctx: &GpuContext,
        msgs: &[&[u8]],
        leaves: Leaves,
        then: impl FnOnce(DeviceDigests<'_>, &mut GpuTimings) -> Result<T>,
    ) -> Result<Option<OnDevice<T>>> {
        if msgs.is_empty() || plan_sub_batches(msgs, &self.limits, self.workgroup_size)?.len() != 1
        {
            return Ok(None);
        }
        let mut timings = GpuTimings::default();
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let result = self.run(ctx, bufs, msgs, &mut timings).and_then(|n| {
            let (read, timer) = match leaves {
                Leaves::Read => (Some(bufs.read_digests(ctx, n, &mut timings)?), None),
                Leaves::DeviceOnly => (None, bufs.timer.as_ref()),
            };
            let digests = DeviceDigests {
                buffer: allocated("hash readback", &bufs.digests)?,
                count: n,
                timer,
            };
            let value = then(digests, &mut timings)?;
            Ok((read, value))
        });
        match result {
            Ok((read, value)) => Ok(Some((read, value, timings))),
            Err(e) => {
                bufs.clear();
                Err(e)
            }
        }
    }

    /// Uploads and hashes one sub-batch; its hashes are left in `bufs.digests`. Returns
    /// the number of messages.
    fn run(
        &self,
        ctx: &GpuContext,
        bufs: &mut HashBuffers,
        msgs: &[&[u8]],
        t: &mut GpuTimings,
    ) -> Result<u64> {
        let cap = self.limits.max_binding_bytes;
        let (counts, multi) = upload(ctx, "hash upload", t, |dev, queue| -> Result<_> {
            let batch = PackedBatch::pack(msgs)?;
            let n_msgs = u64::from(batch.params.n_msgs);
            let n_chunks = u64::from(batch.params.n_chunks);
            queue.write_buffer(
                bufs.params.ensure(dev, 16, 256),
                0,
                bytemuck::bytes_of(&batch.params),
            );
            let words: &[u8] = bytemuck::cast_slice(&batch.data);
            let data = bufs.data.ensure(dev, words.len() as u64, cap);
            if !words.is_empty() {
                queue.write_buffer(data, 0, words);
            }
            let descs = bufs.descs.ensure(dev, 16 * n_msgs, cap);
            queue.write_buffer(descs, 0, bytemuck::cast_slice(&batch.descs));
            let chunk_msg = bufs.chunk_msg.ensure(dev, 4 * n_chunks, cap);
            queue.write_buffer(chunk_msg, 0, bytemuck::cast_slice(&batch.chunk_msg));
            let multi = batch.has_multi_chunk();
            bufs.cvs
                .ensure(dev, if multi { 32 * n_chunks } else { 0 }, cap);
            bufs.digests.ensure(dev, 32 * n_msgs, cap);
            Ok((batch.params, multi))
        })??;
        let n_msgs = u64::from(counts.n_msgs);
        let n_chunks = u64::from(counts.n_chunks);

        let chunk_grid = self.limits.grid(n_chunks, self.workgroup_size)?;
        let msg_grid = self.limits.grid(n_msgs, self.workgroup_size)?;
        let stage = "hash dispatch";
        run_pass(ctx, stage, bufs.timer.as_ref(), t, |pass| {
            let params = allocated(stage, &bufs.params)?;
            let descs = allocated(stage, &bufs.descs)?;
            let cvs = allocated(stage, &bufs.cvs)?;
            let digests = allocated(stage, &bufs.digests)?;
            bind_and_dispatch(
                ctx,
                pass,
                "hash_chunks",
                &self.chunks,
                &[
                    entry(0, params),
                    entry(1, allocated(stage, &bufs.data)?),
                    entry(2, descs),
                    entry(3, allocated(stage, &bufs.chunk_msg)?),
                    entry(4, cvs),
                    entry(5, digests),
                ],
                chunk_grid,
            );
            if multi {
                bind_and_dispatch(
                    ctx,
                    pass,
                    "reduce_chunk_trees",
                    &self.reduce,
                    &[
                        entry(0, params),
                        entry(2, descs),
                        entry(4, cvs),
                        entry(5, digests),
                    ],
                    msg_grid,
                );
            }
            Ok(())
        })?;
        Ok(n_msgs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_structs_match_the_wgsl_layout() {
        // WGSL: struct HashParams { n_chunks, n_msgs, pad0, pad1 } — 16 bytes.
        assert_eq!(std::mem::size_of::<HashParams>(), 16);
        assert_eq!(std::mem::offset_of!(HashParams, n_chunks), 0);
        assert_eq!(std::mem::offset_of!(HashParams, n_msgs), 4);
        // WGSL: struct MsgDesc { offset_words, len_bytes, first_chunk, n_chunks } — 16 bytes.
        assert_eq!(std::mem::size_of::<MsgDesc>(), 16);
        assert_eq!(std::mem::offset_of!(MsgDesc, offset_words), 0);
        assert_eq!(std::mem::offset_of!(MsgDesc, len_bytes), 4);
        assert_eq!(std::mem::offset_of!(MsgDesc, first_chunk), 8);
        assert_eq!(std::mem::offset_of!(MsgDesc, n_chunks), 12);
    }

    #[test]
    fn packing_aligns_messages_to_words_and_numbers_chunks() {
        let a = [1u8, 2, 3, 4, 5];
        let b = vec![9u8; 2049];
        let batch = PackedBatch::pack(&[&a, &[], &b]).expect("small batch");
        assert_eq!(batch.params.n_msgs, 3);
        assert_eq!(batch.params.n_chunks, 1 + 1 + 3);
        assert_eq!(batch.data[0], 0x0403_0201);
        assert_eq!(batch.data[1], 0x0000_0005, "tail word zero-filled");
        assert_eq!(
            batch.descs[1],
            MsgDesc {
                offset_words: 2,
                len_bytes: 0,
                first_chunk: 1,
                n_chunks: 1
            }
        );
        assert_eq!(
            batch.descs[2],
            MsgDesc {
                offset_words: 2,
                len_bytes: 2049,
                first_chunk: 2,
                n_chunks: 3
            }
        );
        assert_eq!(batch.chunk_msg, vec![0, 1, 2, 2, 2]);
        assert!(batch.has_multi_chunk());
    }

    #[test]
    fn plans_split_at_the_binding_limit() {
        let limits = BatchLimits {
            max_binding_bytes: 256,
            max_workgroups_per_dim: 65535,
        };
        let m = [0u8; 100]; // 25 words = 100 bytes: two fit in 256 bytes, three do not.
        let msgs: Vec<&[u8]> = vec![&m; 5];
        assert_eq!(
            plan_sub_batches(&msgs, &limits, 64).expect("fits"),
            vec![0..2, 2..4, 4..5]
        );
        let big = [0u8; 257];
        assert!(matches!(
            plan_sub_batches(&[&big], &limits, 64),
            Err(Error::Gpu {
                kind: GpuErrorKind::LimitExceeded,
                ..
            })
        ));
        // Digests bound the count: 32 bytes each, 8 per 256 bytes.
        let empties: Vec<&[u8]> = vec![&[]; 17];
        assert_eq!(
            plan_sub_batches(&empties, &limits, 64).expect("fits"),
            vec![0..8, 8..16, 16..17]
        );
    }
}
