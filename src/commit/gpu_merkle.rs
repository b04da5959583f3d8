//! GPU backend of the commit stage: Merkle roots reduced level by level on the device.
//!
//! Shader: `shaders/shared/blake3_compress.wgsl` followed by `shaders/stages/merkle.wgsl`. CPU twin:
//! [`super::twin`]. Leaves are uploaded once; every level is one dispatch of
//! `merkle_level`, all recorded in one compute pass and one submit, ping-ponging between
//! two buffers; only the 32-byte root is read back. [`GpuMerkle::root_of_messages`] and
//! [`GpuMerkle::hash_and_root`] hash leaf messages with a [`GpuHasher`] and reduce the
//! hashes where they already lie, without reading them back first.
//!
//! A tree too large for one binding is cut into aligned subtrees of 2^k leaves: the pairs
//! of every level stay inside them and only the last can hold an odd node, which is the
//! tree's own last node, so each subtree root is a node of the whole tree and the root of
//! the subtree roots is the root.

use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::gpu::pass::{bind_and_dispatch, entry, entry_range, run_pass, stage_pipelines, upload};
use crate::gpu::pool::allocated;
use crate::gpu::pool::{BatchLimits, GrowBuffer, PassTimer, Readback, limits_accessors, lock_kept};
use crate::gpu::shaders;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash::gpu::{GpuHasher, Leaves, OnDevice};

/// The size of one level. Keep in sync with `LevelParams` in shaders/stages/merkle.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LevelParams {
    /// Nodes in the level being reduced.
    pub n_in: u32,
    /// Pads the uniform to 16 bytes.
    pub pad: [u32; 3],
}

#[derive(Debug)]
struct MerkleBuffers {
    params: GrowBuffer,
    nodes: [GrowBuffer; 2],
    readback: Readback,
    timer: Option<PassTimer>,
}

impl MerkleBuffers {
    fn clear(&mut self) {
        self.params.clear();
        self.nodes[0].clear();
        self.nodes[1].clear();
        self.readback = Readback::default();
    }
}

/// Merkle roots of docs/FORMATS.md ("Roots") on the GPU, bit-identical to
/// [`crate::merkle::merkle_root`].
#[derive(Debug)]
pub struct GpuMerkle {
    level: wgpu::ComputePipeline,
    limits: BatchLimits,
    workgroup_size: u32,
    /// Distance between the uniforms of successive levels in the params buffer.
    param_stride: u64,
    max_uniform_bytes: u64,
    buffers: Mutex<MerkleBuffers>,
}

/// Level sizes from `n` nodes down to (not including) the root.
fn level_sizes(n: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut n = n;
    while n > 1 {
        sizes.push(n);
        n = n.div_ceil(2);
    }
    sizes
}

impl GpuMerkle {
    /// Compiles the level pipeline for the device behind `ctx`, with workgroups of
    /// `tunables.merkle_workgroup_size`.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        let workgroup_size = tunables.merkle_workgroup_size;
        let [level] = stage_pipelines(
            ctx,
            &shaders::MERKLE,
            ["merkle_level"],
            workgroup_size,
            None,
        )?;
        let timer = ctx.scoped("merkle timer", || PassTimer::new(ctx))?;
        let nodes = || {
            GrowBuffer::new(
                "merkle nodes",
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
            )
        };
        Ok(Self {
            level,
            limits: BatchLimits::of(ctx),
            workgroup_size,
            param_stride: u64::from(ctx.limits.min_uniform_buffer_offset_alignment)
                .max(std::mem::size_of::<LevelParams>() as u64),
            max_uniform_bytes: ctx.limits.max_uniform_buffer_binding_size,
            buffers: Mutex::new(MerkleBuffers {
                params: GrowBuffer::uniform("merkle params"),
                nodes: [nodes(), nodes()],
                readback: Readback::default(),
                timer,
            }),
        })
    }

    limits_accessors!();

    fn lock(&self) -> MutexGuard<'_, MerkleBuffers> {
        // Every call rewrites what it reads, so a poisoned lock holds nothing stale.
        lock_kept(&self.buffers)
    }

    /// Most nodes one pass can reduce: the level fits one binding and its pairs one dispatch.
    fn max_single_pass(&self) -> u64 {
        (self.limits.max_binding_bytes / 32)
            .min(2 * self.limits.max_invocations(self.workgroup_size))
            .min(u64::from(u32::MAX))
    }

    /// Leaves per subtree when a tree is cut: the largest power of two one pass reduces.
    fn subtree_leaves(&self) -> usize {
        let max = self.max_single_pass().max(2);
        let pow2 = 1u64 << (63 - max.leading_zeros());
        usize::try_from(pow2).unwrap_or(1 << 30)
    }

    /// The Merkle root of `leaves` (32 zero bytes when empty), with the time each phase took.
    pub fn merkle_root(
        &self,
        ctx: &GpuContext,
        leaves: &[[u8; 32]],
    ) -> Result<([u8; 32], GpuTimings)> {
        let mut timings = GpuTimings::default();
        let root = self.root_inner(ctx, leaves, &mut timings)?;
        Ok((root, timings))
    }

    fn root_inner(
        &self,
        ctx: &GpuContext,
        leaves: &[[u8; 32]],
        t: &mut GpuTimings,
    ) -> Result<[u8; 32]> {
        match leaves {
            [] => Ok([0u8; 32]),
            [only] => Ok(*only),
            _ if leaves.len() as u64 <= self.max_single_pass() => {
                let mut guard = self.lock();
                let bufs = &mut *guard;
                let result = self.upload_and_reduce(ctx, bufs, leaves, t);
                if result.is_err() {
                    bufs.clear();
                }
                result
            }
            _ => {
                let roots = leaves
                    .chunks(self.subtree_leaves())
                    .map(|subtree| self.root_inner(ctx, subtree, t))
                    .collect::<Result<Vec<_>>>()?;
                self.root_inner(ctx, &roots, t)
            }
        }
    }

    fn upload_and_reduce(
        &self,
        ctx: &GpuContext,
        bufs: &mut MerkleBuffers,
        leaves: &[[u8; 32]],
        t: &mut GpuTimings,
    ) -> Result<[u8; 32]> {
        let bytes: &[u8] = bytemuck::cast_slice(leaves);
        upload(ctx, "merkle upload", t, |dev, queue| {
            let nodes =
                bufs.nodes[0].ensure(dev, bytes.len() as u64, self.limits.max_binding_bytes);
            queue.write_buffer(nodes, 0, bytes);
        })?;
        self.reduce(ctx, bufs, None, leaves.len() as u64, None, t)
    }

    /// Reduces `n` ≥ 2 nodes to the root in one pass and reads the root back. Level 0 reads
    /// `first` when given (hashes left on the device by the hasher), else `nodes[0]`;
    /// level i writes `nodes[(i + 1) % 2]`. `extra_timer` is an earlier pass whose time is
    /// read back with the root.
    fn reduce(
        &self,
        ctx: &GpuContext,
        bufs: &mut MerkleBuffers,
        first: Option<&wgpu::Buffer>,
        n: u64,
        extra_timer: Option<&PassTimer>,
        t: &mut GpuTimings,
    ) -> Result<[u8; 32]> {
        let stage = "merkle dispatch";
        let sizes = level_sizes(n);
        let grids = sizes
            .iter()
            .map(|&n_in| self.limits.grid(n_in.div_ceil(2), self.workgroup_size))
            .collect::<Result<Vec<_>>>()?;
        let cap = self.limits.max_binding_bytes;
        let stride = self.param_stride;
        let level_bytes = std::mem::size_of::<LevelParams>() as u64;
        let timer = bufs.timer.as_ref();
        let (params, nodes) = (&mut bufs.params, &mut bufs.nodes);
        run_pass(ctx, stage, timer, t, |pass| {
            let dev = &ctx.device;
            let params = params.ensure(
                dev,
                stride * sizes.len() as u64,
                self.max_uniform_bytes.max(stride * 64),
            );
            for (i, &n_in) in sizes.iter().enumerate() {
                let level = LevelParams {
                    // n ≤ max_single_pass ≤ u32::MAX.
                    n_in: n_in as u32,
                    pad: [0; 3],
                };
                ctx.queue
                    .write_buffer(params, i as u64 * stride, bytemuck::bytes_of(&level));
            }
            if first.is_some() {
                nodes[0].ensure(dev, 32 * n.div_ceil(4), cap);
            }
            nodes[1].ensure(dev, 32 * n.div_ceil(2), cap);
            let nodes = [allocated(stage, &nodes[0])?, allocated(stage, &nodes[1])?];
            for (i, grid) in grids.iter().enumerate() {
                let input = match (i, first) {
                    (0, Some(buffer)) => buffer,
                    _ => nodes[i % 2],
                };
                bind_and_dispatch(
                    ctx,
                    pass,
                    "merkle_level",
                    &self.level,
                    &[
                        entry_range(0, params, i as u64 * stride, level_bytes),
                        entry(1, input),
                        entry(2, nodes[(i + 1) % 2]),
                    ],
                    *grid,
                );
            }
            Ok(())
        })?;

        let timers: Vec<&PassTimer> = [extra_timer, bufs.timer.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let bytes = bufs.readback.read_into(
            ctx,
            "merkle readback",
            &bufs.nodes[sizes.len() % 2],
            32,
            &timers,
            t,
        )?;
        root_from(&bytes)
    }

    /// The Merkle root of `n` ≥ 2 leaves already on the device (8 words each, from offset
    /// 0 of `leaves`), reading back only the root. `extra_timer` is an earlier pass whose
    /// time is read back with it. A tree wider than one pass is an [`Error::Gpu`].
    pub(crate) fn root_of_device_leaves(
        &self,
        ctx: &GpuContext,
        leaves: &wgpu::Buffer,
        n: u64,
        extra_timer: Option<&PassTimer>,
        t: &mut GpuTimings,
    ) -> Result<[u8; 32]> {
        let max = self.max_single_pass();
        if n < 2 || n > max {
            return Err(Error::gpu(
                "merkle dispatch",
                crate::error::GpuErrorKind::LimitExceeded,
                format!("{n} resident leaves: one pass reduces 2 to {max}"),
            ));
        }
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let result = self.reduce(ctx, bufs, Some(leaves), n, extra_timer, t);
        if result.is_err() {
            bufs.clear();
        }
        result
    }

    /// BLAKE3 of every message, then the Merkle root of those hashes, without reading the
    /// hashes back when the batch fits one sub-batch of `hasher` (otherwise the hashes come
    /// back and go up again).
    pub fn root_of_messages(
        &self,
        ctx: &GpuContext,
        hasher: &GpuHasher,
        msgs: &[&[u8]],
    ) -> Result<([u8; 32], GpuTimings)> {
        let (_, root, t) = self.combined(ctx, hasher, msgs, Leaves::DeviceOnly)?;
        Ok((root, t))
    }

    /// The hashes of `msgs` and their Merkle root (e.g. tx ids and tx_root) in one go: the
    /// root is reduced from the hashes on the device, not uploaded again.
    pub fn hash_and_root(
        &self,
        ctx: &GpuContext,
        hasher: &GpuHasher,
        msgs: &[&[u8]],
    ) -> Result<(Vec<[u8; 32]>, [u8; 32], GpuTimings)> {
        let (leaves, root, t) = self.combined(ctx, hasher, msgs, Leaves::Read)?;
        Ok((leaves.unwrap_or_default(), root, t))
    }

    fn combined(
        &self,
        ctx: &GpuContext,
        hasher: &GpuHasher,
        msgs: &[&[u8]],
        leaves: Leaves,
    ) -> Result<OnDevice<[u8; 32]>> {
        if msgs.len() >= 2 && msgs.len() as u64 <= self.max_single_pass() {
            let on_device = hasher.with_device_digests(ctx, msgs, leaves, |digests, t| {
                let mut guard = self.lock();
                let bufs = &mut *guard;
                let result = self.reduce(
                    ctx,
                    bufs,
                    Some(digests.buffer),
                    digests.count,
                    digests.timer,
                    t,
                );
                if result.is_err() {
                    bufs.clear();
                }
                result
            })?;
            if let Some((read, root, t)) = on_device {
                return Ok((read, root, t));
            }
        }
        // Empty, a single message, or more than one sub-batch: hash, then reduce.
        let (hashes, mut t) = hasher.hash_many(ctx, msgs)?;
        let root = self.root_inner(ctx, &hashes, &mut t)?;
        let read = (leaves == Leaves::Read).then_some(hashes);
        Ok((read, root, t))
    }
}

fn root_from(bytes: &[u8]) -> Result<[u8; 32]> {
    bytes
        .get(..32)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            crate::error::Error::gpu(
                "merkle readback",
                crate::error::GpuErrorKind::Readback,
                format!("{} bytes read back for a 32-byte root", bytes.len()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_params_match_the_wgsl_layout() {
        // WGSL: struct LevelParams { n_in, pad0, pad1, pad2 } — 16 bytes.
        assert_eq!(std::mem::size_of::<LevelParams>(), 16);
        assert_eq!(std::mem::offset_of!(LevelParams, n_in), 0);
        assert!(
            shaders::MERKLE
                .source()
                .contains("const MERKLE_NODE_TAG: u32 = 0x01u;")
        );
        assert_eq!(crate::merkle::NODE_TAG, 0x01);
    }

    #[test]
    fn level_sizes_halve_rounding_up() {
        assert_eq!(level_sizes(1), Vec::<u64>::new());
        assert_eq!(level_sizes(2), vec![2]);
        assert_eq!(level_sizes(5), vec![5, 3, 2]);
        assert_eq!(level_sizes(8), vec![8, 4, 2]);
    }
}
