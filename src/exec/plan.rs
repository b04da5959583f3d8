//! The GPU-free plan of a block on the device: which txs go up in which segments, what
//! comes back, and how results map to receipts and state. Built on the host and shared
//! by the GPU executor ([`super::gpu`]) and its CPU twin ([`super::twin`]), so the plan
//! can be checked without a GPU.

use super::layout::*;
use crate::error::{Error, GpuErrorKind, Result};
use crate::exec::ExecResult;
use crate::gpu::resident::{join, split};
use crate::receipt::{Amounts, Status};
use crate::resolve::access::Key;
use crate::resolve::{NO_ACCOUNT, Resolved, ResolvedBlock};
use crate::schedule::Schedule;
use crate::state::State;
use crate::tx::{Action, Direction, RouteMode};

/// Everything a block uploads, and how to read its results: built on the host, shared by
/// the GPU executor and the CPU twin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockPlan {
    /// The ready txs, block order.
    pub txs: Vec<ExecTx>,
    /// Block index of each entry of `txs`.
    pub tx_index: Vec<u32>,
    /// Indices into `txs`, wave by wave, block order inside a wave.
    pub order: Vec<u32>,
    /// One per dispatch of `exec_segment`, in order.
    pub segments: Vec<Segment>,
    /// One per dispatch of `gather_changed`: ranges of the gather list.
    pub gather_segments: Vec<Segment>,
    /// Accounts the block may write, ascending.
    pub gather_accounts: Vec<u32>,
    /// Existing pools the block may write, ascending.
    pub gather_pools: Vec<u32>,
    /// Fee collector index.
    pub fee_collector: u32,
}

impl BlockPlan {
    /// Lays out the ready txs of `resolved` wave by wave as `sched` orders them, for a state
    /// with `accounts` accounts and `pools` pools. Waves of at most `serial_wave_max` ready
    /// txs join serial segments; a larger wave is one parallel segment, or several of at
    /// most `max_parallel` txs when one dispatch cannot cover it (nothing in a wave
    /// conflicts, so its parts may run one after the other). Fails on an index the state
    /// does not have.
    pub fn build(
        resolved: &ResolvedBlock,
        sched: &Schedule,
        accounts: usize,
        pools: usize,
        serial_wave_max: usize,
        max_parallel: usize,
    ) -> Result<BlockPlan> {
        let max_parallel = max_parallel.max(1);
        let bad = |what: String| Error::InvalidArgument(format!("execute plan: {what}"));
        let mut plan = BlockPlan {
            fee_collector: resolved.fee_collector,
            ..Default::default()
        };
        let mut compact = vec![NO_ACCOUNT; resolved.txs.len()];
        for (i, r) in resolved.txs.iter().enumerate() {
            let Resolved::Ready(r) = r else { continue };
            // Every account the tx touches must have a column on the device.
            for a in resolved.accesses.of(i) {
                match a.key {
                    Key::Account(k) if (k as usize) >= accounts => {
                        return Err(bad(format!(
                            "tx {i}: account {k} not below {accounts} accounts"
                        )));
                    }
                    Key::Account(_) | Key::Pool(_) => {}
                    Key::UnknownSigner(_) => {
                        return Err(bad(format!("tx {i}: ready with an unknown signer")));
                    }
                }
            }
            let mut tx = ExecTx {
                signer: r.signer,
                recipient: r.recipient,
                nonce: split(r.tx.nonce),
                fee: split(r.tx.fee),
                ..Default::default()
            };
            match r.tx.action {
                Action::Transfer(t) => {
                    tx.kind = TX_KIND_TRANSFER;
                    tx.token_or_pool = u32::from(t.token);
                    tx.amounts[0] = split(t.amount);
                }
                Action::Swap(s) => {
                    tx.kind = TX_KIND_SWAP;
                    tx.token_or_pool = s.pool;
                    tx.direction = match s.direction {
                        Direction::AtoB => DIRECTION_A_TO_B,
                        Direction::BtoA => DIRECTION_B_TO_A,
                    };
                    tx.amounts[0] = split(s.amount_in);
                    tx.amounts[1] = split(s.min_out);
                }
                Action::AddLiquidity(a) => {
                    tx.kind = TX_KIND_ADD_LIQUIDITY;
                    tx.token_or_pool = a.pool;
                    tx.amounts = [
                        split(a.amount_a_desired),
                        split(a.amount_b_desired),
                        split(a.amount_a_min),
                        split(a.amount_b_min),
                    ];
                }
                Action::RemoveLiquidity(l) => {
                    tx.kind = TX_KIND_REMOVE_LIQUIDITY;
                    tx.token_or_pool = l.pool;
                    tx.amounts[0] = split(l.liquidity);
                    tx.amounts[1] = split(l.amount_a_min);
                    tx.amounts[2] = split(l.amount_b_min);
                }
                Action::Route(route) => {
                    tx.kind = TX_KIND_ROUTE;
                    tx.token_or_pool = u32::from(route.token_in);
                    tx.direction = match route.mode {
                        RouteMode::ExactIn => ROUTE_EXACT_IN,
                        RouteMode::ExactOut => ROUTE_EXACT_OUT,
                    };
                    tx.hops = u32::from(route.hops);
                    tx.route_pools = route.pools;
                    tx.amounts[0] = split(route.amount);
                    tx.amounts[1] = split(route.limit);
                }
            }
            compact[i] = plan.txs.len() as u32;
            plan.txs.push(tx);
            plan.tx_index.push(i as u32);
        }
        if !plan.txs.is_empty() {
            // What comes back is exactly what the block may write.
            let writable = resolved.writable(pools);
            plan.gather_accounts = writable.accounts;
            plan.gather_pools = writable.pools;
        }

        for wave in sched.waves() {
            let first = plan.order.len();
            plan.order.extend(
                wave.iter()
                    .filter_map(|&i| compact.get(i as usize).copied())
                    .filter(|&c| c != NO_ACCOUNT),
            );
            let count = plan.order.len() - first;
            if count == 0 {
                continue;
            }
            let serial = count <= serial_wave_max;
            let joins = serial
                && plan.segments.last().is_some_and(|s| {
                    s.mode == SEGMENT_SERIAL && s.count as usize + count <= SERIAL_SEGMENT_MAX_TXS
                });
            if joins {
                if let Some(last) = plan.segments.last_mut() {
                    last.count += count as u32;
                }
            } else if serial {
                plan.segments.push(Segment {
                    first: first as u32,
                    count: count as u32,
                    mode: SEGMENT_SERIAL,
                    pad0: 0,
                });
            } else {
                for start in (first..first + count).step_by(max_parallel) {
                    plan.segments.push(Segment {
                        first: start as u32,
                        count: max_parallel.min(first + count - start) as u32,
                        mode: SEGMENT_PARALLEL,
                        pad0: 0,
                    });
                }
            }
        }
        let gather_n = plan.gather_accounts.len() + plan.gather_pools.len();
        for start in (0..gather_n).step_by(max_parallel) {
            plan.gather_segments.push(Segment {
                first: start as u32,
                count: max_parallel.min(gather_n - start) as u32,
                mode: SEGMENT_PARALLEL,
                pad0: 0,
            });
        }
        if plan.order.len() != plan.txs.len() {
            return Err(bad(format!(
                "the schedule places {} of {} ready txs",
                plan.order.len(),
                plan.txs.len()
            )));
        }
        Ok(plan)
    }

    /// Words per gathered account: nonce and one balance per token, two words each.
    pub fn account_words(tokens: usize) -> usize {
        2 + 2 * tokens
    }

    /// Word offset of the gathered columns in the output buffer.
    pub fn gather_offset(&self) -> usize {
        RECEIPT_WORDS * self.txs.len()
    }

    /// Words of the output buffer.
    pub fn out_words(&self, tokens: usize) -> usize {
        self.gather_offset()
            + self.gather_accounts.len() * Self::account_words(tokens)
            + self.gather_pools.len() * POOL_GATHER_WORDS
    }

    /// Gather list: account indices, then pool indices.
    pub fn gather_list(&self) -> Vec<u32> {
        let mut g = self.gather_accounts.clone();
        g.extend_from_slice(&self.gather_pools);
        g
    }

    /// The shader's parameters for this plan.
    pub fn params(&self, tokens: usize, account_cap: usize, pools: usize) -> ExecParams {
        ExecParams {
            fee_collector: self.fee_collector,
            tokens: tokens as u32,
            account_cap: account_cap as u32,
            n_pools: pools as u32,
            n_gather_accounts: self.gather_accounts.len() as u32,
            n_gather_pools: self.gather_pools.len() as u32,
            gather_offset: self.gather_offset() as u32,
            pad0: 0,
        }
    }

    /// Turns the output buffer into (status, amount_out) per tx of the block (statuses of
    /// txs that never executed come from `resolved`) and checks it before anything is
    /// written: an unknown status code is an error, and so is
    /// [`EXEC_STATUS_UNKNOWN_KIND`] (an internal error: a kind the kernel does not know).
    pub fn results(&self, resolved: &ResolvedBlock, out: &[u32]) -> Result<Vec<ExecResult>> {
        let mut results: Vec<ExecResult> = resolved
            .txs
            .iter()
            .map(|r| match r {
                Resolved::Rejected(s) => (*s, Amounts::NONE),
                Resolved::UnknownSigner { .. } => (Status::UnknownSigner, Amounts::NONE),
                // Overwritten below: every ready tx has an entry in `txs`.
                Resolved::Ready(_) => (Status::Ok, Amounts::NONE),
            })
            .collect();
        for (k, &i) in self.tx_index.iter().enumerate() {
            let w = out
                .get(RECEIPT_WORDS * k..RECEIPT_WORDS * k + 7)
                .ok_or_else(|| {
                    gpu_err(
                        "execute readback",
                        GpuErrorKind::Readback,
                        "receipts cut short".into(),
                    )
                })?;
            if w[0] == EXEC_STATUS_UNKNOWN_KIND {
                return Err(gpu_err(
                    "execute readback",
                    GpuErrorKind::Internal,
                    format!("tx {i}: exec.wgsl does not know kind {}", self.txs[k].kind),
                ));
            }
            let status = u8::try_from(w[0])
                .ok()
                .and_then(Status::from_code)
                .ok_or_else(|| {
                    gpu_err(
                        "execute readback",
                        GpuErrorKind::Readback,
                        format!("tx {i}: status code {} out of range", w[0]),
                    )
                })?;
            let [first, second, third] = [[w[1], w[2]], [w[3], w[4]], [w[5], w[6]]].map(join);
            let amounts = match (status, self.txs[k].kind) {
                (Status::Ok, TX_KIND_SWAP) => Amounts::Out { amount_out: first },
                (Status::Ok, TX_KIND_ROUTE) => Amounts::Route {
                    amount_in: first,
                    amount_out: second,
                },
                (Status::Ok, TX_KIND_ADD_LIQUIDITY | TX_KIND_REMOVE_LIQUIDITY) => {
                    Amounts::Liquidity {
                        amount_a: first,
                        amount_b: second,
                        liquidity: third,
                    }
                }
                _ => Amounts::NONE,
            };
            results[i as usize] = (status, amounts);
        }
        Ok(results)
    }

    /// Writes the gathered columns into `state`. Call only once every check passed: this
    /// is the one place the GPU path changes the host state.
    pub fn write_back(&self, state: &mut State, out: &[u32]) -> Result<()> {
        let tokens = state.tokens();
        let aw = Self::account_words(tokens);
        let base = self.gather_offset();
        let needed = self.out_words(tokens);
        if out.len() < needed {
            return Err(gpu_err(
                "execute readback",
                GpuErrorKind::Readback,
                format!("{} words read back, {needed} expected", out.len()),
            ));
        }
        let gathered = &out[base..needed];
        let (accounts, pools) = gathered.split_at(self.gather_accounts.len() * aw);
        for (&a, w) in self.gather_accounts.iter().zip(accounts.chunks_exact(aw)) {
            state.nonces_mut()[a as usize] = join([w[0], w[1]]);
            let balances = state.balances_mut();
            for (t, col) in balances.iter_mut().enumerate() {
                col[a as usize] = join([w[2 + 2 * t], w[3 + 2 * t]]);
            }
        }
        let all = state.pools_mut();
        for (&p, w) in self
            .gather_pools
            .iter()
            .zip(pools.chunks_exact(POOL_GATHER_WORDS))
        {
            let pool = &mut all[p as usize];
            pool.reserve_a = join([w[0], w[1]]);
            pool.reserve_b = join([w[2], w[3]]);
            pool.lp_supply = join([w[4], w[5]]);
        }
        Ok(())
    }
}

fn gpu_err(stage: &'static str, kind: GpuErrorKind, what: String) -> Error {
    Error::gpu(stage, kind, what)
}
