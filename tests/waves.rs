//! Property tests of the scheduler and the wave executor on random blocks.
//!
//! Two universes: a small one (6 keys, 2 pools: nearly every tx conflicts with the one
//! before) and a large one (200 keys, 16 pools: wide waves). Each tx names a signer, a
//! recipient or pool, and may be malformed, badly signed, use a wrong nonce, an unknown
//! token or pool, or overdraw — so every receipt status except slippage on purpose and
//! every key rule (unknown signers, self-transfers, the fee collector as signer or
//! recipient) shows up.
//!
//! - `schedule_*`: on resolved blocks (no signing, many cases): every tx is in exactly
//!   one wave or none iff rejected at steps 1–2; no two txs of a wave conflict (checked
//!   pairwise from the key rules, written here independently of `schedule.rs`); every tx's
//!   wave is the longest dependency chain ending at it (DP over the pairwise conflict
//!   DAG), so the wave count is the longest chain of the block; and the wave executor,
//!   with sizes shrunk so that each of its paths (split waves, chains of small waves,
//!   inline segments) runs on these small blocks, gives the in-order executor's state
//!   and results on 1, 2 and 8 threads.
//! - `engine_*`: on signed blocks: `Engine::process_block` (CPU) equals
//!   `reference::execute_block` in receipts, all roots and state, and gives the same
//!   bytes (receipts, roots, state snapshot) with 1, 2 and 8 threads.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use txwave::Status;
use txwave::internal::exec::waves::{WaveOptions, execute_waves_with};
use txwave::internal::exec::{cpu, reference};
use txwave::internal::resolve::{NO_ACCOUNT, Resolved, ResolvedBlock, resolve};
use txwave::internal::schedule::{NO_WAVE, Schedule};
use txwave::internal::state::{AccountJson, GenesisJson, Pool, PoolJson};
use txwave::internal::tx::{Action, Direction, Swap, Transfer, public_key_of};
use txwave::internal::verify::VerifyRule;
use txwave::internal::workload::{GenConfig, generate};
use txwave::{Block, State, Tx};

const TOKENS: u16 = 3;
const START_BALANCE: u64 = 500;

/// (seed, public key) of key `i`; computed once.
fn key(i: usize) -> ([u8; 32], [u8; 32]) {
    static KEYS: OnceLock<Vec<([u8; 32], [u8; 32])>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..256u32)
            .map(|i| {
                let seed = *blake3::hash(&i.to_le_bytes()).as_bytes();
                (seed, public_key_of(&seed))
            })
            .collect()
    })[i]
}

/// A universe of keys: `funded` of them in genesis, the rest unknown until named as a
/// recipient (or never).
#[derive(Debug, Clone, Copy)]
struct Universe {
    keys: usize,
    funded: usize,
    pools: u32,
}

const SMALL: Universe = Universe {
    keys: 6,
    funded: 4,
    pools: 2,
};
const LARGE: Universe = Universe {
    keys: 200,
    funded: 160,
    pools: 16,
};

fn genesis(u: Universe) -> State {
    let g = GenesisJson {
        verify_rule: VerifyRule::Zip215,
        tokens: TOKENS as u32,
        accounts: (0..u.funded)
            .map(|i| AccountJson {
                pubkey: hex::encode(key(i).1),
                nonce: 0,
                balances: vec![START_BALANCE; TOKENS as usize],
            })
            .collect(),
        pools: (0..u.pools)
            .map(|i| {
                PoolJson::from(Pool::new(
                    (i % TOKENS as u32) as u16,
                    ((i + 1) % TOKENS as u32) as u16,
                    [30, 0, 9_999][i as usize % 3],
                    10_000 + i as u64,
                    20_000,
                ))
            })
            .collect(),
    };
    State::from_genesis(&g).expect("valid genesis")
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    BadSignature,
    Malformed,
}

#[derive(Debug, Clone, Copy)]
enum ActionSpec {
    Transfer {
        to: usize,
        token: u16,
        amount: u64,
    },
    Swap {
        pool: u32,
        a_to_b: bool,
        amount_in: u64,
        min_out: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct TxSpec {
    signer: usize,
    /// 0 = the nonce the signer will have if every earlier tx of it passes steps 1–5.
    nonce_offset: u64,
    fee: u64,
    action: ActionSpec,
    fault: Fault,
}

fn tx_spec(u: Universe) -> impl Strategy<Value = TxSpec> {
    let action = prop_oneof![
        (
            0..u.keys,
            0..TOKENS + 1,
            prop_oneof![8 => 0..200u64, 1 => Just(u64::MAX)]
        )
            .prop_map(|(to, token, amount)| ActionSpec::Transfer { to, token, amount }),
        (
            prop_oneof![8 => 0..u.pools + 1, 1 => Just(u32::MAX)],
            any::<bool>(),
            0..300u64,
            prop_oneof![8 => Just(0u64), 1 => 0..100u64]
        )
            .prop_map(|(pool, a_to_b, amount_in, min_out)| ActionSpec::Swap {
                pool,
                a_to_b,
                amount_in,
                min_out
            }),
    ];
    let fault = prop_oneof![
        16 => Just(Fault::None),
        1 => Just(Fault::BadSignature),
        1 => Just(Fault::Malformed),
    ];
    (
        0..u.keys,
        prop_oneof![8 => Just(0u64), 1 => 1..3u64],
        prop_oneof![8 => 0..5u64, 1 => Just(u64::MAX)],
        action,
        fault,
    )
        .prop_map(|(signer, nonce_offset, fee, action, fault)| TxSpec {
            signer,
            nonce_offset,
            fee,
            action,
            fault,
        })
}

/// A block: fee collector (a key index) and txs.
fn block_spec(u: Universe, max_txs: usize) -> impl Strategy<Value = (usize, Vec<TxSpec>)> {
    (0..u.keys, prop::collection::vec(tx_spec(u), 0..max_txs))
}

/// The decoded txs of a spec (unsigned: the signature is zero), with faults applied as
/// resolve sees them: `None` = malformed, `sig_ok = false` = bad signature.
fn decoded(specs: &[TxSpec]) -> (Vec<Option<Tx>>, Vec<bool>) {
    let mut next_nonce = vec![0u64; 256];
    let mut checked = Vec::new();
    let mut sig_ok = Vec::new();
    for s in specs {
        let action = match s.action {
            ActionSpec::Transfer { to, token, amount } => Action::Transfer(Transfer {
                to: key(to).1,
                token,
                amount,
            }),
            ActionSpec::Swap {
                pool,
                a_to_b,
                amount_in,
                min_out,
            } => Action::Swap(Swap {
                pool,
                direction: if a_to_b {
                    Direction::AtoB
                } else {
                    Direction::BtoA
                },
                amount_in,
                min_out,
            }),
        };
        let tx = Tx {
            signature: [0; 64],
            signer: key(s.signer).1,
            nonce: next_nonce[s.signer] + s.nonce_offset,
            fee: s.fee,
            action,
        };
        if matches!(s.fault, Fault::None) && s.nonce_offset == 0 {
            next_nonce[s.signer] += 1;
        }
        checked.push((!matches!(s.fault, Fault::Malformed)).then_some(tx));
        sig_ok.push(!matches!(s.fault, Fault::BadSignature));
    }
    (checked, sig_ok)
}

/// The same block, signed, as bytes.
fn signed_block(state: &State, fc: usize, specs: &[TxSpec]) -> Block {
    let (checked, _) = decoded(specs);
    let mut block = Block::new(
        state.height() + 1,
        state.last_block_hash(),
        key(fc).1,
        [0; 32],
    );
    for (s, tx) in specs.iter().zip(checked) {
        // Malformed txs were dropped by `decoded`; rebuild them from the spec.
        let tx = tx.unwrap_or(Tx {
            signature: [0; 64],
            signer: key(s.signer).1,
            nonce: 0,
            fee: s.fee,
            action: Action::Swap(Swap {
                pool: 0,
                direction: Direction::AtoB,
                amount_in: 0,
                min_out: 0,
            }),
        });
        let mut bytes = Tx::signed(&key(s.signer).0, tx.nonce, tx.fee, tx.action).encode();
        match s.fault {
            Fault::None => {}
            Fault::BadSignature => bytes[10] ^= 0x20,
            Fault::Malformed => bytes.truncate(100),
        }
        block.push_tx_bytes(&bytes).expect("small tx");
    }
    block
}

// ---- Key rules, written independently of schedule.rs -------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyId {
    Account(u32),
    Pool(u32),
    UnknownSigner([u8; 32]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    Credit,
}

/// Keys of one resolved tx, each once, with the stronger mode when named twice.
fn keys_of(r: &Resolved, fc: u32) -> Vec<(KeyId, Mode)> {
    let mut named = Vec::new();
    match r {
        Resolved::Rejected(_) => return named,
        Resolved::UnknownSigner { signer, recipient } => {
            named.push((KeyId::UnknownSigner(*signer), Mode::Write));
            if *recipient != NO_ACCOUNT {
                named.push((KeyId::Account(*recipient), Mode::Credit));
            }
        }
        Resolved::Ready(tx) => {
            named.push((KeyId::Account(tx.signer), Mode::Write));
            match tx.tx.action {
                Action::Swap(s) => named.push((KeyId::Pool(s.pool), Mode::Write)),
                Action::Transfer(_) => named.push((KeyId::Account(tx.recipient), Mode::Credit)),
                Action::AddLiquidity(a) => named.push((KeyId::Pool(a.pool), Mode::Write)),
                Action::RemoveLiquidity(r) => named.push((KeyId::Pool(r.pool), Mode::Write)),
                Action::Route(r) => {
                    for &p in r.pools() {
                        named.push((KeyId::Pool(p), Mode::Write));
                    }
                }
            }
        }
    }
    named.push((KeyId::Account(fc), Mode::Credit));
    let mut keys: Vec<(KeyId, Mode)> = Vec::new();
    for (k, m) in named {
        match keys.iter_mut().find(|(k2, _)| *k2 == k) {
            Some(e) if m == Mode::Write => e.1 = Mode::Write,
            Some(_) => {}
            None => keys.push((k, m)),
        }
    }
    keys
}

fn conflict(a: &[(KeyId, Mode)], b: &[(KeyId, Mode)]) -> bool {
    a.iter().any(|(ka, ma)| {
        b.iter()
            .any(|(kb, mb)| ka == kb && (*ma == Mode::Write || *mb == Mode::Write))
    })
}

/// Checks the schedule of `resolved` against the key rules; returns the longest chain.
fn check_schedule(resolved: &ResolvedBlock, s: &Schedule) -> Result<usize, TestCaseError> {
    let n = resolved.txs.len();
    prop_assert_eq!(s.wave_of().len(), n);
    // Exactly one wave, or none iff rejected at steps 1–2.
    let mut seen = vec![NO_WAVE; n];
    for (w, wave) in s.waves().enumerate() {
        prop_assert!(!wave.is_empty(), "wave {} empty", w);
        prop_assert!(wave.windows(2).all(|p| p[0] < p[1]), "wave {} order", w);
        for &i in wave {
            prop_assert_eq!(seen[i as usize], NO_WAVE, "tx {} in two waves", i);
            seen[i as usize] = w as u32;
        }
    }
    prop_assert_eq!(&seen[..], s.wave_of());
    for (i, r) in resolved.txs.iter().enumerate() {
        let rejected = matches!(r, Resolved::Rejected(_));
        prop_assert_eq!(s.wave_of()[i] == NO_WAVE, rejected, "tx {}", i);
    }
    // Pairwise conflicts and the longest chain ending at every tx.
    let keys: Vec<_> = resolved
        .txs
        .iter()
        .map(|r| keys_of(r, resolved.fee_collector))
        .collect();
    let mut depth = vec![0usize; n];
    for j in 0..n {
        if s.wave_of()[j] == NO_WAVE {
            continue;
        }
        let mut d = 1;
        for i in 0..j {
            if s.wave_of()[i] != NO_WAVE && conflict(&keys[i], &keys[j]) {
                prop_assert_ne!(
                    s.wave_of()[i],
                    s.wave_of()[j],
                    "txs {} and {} conflict",
                    i,
                    j
                );
                d = d.max(depth[i] + 1);
            }
        }
        depth[j] = d;
        prop_assert_eq!(
            s.wave_of()[j] as usize,
            d - 1,
            "tx {} not at its chain depth",
            j
        );
    }
    let longest = depth.iter().copied().max().unwrap_or(0);
    prop_assert_eq!(s.wave_count(), longest);
    Ok(longest)
}

fn pool(threads: usize) -> &'static rayon::ThreadPool {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| {
        [1, 2, 8]
            .iter()
            .map(|&n| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .expect("thread pool")
            })
            .collect()
    });
    &pools[[1, 2, 8]
        .iter()
        .position(|&n| n == threads)
        .expect("1, 2 or 8")]
}

fn schedule_property(u: Universe, fc: usize, specs: &[TxSpec]) -> Result<(), TestCaseError> {
    let mut state = genesis(u);
    let block = Block::new(1, [0; 32], key(fc).1, [0; 32]);
    let (checked, sig_ok) = decoded(specs);
    let resolved = resolve(&mut state, &block, &checked, &sig_ok);
    let schedule = Schedule::build(&resolved, state.account_count());
    check_schedule(&resolved, &schedule)?;

    let mut expected_state = state.clone();
    let expected = cpu::execute_in_order(&mut expected_state, &resolved);
    // Each option set forces one of the executor's paths on these small blocks.
    let option_sets = [
        // Every wave split into chunks of one tx: the most interleaving of a wave.
        WaveOptions {
            parallel_min: 1,
            chunk_min: 1,
            segment_max: 1,
            group_min_width: 0,
        },
        // No wave split: segments of up to 8 txs cut into chains run in parallel.
        WaveOptions {
            parallel_min: usize::MAX,
            chunk_min: 1,
            segment_max: 8,
            group_min_width: 0,
        },
        // A mix of split waves, chains and inline segments.
        WaveOptions {
            parallel_min: 6,
            chunk_min: 2,
            segment_max: 24,
            group_min_width: 2,
        },
    ];
    for options in option_sets {
        for threads in [1, 2, 8] {
            let mut s = state.clone();
            let got =
                pool(threads).install(|| execute_waves_with(&mut s, &resolved, &schedule, options));
            prop_assert_eq!(
                &got,
                &expected,
                "results, {} threads, {:?}",
                threads,
                options
            );
            prop_assert!(
                s == expected_state,
                "state, {} threads, {:?}",
                threads,
                options
            );
        }
    }
    Ok(())
}

/// Runs `block` on the reference and on the engine with 1, 2 and 8 threads; all must
/// agree byte for byte.
fn engine_matches_reference(state: &State, block: &Block) -> Result<(), TestCaseError> {
    let mut ref_state = state.clone();
    let expected = reference::execute_block(&mut ref_state, block).expect("reference accepts");
    for threads in [1, 2, 8] {
        let mut s = state.clone();
        let got = common::threaded_cpu_engine(threads)
            .process_block(&mut s, block)
            .expect("engine accepts");
        prop_assert_eq!(&got.receipts, &expected.receipts, "{} threads", threads);
        prop_assert_eq!(got.tx_root, expected.tx_root);
        prop_assert_eq!(got.receipts_root, expected.receipts_root);
        prop_assert_eq!(got.state_root, expected.state_root);
        prop_assert_eq!(got.block_hash, expected.block_hash);
        prop_assert!(
            s.to_snapshot() == ref_state.to_snapshot(),
            "{} threads",
            threads
        );
        // Rejected at steps 1–2 ⇔ no wave.
        for (i, r) in got.receipts.iter().enumerate() {
            let rejected = matches!(r.status, Status::Malformed | Status::BadSignature);
            prop_assert_eq!(got.schedule.wave_of()[i] == NO_WAVE, rejected);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn schedule_dense_conflicts((fc, specs) in block_spec(SMALL, 40)) {
        schedule_property(SMALL, fc, &specs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn schedule_wide_waves((fc, specs) in block_spec(LARGE, 300)) {
        schedule_property(LARGE, fc, &specs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn engine_dense_conflicts((fc, specs) in block_spec(SMALL, 40)) {
        let state = genesis(SMALL);
        engine_matches_reference(&state, &signed_block(&state, fc, &specs))?;
    }

    #[test]
    fn engine_wide_waves((fc, specs) in block_spec(LARGE, 200)) {
        let state = genesis(LARGE);
        engine_matches_reference(&state, &signed_block(&state, fc, &specs))?;
    }
}

/// Blocks large enough that the engine's default executor runs waves in parallel.
#[test]
fn engine_parallel_waves_match_reference_on_generated_blocks() {
    for (name, cfg) in [
        (
            "uniform",
            GenConfig {
                swap_share: 0.3,
                ..GenConfig::sized(20_000, 64, 2, 4_000, 7)
            },
        ),
        (
            "hot fee collector and recipients",
            GenConfig {
                swap_share: 0.1,
                account_skew: 0.8,
                new_recipient_share: 0.2,
                ..GenConfig::sized(20_000, 8, 1, 8_000, 8)
            },
        ),
    ] {
        let generated = generate(&cfg, |_, _| {}).expect("generate");
        let genesis = State::from_genesis(&generated.genesis).expect("genesis");
        let mut snapshots = Vec::new();
        for threads in [1, 2, 8] {
            let mut state = genesis.clone();
            let mut bytes = Vec::new();
            for block in &generated.blocks {
                // The block claims the reference executor's root: acceptance is equality.
                let outcome = common::threaded_cpu_engine(threads)
                    .process_block(&mut state, block)
                    .unwrap_or_else(|e| panic!("{name}, {threads} threads: {e}"));
                if threads > 1 {
                    assert!(
                        outcome.largest_wave >= txwave::internal::exec::waves::PARALLEL_MIN,
                        "{name}: largest wave {} does not reach the parallel path",
                        outcome.largest_wave
                    );
                }
                for r in &outcome.receipts {
                    bytes.extend_from_slice(&r.leaf());
                }
                bytes.extend_from_slice(&outcome.state_root);
            }
            assert!(state == generated.final_state, "{name}, {threads} threads");
            bytes.extend_from_slice(&state.to_snapshot());
            snapshots.push(bytes);
        }
        assert!(snapshots.windows(2).all(|w| w[0] == w[1]), "{name}");
    }
}
