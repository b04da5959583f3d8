//! Hostile input: every size a block log, a genesis or a snapshot declares is bounded
//! before it is used, and no failure — a panic inside txwave included — looks like
//! success (docs/SPEC.md, "Bounds on input" and the exit-code table).

mod common;

use txwave::internal::engine::PanicPoint;
use txwave::internal::tx::{BLOCK_HEADER_LEN, MAX_BLOCK_TXS};
use txwave::internal::workload::{GenConfig, generate};
use txwave::{
    Backend, Block, DecodeLimits, Engine, EngineConfig, Error, LogReader, State, StreamOptions,
};

use common::raw::{block_of, header};

fn too_large(e: &Error) -> (usize, u64, &'static str, u64, u64) {
    match e {
        Error::BlockTooLarge {
            block,
            offset,
            field,
            declared,
            bound,
            ..
        } => (*block, *offset, field, *declared, *bound),
        other => panic!("expected BlockTooLarge, got {other:?}"),
    }
}

fn read_all(bytes: &[u8], limits: DecodeLimits) -> txwave::Result<Vec<Block>> {
    LogReader::with_limits(bytes, limits).unwrap().collect()
}

#[test]
fn the_largest_tx_count_with_no_data_behind_it_is_refused_at_the_header() {
    // u32::MAX txs declared, not one byte of them present: refused by the count alone,
    // by the streaming reader and by the whole-log decoder alike, after one good block.
    let mut log = block_of(1, [0; 32], 2, 10);
    let second = log.len() as u64;
    log.extend_from_slice(&header(2, [0; 32], u32::MAX));
    let e = read_all(&log, DecodeLimits::default()).unwrap_err();
    assert_eq!(
        too_large(&e),
        (
            1,
            second + 112,
            "tx_count",
            u64::from(u32::MAX),
            u64::from(MAX_BLOCK_TXS)
        )
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "block 1 at byte {}: tx_count declares 4294967295, above the bound of 1048576",
            second + 112
        )),
        "{msg}"
    );
    let e = Block::decode_log(&log).unwrap_err();
    assert_eq!(too_large(&e).0, 1);
    assert_eq!(too_large(&e).2, "tx_count");
}

#[test]
fn a_tx_count_at_the_bound_decodes_and_one_more_is_refused() {
    let limits = DecodeLimits {
        max_block_txs: 1000,
        ..Default::default()
    };
    let at = block_of(1, [0; 32], 1000, 0);
    assert_eq!(read_all(&at, limits).unwrap()[0].tx_count(), 1000);
    assert_eq!(
        Block::decode_log_with(&at, &limits).unwrap()[0].tx_count(),
        1000
    );
    let over = block_of(1, [0; 32], 1001, 0);
    let e = read_all(&over, limits).unwrap_err();
    assert_eq!(too_large(&e), (0, 112, "tx_count", 1001, 1000));
}

#[test]
fn a_tx_length_that_takes_the_block_over_the_bound_is_refused_before_its_bytes_are_read() {
    // The first tx declares 65,535 bytes; only its length field is there. A 1,000-byte
    // bound refuses it at that field (not as a truncation, which would mean waiting for
    // the bytes), and the declared size counts the rest's length fields and the checksum.
    let limits = DecodeLimits {
        max_block_bytes: 1000,
        ..Default::default()
    };
    let mut log = header(1, [0; 32], 3);
    log.extend_from_slice(&u16::MAX.to_le_bytes());
    let e = read_all(&log, limits).unwrap_err();
    let declared = (BLOCK_HEADER_LEN + 2 + 65535 + 2 * 2 + 32) as u64;
    let (block, offset, field, got, bound) = too_large(&e);
    assert_eq!((block, offset, got, bound), (0, 116, declared, 1000));
    assert!(field.starts_with("block size"), "{field}");
    let e = Block::decode_log_with(&log, &limits).unwrap_err();
    assert_eq!(too_large(&e).3, declared);
}

#[test]
fn a_block_exactly_at_the_byte_bound_is_accepted_and_one_byte_less_refuses_it() {
    let log = block_of(1, [0; 32], 3, 500);
    let size = log.len() as u64;
    assert_eq!(size, (BLOCK_HEADER_LEN + 3 * 502 + 32) as u64);
    let at = DecodeLimits {
        max_block_bytes: size,
        ..Default::default()
    };
    let blocks = read_all(&log, at).unwrap();
    assert_eq!(blocks[0].encoded_len(), size);
    let below = DecodeLimits {
        max_block_bytes: size - 1,
        ..Default::default()
    };
    let e = read_all(&log, below).unwrap_err();
    // The third tx's length field is where the block goes over.
    assert_eq!(
        too_large(&e),
        (
            0,
            116 + 2 * 502,
            "block size (the txs up to this one's length field, the rest's lengths and the checksum at least)",
            size,
            size - 1
        )
    );
    assert_eq!(
        too_large(&Block::decode_log_with(&log, &below).unwrap_err()).3,
        size
    );
}

#[test]
fn bounds_themselves_are_checked() {
    for bad in [0, 147, u64::from(u32::MAX) + 1, u64::MAX] {
        let limits = DecodeLimits {
            max_block_bytes: bad,
            ..Default::default()
        };
        assert!(
            matches!(limits.check(), Err(Error::InvalidArgument(_))),
            "{bad}"
        );
        assert!(LogReader::with_limits(&[][..], limits).is_err());
        assert!(
            Engine::new(EngineConfig {
                backend: Backend::Cpu,
                limits,
                ..Default::default()
            })
            .is_err()
        );
    }
    for good in [148, u64::from(u32::MAX)] {
        DecodeLimits {
            max_block_bytes: good,
            ..Default::default()
        }
        .check()
        .unwrap();
    }
}

fn workload() -> (State, Vec<Block>) {
    let g = generate(
        &GenConfig {
            blocks: 3,
            txs_per_block: 60,
            accounts: 20,
            seed: 9,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    (State::from_genesis(&g.genesis).unwrap(), g.blocks)
}

#[test]
fn an_engine_refuses_a_block_over_its_limits_and_keeps_the_state() {
    let (genesis, blocks) = workload();
    let engine = Engine::new(EngineConfig {
        backend: Backend::Cpu,
        limits: DecodeLimits {
            max_block_txs: 59,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let mut state = genesis.clone();
    let e = engine.process_block(&mut state, &blocks[0]).unwrap_err();
    assert_eq!(too_large(&e), (0, 112, "tx_count", 60, 59));
    assert_eq!(state, genesis);
    let e = engine
        .process_stream(
            &mut state,
            blocks.iter().cloned().map(Ok),
            &StreamOptions::default(),
        )
        .unwrap_err();
    assert_eq!(too_large(&e).2, "tx_count");
    assert_eq!(state, genesis);
}

#[test]
fn a_panic_in_any_stage_of_a_stream_is_an_internal_error_and_the_state_is_the_last_accepted_one() {
    let (genesis, blocks) = workload();
    let reference = common::cpu_engine();
    let mut after_first = genesis.clone();
    reference
        .process_block(&mut after_first, &blocks[0])
        .unwrap();
    let mut after_all = after_first.clone();
    for b in &blocks[1..] {
        reference.process_block(&mut after_all, b).unwrap();
    }
    for (point, stage) in [
        (PanicPoint::Read, "stream read"),
        (PanicPoint::Prepare, "stream prepare"),
        (PanicPoint::Apply, "apply (execute, commit)"),
    ] {
        for threads in [1, 2, 8] {
            let engine = common::threaded_cpu_engine(threads);
            engine.inject_panic(point, 2);
            let mut state = genesis.clone();
            let e = engine
                .process_stream(
                    &mut state,
                    blocks.iter().cloned().map(Ok),
                    &StreamOptions::default(),
                )
                .unwrap_err();
            match &e {
                Error::Internal { stage: s, what } => {
                    assert_eq!(*s, stage, "{point:?}");
                    assert!(what.contains("injected panic"), "{what}");
                }
                other => panic!("{point:?}: expected an internal error, got {other:?}"),
            }
            assert_eq!(state, after_first, "{point:?} at {threads} threads");
            assert_eq!(state.state_root(), after_first.state_root());
            // The engine goes on from there and lands on the same state.
            engine
                .process_stream(
                    &mut state,
                    blocks[1..].iter().cloned().map(Ok),
                    &StreamOptions::default(),
                )
                .unwrap();
            assert_eq!(state.state_root(), after_all.state_root(), "{point:?}");
        }
    }
    // process_block too: a panic while preparing or applying leaves the state as it was.
    let engine = common::cpu_engine();
    for point in [PanicPoint::Prepare, PanicPoint::Apply] {
        engine.inject_panic(point, 2);
        let mut state = after_first.clone();
        let e = engine.process_block(&mut state, &blocks[1]).unwrap_err();
        assert!(matches!(e, Error::Internal { .. }), "{e:?}");
        assert_eq!(state, after_first);
    }
}

#[test]
fn a_service_batch_whose_verification_panicked_is_answered_with_an_internal_error() {
    use std::sync::Arc;
    use txwave::{OwnedSigCheck, ServiceOptions, VerifyRule, VerifyService};
    let engine = Arc::new(common::cpu_engine());
    let service = VerifyService::new(engine.clone(), ServiceOptions::default()).unwrap();
    let seed = [3; 32];
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let check = |m: &[u8]| OwnedSigCheck {
        public_key: key.verifying_key().to_bytes(),
        signature: ed25519_dalek::Signer::sign(&key, m).to_bytes(),
        message: m.to_vec().into(),
    };
    engine.inject_panic(PanicPoint::Service, 0);
    let e = service
        .submit(vec![check(b"a"), check(b"b")], VerifyRule::Strict)
        .unwrap()
        .wait()
        .unwrap_err();
    match e {
        Error::Internal { stage, what } => {
            assert_eq!(stage, "verify service");
            assert!(what.contains("injected panic"), "{what}");
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
    // The worker goes on: the next batch is verified.
    let ok = service
        .submit(vec![check(b"c")], VerifyRule::Strict)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(ok, [true]);
}

#[test]
fn genesis_and_snapshot_sizes_are_bounded_and_named() {
    let pk = hex::encode(txwave::internal::tx::public_key_of(&[1; 32]));
    // tokens: the largest JSON value, refused before any per-token allocation.
    let g = format!(
        r#"{{"verify_rule":"strict","tokens":4294967295,"accounts":[{{"pubkey":"{pk}","nonce":0,"balances":[1]}}],"pools":[]}}"#
    );
    let e = State::from_genesis_json(&g).unwrap_err().to_string();
    assert!(
        e.contains("tokens must be in 1..=256, got 4294967295"),
        "{e}"
    );
    // The largest allowed: 256 tokens.
    let balances = vec!["0"; 256].join(",");
    let g = format!(
        r#"{{"verify_rule":"strict","tokens":256,"accounts":[{{"pubkey":"{pk}","nonce":0,"balances":[{balances}]}}],"pools":[]}}"#
    );
    assert_eq!(State::from_genesis_json(&g).unwrap().tokens(), 256);
    // A pubkey string of a million characters: named by its length, never echoed whole.
    let long = "a".repeat(1_000_000);
    let g = format!(
        r#"{{"verify_rule":"strict","tokens":1,"accounts":[{{"pubkey":"{long}","nonce":0,"balances":[1]}}],"pools":[]}}"#
    );
    let e = State::from_genesis_json(&g).unwrap_err().to_string();
    assert!(
        e.contains("is 1000000 characters long, expected 64 hex digits"),
        "{e}"
    );
    assert!(e.len() < 200, "{} bytes of message", e.len());

    // Snapshots: counts larger than the bytes behind them.
    let (state, _) = workload();
    let snap = state.to_snapshot();
    let reseal = |mut body: Vec<u8>| {
        let sum = blake3::hash(&body);
        body.extend_from_slice(sum.as_bytes());
        body
    };
    let count_at = 8 + 4 + 1 + 2 + 8 + 32;
    let body = snap[..snap.len() - 32].to_vec();
    let mut huge = body.clone();
    huge[count_at..count_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let e = State::from_snapshot(&reseal(huge)).unwrap_err().to_string();
    assert!(e.contains(&format!("state snapshot at byte {count_at}: account_count declares 18446744073709551615 accounts")), "{e}");
    assert!(e.contains("hold at most"), "{e}");
    // pool_count at u32::MAX with no pools behind it.
    let pools_at = body.len() - 4 - 32 * state.pools().len();
    let mut huge = body.clone();
    huge[pools_at..pools_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = State::from_snapshot(&reseal(huge)).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "state snapshot at byte {pools_at}: pool_count declares 4294967295 pools"
        )),
        "{e}"
    );
    // The largest allowed values are the real ones: the snapshot round-trips.
    assert_eq!(State::from_snapshot(&snap).unwrap(), state);
}

/// The error of a decode, reduced to what both decoders must agree on.
fn verdict(r: &txwave::Result<Vec<Block>>) -> String {
    match r {
        Ok(blocks) => format!("ok {}", blocks.len()),
        Err(e) => e.to_string(),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

    /// Random logs of blocks whose tx lengths, counts and bytes are overwritten at random,
    /// under random bounds: the streaming reader, fed in random read sizes, gives exactly
    /// the whole-log decoder's blocks and errors, and neither panics.
    #[test]
    fn the_reader_and_the_decoder_agree_on_hostile_logs_under_any_bounds(
        shape in proptest::collection::vec((0u32..6, 0u16..300), 1..4),
        pokes in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..4),
        max_bytes in 148u64..3000,
        max_txs in 0u32..8,
        chunk in 1usize..700,
    ) {
        let mut log = Vec::new();
        for (i, &(txs, len)) in shape.iter().enumerate() {
            log.extend_from_slice(&block_of(i as u64 + 1, [0; 32], txs, len));
        }
        for &(at, byte) in &pokes {
            if !log.is_empty() {
                let at = at % log.len();
                log[at] = byte;
            }
        }
        let limits = DecodeLimits { max_block_bytes: max_bytes, max_block_txs: max_txs };
        let whole = Block::decode_log_with(&log, &limits);
        /// A source that hands out at most `chunk` bytes a read.
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let streamed: txwave::Result<Vec<Block>> =
            LogReader::with_limits(Trickle(&log, chunk), limits).unwrap().collect();
        proptest::prop_assert_eq!(verdict(&whole), verdict(&streamed));
        if let (Ok(a), Ok(b)) = (&whole, &streamed) {
            proptest::prop_assert_eq!(a, b);
            for block in a {
                proptest::prop_assert!(block.tx_count() as u64 <= u64::from(max_txs));
                proptest::prop_assert!(block.encoded_len() <= max_bytes);
            }
        }
    }
}
