//! GPU backend of resolve's lookups: public key → account index in the hash table kept
//! on the device beside the resident pubkeys ([`crate::gpu::resident`] owns both).
//!
//! Shader: `shaders/shared/blake3_compress.wgsl` followed by `shaders/stages/resolve.wgsl` (entry point
//! `lookup_accounts`). CPU twin: [`home_slot`] and [`lookup`] below.
//!
//! The table ([`crate::gpu::resident::AccountTable`]) has twice as many slots as the resident account capacity
//! (so it is at most half full) and is filled by linear probing from a home slot given by
//! a keyed BLAKE3 hash of the pubkey; the key is random per executor, so colliding keys
//! cannot be chosen in advance. The host keeps the same table: on a full upload of the
//! resident state it is rebuilt and uploaded whole; otherwise the accounts a block appended
//! are inserted and only the slots that changed go up. The longest probe run is passed to
//! the shader so every lookup loop is bounded.
//!
//! A block's lookups (the signer, and the recipient of a transfer, of every tx whose
//! signature passed) go up as 32-byte keys; one u32 per key comes back. The host then
//! creates the accounts the block names in the resolve order of docs/SPEC.md ([`crate::resolve`]): that part is
//! sequential by definition and touches only the block's new accounts.

use std::sync::{Mutex, MutexGuard};

use crate::error::Result;
use crate::gpu::pass::{bind_and_dispatch, entry, run_pass, stage_pipelines, upload};
use crate::gpu::pool::allocated;
use crate::gpu::pool::{BatchLimits, GrowBuffer, PassTimer, Readback, lock_kept, words_le};
use crate::gpu::resident::{AccountTable, ResidentState, ResidentTable, TABLE_EMPTY};
use crate::gpu::shaders;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash::twin::{BLAKE3_CHUNK_END, BLAKE3_CHUNK_START, BLAKE3_ROOT, blake3_compress};
use crate::state::State;
use crate::tx::Tx;

#[cfg(test)]
use crate::gpu::resident::key_words;

/// An empty table slot, and "no such account" in the results; keep in sync with
/// `RESOLVE_EMPTY`.
pub const RESOLVE_EMPTY: u32 = TABLE_EMPTY;
/// BLAKE3's keyed-hash domain flag; keep in sync with `RESOLVE_KEYED_HASH`.
pub const RESOLVE_KEYED_HASH: u32 = 16;

/// Per-call parameters. Keep in sync with `ResolveParams` in shaders/stages/resolve.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ResolveParams {
    /// Keys to look up.
    pub n_queries: u32,
    /// Table slots − 1.
    pub mask: u32,
    /// Longest distance of any entry from its home slot.
    pub max_probe: u32,
    /// Aligns the key to 16 bytes.
    pub pad0: u32,
    /// The hash key as 8 little-endian words.
    pub key: [u32; 8],
}

/// Home slot of `pk` (twin of `home_slot`): the first word of BLAKE3 keyed with `key`.
pub fn home_slot(key: &[u32; 8], pk: &[u32; 8], mask: u32) -> u32 {
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(pk);
    let flags = BLAKE3_CHUNK_START | BLAKE3_CHUNK_END | BLAKE3_ROOT | RESOLVE_KEYED_HASH;
    blake3_compress(*key, block, 0, 0, 32, flags)[0] & mask
}

/// Twin of `lookup`: the account whose pubkey is `pk`, or [`RESOLVE_EMPTY`].
pub fn lookup(params: &ResolveParams, pubkeys: &[u32], table: &[u32], pk: &[u32; 8]) -> u32 {
    let home = home_slot(&params.key, pk, params.mask);
    for p in 0..=params.max_probe {
        let entry = table[(home.wrapping_add(p) & params.mask) as usize];
        if entry == RESOLVE_EMPTY {
            return RESOLVE_EMPTY;
        }
        let at = entry as usize * 8;
        if pubkeys[at..at + 8] == pk[..] {
            return entry;
        }
    }
    RESOLVE_EMPTY
}

#[derive(Debug)]
struct ResolveBuffers {
    params: GrowBuffer,
    queries: GrowBuffer,
    found: GrowBuffer,
    readback: Readback,
}

impl ResolveBuffers {
    fn new() -> Self {
        ResolveBuffers {
            params: GrowBuffer::uniform("resolve params"),
            queries: GrowBuffer::input("resolve queries"),
            found: GrowBuffer::output("resolve found"),
            readback: Readback::default(),
        }
    }
}

/// Runs `lookup_accounts` over resident pubkeys and table.
#[derive(Debug)]
pub struct GpuResolver {
    pipeline: wgpu::ComputePipeline,
    limits: BatchLimits,
    workgroup_size: u32,
    timer: Option<PassTimer>,
    buffers: Mutex<ResolveBuffers>,
}

/// The shader parameters for `n_queries` lookups in `table` (the host copy).
fn params_of(table: &AccountTable, n_queries: u32) -> ResolveParams {
    ResolveParams {
        n_queries,
        mask: table.mask(),
        max_probe: table.max_probe(),
        pad0: 0,
        key: table.key_words(),
    }
}

impl GpuResolver {
    /// The lookups of resolve on the device, with the signature of
    /// [`super::cpu::known_accounts`]: for each tx that decoded (`checked[i]`) and passed
    /// its signature check (`sig_ok[i]`), the signer's and a transfer recipient's account
    /// index as `state` stands (`None` where no account has the key).
    #[allow(clippy::type_complexity)]
    pub fn known_accounts(
        &self,
        ctx: &GpuContext,
        resident: &ResidentState,
        state: &State,
        checked: &[Option<Tx>],
        sig_ok: &[bool],
    ) -> Result<(Vec<(Option<u32>, Option<u32>)>, GpuTimings)> {
        let keys = super::lookup_keys(checked, sig_ok);
        let (found, t) = resident.with_columns(ctx, state, |cols, table| {
            self.lookup(ctx, cols.pubkeys, table, &keys)
        })?;
        let known = super::known_from_lookups(checked, sig_ok, &found).ok_or_else(|| {
            crate::error::Error::gpu(
                "resolve readback",
                crate::error::GpuErrorKind::Readback,
                format!("{} results for {} lookups", found.len(), keys.len()),
            )
        })?;
        Ok((known, t))
    }

    /// Compiles the lookup pipeline for the device behind `ctx`, with workgroups of
    /// `tunables.resolve_workgroup_size`.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        let workgroup_size = tunables.resolve_workgroup_size;
        let [pipeline] = stage_pipelines(
            ctx,
            &shaders::RESOLVE,
            ["lookup_accounts"],
            workgroup_size,
            None,
        )?;
        let timer = ctx.scoped("resolve timer", || PassTimer::new(ctx))?;
        Ok(Self {
            pipeline,
            limits: BatchLimits::of(ctx),
            workgroup_size,
            timer,
            buffers: Mutex::new(ResolveBuffers::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ResolveBuffers> {
        // Every call rewrites what it reads.
        lock_kept(&self.buffers)
    }

    /// The account index of each of `keys` ([`RESOLVE_EMPTY`] for none), looked up in
    /// `table` over the resident `pubkeys`.
    pub fn lookup(
        &self,
        ctx: &GpuContext,
        pubkeys: &wgpu::Buffer,
        table: ResidentTable<'_>,
        keys: &[[u8; 32]],
    ) -> Result<(Vec<u32>, GpuTimings)> {
        let mut t = GpuTimings::default();
        if keys.is_empty() {
            return Ok((Vec::new(), t));
        }
        let cap = self.limits.max_binding_bytes;
        let query_bytes = 32 * keys.len() as u64;
        if query_bytes > cap {
            return Err(crate::error::Error::Gpu {
                stage: "resolve upload",
                kind: crate::error::GpuErrorKind::LimitExceeded,
                what: format!(
                    "{} lookups need {query_bytes} bytes, above the device's {cap}-byte binding limit",
                    keys.len()
                ),
            });
        }
        let grid = self.limits.grid(keys.len() as u64, self.workgroup_size)?;
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let result = (|| {
            upload(ctx, "resolve upload", &mut t, |dev, queue| {
                let params = params_of(table.host, keys.len() as u32);
                queue.write_buffer(
                    bufs.params.ensure(dev, 48, 256),
                    0,
                    bytemuck::bytes_of(&params),
                );
                queue.write_buffer(
                    bufs.queries.ensure(dev, query_bytes, cap),
                    0,
                    bytemuck::cast_slice(keys),
                );
                bufs.found.ensure(dev, 4 * keys.len() as u64, cap);
            })?;
            let stage = "resolve dispatch";
            run_pass(ctx, stage, self.timer.as_ref(), &mut t, |pass| {
                bind_and_dispatch(
                    ctx,
                    pass,
                    "lookup_accounts",
                    &self.pipeline,
                    &[
                        entry(0, allocated(stage, &bufs.params)?),
                        entry(1, pubkeys),
                        entry(2, table.buffer),
                        entry(3, allocated(stage, &bufs.queries)?),
                        entry(4, allocated(stage, &bufs.found)?),
                    ],
                    grid,
                );
                Ok(())
            })?;
            let bytes = bufs.readback.read_into(
                ctx,
                "resolve readback",
                &bufs.found,
                4 * keys.len() as u64,
                self.timer.as_ref().as_slice(),
                &mut t,
            )?;
            Ok(words_le(&bytes))
        })();
        match result {
            Ok(found) => Ok((found, t)),
            Err(e) => {
                // Whatever the buffers hold now is unknown: start afresh.
                *bufs = ResolveBuffers::new();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pk(i: u32) -> [u8; 32] {
        *blake3::hash(&i.to_le_bytes()).as_bytes()
    }

    #[test]
    fn params_match_the_wgsl_layout() {
        // WGSL: n_queries, mask, max_probe, pad0, key_lo: vec4, key_hi: vec4 — 48 bytes.
        assert_eq!(std::mem::size_of::<ResolveParams>(), 48);
    }

    #[test]
    fn home_slot_is_the_first_word_of_blake3_keyed_hash() {
        for i in 0..64 {
            let key = pk(1000 + i);
            let want = blake3::keyed_hash(&key, &pk(i));
            let want = u32::from_le_bytes(want.as_bytes()[..4].try_into().unwrap());
            assert_eq!(
                home_slot(&key_words(&key), &key_words(&pk(i)), u32::MAX),
                want
            );
            // The host table's home slot is the same function.
            let table = AccountTable::new(key, 256, &[]);
            assert_eq!(table.home_slot(&pk(i)), want & 0xFF);
            assert_eq!(
                home_slot(&key_words(&key), &key_words(&pk(i)), 0xFF),
                want & 0xFF
            );
        }
    }

    #[test]
    fn lookups_agree_with_a_hash_map_while_the_table_grows() {
        let key = pk(7);
        let all: Vec<[u8; 32]> = (0..3000).map(pk).collect();
        let mut table = AccountTable::new(key, 8192, &all[..1000]);
        for chunk in all[1000..].chunks(700) {
            table.append(chunk);
        }
        let map: HashMap<[u8; 32], u32> = all
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        let words: Vec<u32> = all.iter().flat_map(key_words).collect();
        let params = params_of(&table, 0);
        for q in (0..4000).map(pk) {
            let want = map.get(&q).copied().unwrap_or(RESOLVE_EMPTY);
            assert_eq!(lookup(&params, &words, table.slots(), &key_words(&q)), want);
        }
    }

    #[test]
    fn a_full_probe_run_still_finds_every_key() {
        // 4 slots, 2 keys: whatever their home slots, both are found and a third is not.
        let key = pk(9);
        let keys = [pk(1), pk(2)];
        let table = AccountTable::new(key, 4, &keys);
        let words: Vec<u32> = keys.iter().flat_map(key_words).collect();
        let params = params_of(&table, 0);
        assert_eq!(
            lookup(&params, &words, table.slots(), &key_words(&keys[0])),
            0
        );
        assert_eq!(
            lookup(&params, &words, table.slots(), &key_words(&keys[1])),
            1
        );
        assert_eq!(
            lookup(&params, &words, table.slots(), &key_words(&pk(3))),
            RESOLVE_EMPTY
        );
    }
}
