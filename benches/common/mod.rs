//! Shared setup of the schedule and exec benches: generated DeFi blocks taken through
//! decode, verify and resolve, so the benches time only the stage they name.

use txwave::Status;
use txwave::internal::resolve::{ResolvedBlock, resolve};
use txwave::internal::schedule::Schedule;
use txwave::internal::verify;
use txwave::internal::workload::{GenConfig, generate};
use txwave::{State, Tx};

/// Txs per benchmarked block.
pub const TXS: usize = 50_000;

/// One contention regime, ready to schedule and execute.
pub struct Prepared {
    /// Workload name (the bench group suffix).
    pub name: &'static str,
    /// State after resolve (accounts of the block created), before execution.
    pub state: State,
    /// The resolved block.
    pub resolved: ResolvedBlock,
    /// Its waves.
    pub schedule: Schedule,
}

/// The four contention regimes: 50k accounts, 1024 pools, 40% swaps spread uniformly;
/// the same with 30% of swaps in one hot pool; every tx a swap in one pool; transfers
/// only. Default failure shares (about 4.5% of txs fail on purpose).
pub fn workloads() -> Vec<(&'static str, GenConfig)> {
    let base = GenConfig {
        seed: 42,
        accounts: 50_000,
        pools: 1024,
        blocks: 1,
        txs_per_block: TXS,
        swap_share: 0.4,
        ..GenConfig::default()
    };
    vec![
        ("uniform", base.clone()),
        (
            "hot-pool",
            GenConfig {
                hot_pool_share: 0.3,
                ..base.clone()
            },
        ),
        (
            "all-one-pool",
            GenConfig {
                hot_pool_share: 1.0,
                swap_share: 1.0,
                ..base.clone()
            },
        ),
        (
            "transfers-only",
            GenConfig {
                swap_share: 0.0,
                ..base
            },
        ),
    ]
}

/// Generates the block and runs it through decode, verify, resolve and schedule.
pub fn prepare(name: &'static str, cfg: &GenConfig) -> Prepared {
    let generated = generate(cfg, |_, _| {}).expect("workload generates");
    let block = &generated.blocks[0];
    let mut state = State::from_genesis(&generated.genesis).expect("genesis loads");
    let decoded: Vec<Option<Tx>> = block.txs().map(Tx::decode).collect();
    let (checks, check_of) = verify::block_checks(block, &decoded);
    let verdicts = verify::cpu::verify_signatures(&checks, state.verify_rule());
    let sig_ok = verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
    let resolved = resolve(&mut state, block, &decoded, &sig_ok);
    let schedule = Schedule::build(&resolved, state.account_count());
    let scheduled = schedule.scheduled();
    eprintln!(
        "{name}: {} txs, {} scheduled in {} waves (largest {}, average parallelism {:.1}, \
         {} waves of >= {} txs)",
        resolved.txs.len(),
        scheduled,
        schedule.wave_count(),
        schedule.largest_wave(),
        scheduled as f64 / schedule.wave_count().max(1) as f64,
        schedule
            .waves()
            .filter(|w| w.len() >= txwave::internal::exec::waves::PARALLEL_MIN)
            .count(),
        txwave::internal::exec::waves::PARALLEL_MIN,
    );
    let ok = {
        let mut s = state.clone();
        txwave::internal::exec::cpu::execute_in_order(&mut s, &resolved)
            .iter()
            .filter(|r| r.0 == Status::Ok)
            .count()
    };
    eprintln!("{name}: {ok} txs ok");
    Prepared {
        name,
        state,
        resolved,
        schedule,
    }
}
