//! Binary formats of docs/FORMATS.md: tx and block-log round trips, and damaged logs that must
//! give an `Error` naming the block (never a panic) while leaving the state untouched.

mod common;

use proptest::prelude::*;
use txwave::internal::tx::{
    ADD_LIQUIDITY_LEN, Action, Direction, REMOVE_LIQUIDITY_LEN, ROUTE_BASE_LEN, SWAP_LEN, Swap,
    TRANSFER_LEN, Transfer, Tx,
};
use txwave::internal::workload::{GenConfig, generate};
use txwave::{Block, Error, State};

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (any::<[u8; 32]>(), any::<u16>(), any::<u64>())
            .prop_map(|(to, token, amount)| Action::Transfer(Transfer { to, token, amount })),
        (any::<u32>(), any::<bool>(), any::<u64>(), any::<u64>()).prop_map(
            |(pool, d, amount_in, min_out)| {
                Action::Swap(Swap {
                    pool,
                    direction: if d { Direction::BtoA } else { Direction::AtoB },
                    amount_in,
                    min_out,
                })
            }
        ),
    ]
}

fn arb_tx() -> impl Strategy<Value = Tx> {
    (
        any::<[u8; 64]>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u64>(),
        arb_action(),
    )
        .prop_map(|(signature, signer, nonce, fee, action)| Tx {
            signature,
            signer,
            nonce,
            fee,
            action,
        })
}

proptest! {
    #[test]
    fn tx_round_trip(tx in arb_tx()) {
        let bytes = tx.encode();
        let expected_len = match tx.action {
            Action::Transfer(_) => TRANSFER_LEN,
            Action::Swap(_) => SWAP_LEN,
            Action::AddLiquidity(_) => ADD_LIQUIDITY_LEN,
            Action::RemoveLiquidity(_) => REMOVE_LIQUIDITY_LEN,
            Action::Route(r) => ROUTE_BASE_LEN + 4 * r.hops as usize,
        };
        prop_assert_eq!(bytes.len(), expected_len);
        prop_assert_eq!(Tx::decode(&bytes), Some(tx));
        // Any other length for the kind is malformed.
        prop_assert_eq!(Tx::decode(&bytes[..bytes.len() - 1]), None);
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert_eq!(Tx::decode(&longer), None);
    }

    #[test]
    fn unknown_kind_and_bad_direction_are_malformed(tx in arb_tx(), kind in 6u8.., dir in 2u8..) {
        let mut bytes = tx.encode();
        bytes[64] = kind;
        prop_assert_eq!(Tx::decode(&bytes), None);
        if let Action::Swap(_) = tx.action {
            let mut bytes = tx.encode();
            bytes[117] = dir;
            prop_assert_eq!(Tx::decode(&bytes), None);
        }
    }

    #[test]
    fn block_log_round_trip(
        headers in proptest::collection::vec((any::<u64>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>()), 1..4),
        txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
    ) {
        let mut log = Vec::new();
        let mut blocks = Vec::new();
        for (height, parent, fc, root) in headers {
            let mut b = Block::new(height, parent, fc, root);
            for t in &txs {
                b.push_tx_bytes(t).unwrap();
            }
            b.encode_into(&mut log);
            blocks.push(b);
        }
        prop_assert_eq!(Block::decode_log(&log).unwrap(), blocks.clone());
        let (first, used) = Block::decode(&log).unwrap();
        prop_assert_eq!(&first, &blocks[0]);
        prop_assert_eq!(used, blocks[0].encode().len());
    }
}

fn small_dataset() -> (State, Vec<Block>, Vec<u8>) {
    let cfg = GenConfig::sized(20, 3, 2, 12, 7);
    let g = generate(&cfg, |_, _| {}).unwrap();
    (
        State::from_genesis(&g.genesis).unwrap(),
        g.blocks.clone(),
        g.block_log(),
    )
}

#[test]
fn every_truncation_is_an_error_naming_the_block() {
    let (_, blocks, log) = small_dataset();
    let first_len = blocks[0].encode().len();
    for cut in 0..log.len() {
        if cut == first_len {
            // A cut exactly between blocks is a shorter, valid log: the first block alone.
            assert_eq!(
                Block::decode_log(&log[..cut]).unwrap(),
                blocks[..1].to_vec()
            );
            continue;
        }
        match Block::decode_log(&log[..cut]) {
            Err(Error::BlockDecode { block, offset, .. }) => {
                let expected_block = if cut == 0 || cut < first_len { 0 } else { 1 };
                assert_eq!(block, expected_block, "cut at {cut}");
                assert!(offset <= cut, "cut at {cut}: offset {offset} past the end");
            }
            other => panic!("cut at {cut}: expected a BlockDecode error, got {other:?}"),
        }
    }
}

#[test]
fn every_single_byte_flip_is_an_error() {
    let (_, blocks, log) = small_dataset();
    let first_len = blocks[0].encode().len();
    for at in 0..log.len() {
        for bit in [0u8, 3, 7] {
            let mut bad = log.clone();
            bad[at] ^= 1 << bit;
            match Block::decode_log(&bad) {
                Err(Error::BlockDecode { block, .. } | Error::BlockTooLarge { block, .. }) => {
                    assert_eq!(block, usize::from(at >= first_len), "flip at {at}");
                }
                other => {
                    panic!("flip of bit {bit} at byte {at}: expected BlockDecode, got {other:?}")
                }
            }
        }
    }
}

#[test]
fn rejected_blocks_leave_the_state_unchanged() {
    let (genesis, blocks, _) = small_dataset();
    let engine = common::cpu_engine();
    let mut state = genesis.clone();
    engine.process_block(&mut state, &blocks[0]).unwrap();
    let after_first = state.clone();

    // Wrong claimed root: every tx executes, then the block is rolled back.
    let mut wrong_root = blocks[1].clone();
    wrong_root.claimed_state_root[5] ^= 1;
    let reference =
        txwave::internal::exec::reference::execute_block(&mut after_first.clone(), &blocks[1])
            .unwrap()
            .state_root;
    match engine.process_block(&mut state, &wrong_root) {
        Err(Error::StateRootMismatch {
            height: 2,
            claimed,
            computed,
        }) => {
            assert_eq!(claimed, wrong_root.claimed_state_root);
            assert_eq!(computed, reference);
        }
        other => panic!("expected a state root mismatch, got {other:?}"),
    }
    assert_eq!(state, after_first);
    assert_eq!(state.state_root(), after_first.state_root());

    // Wrong height and wrong parent.
    let mut wrong_height = blocks[1].clone();
    wrong_height.height = 3;
    assert!(matches!(
        engine.process_block(&mut state, &wrong_height),
        Err(Error::WrongHeight {
            expected: 2,
            found: 3
        })
    ));
    let mut wrong_parent = blocks[1].clone();
    wrong_parent.parent_hash[0] ^= 1;
    match engine.process_block(&mut state, &wrong_parent) {
        Err(Error::WrongParent {
            height: 2,
            expected,
            found,
        }) => {
            assert_eq!(expected, after_first.last_block_hash());
            assert_eq!(found, wrong_parent.parent_hash);
        }
        other => panic!("expected a wrong parent, got {other:?}"),
    }
    // Replaying an applied block.
    assert!(matches!(
        engine.process_block(&mut state, &blocks[0]),
        Err(Error::WrongHeight {
            expected: 2,
            found: 1
        })
    ));
    assert_eq!(state, after_first);

    // The intact block still applies afterwards and matches the reference.
    let mut reference = after_first.clone();
    let expected =
        txwave::internal::exec::reference::execute_block(&mut reference, &blocks[1]).unwrap();
    let got = engine.process_block(&mut state, &blocks[1]).unwrap();
    assert_eq!(got.state_root, expected.state_root);
    assert_eq!(state, reference);
}

#[test]
fn snapshot_round_trip_and_damage() {
    let (genesis, blocks, _) = small_dataset();
    let mut state = genesis;
    for b in &blocks {
        common::cpu_engine().process_block(&mut state, b).unwrap();
    }
    let snap = state.to_snapshot();
    assert_eq!(State::from_snapshot(&snap).unwrap(), state);
    for cut in 0..snap.len() {
        assert!(
            State::from_snapshot(&snap[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    for at in (0..snap.len()).step_by(7) {
        let mut bad = snap.clone();
        bad[at] ^= 0x40;
        assert!(
            matches!(State::from_snapshot(&bad), Err(Error::Snapshot { .. })),
            "flip at {at}"
        );
    }
}

#[test]
fn a_genesis_read_as_a_stream_equals_one_parsed_from_text() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/datasets/defi-small/genesis.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let whole = State::from_genesis_json(&text).unwrap();
    let file = std::fs::File::open(path).unwrap();
    let streamed = State::from_genesis_reader(std::io::BufReader::new(file)).unwrap();
    assert!(whole.to_snapshot() == streamed.to_snapshot());
    // The same errors either way.
    let bad = r#"{"verify_rule": "strict", "tokens": 0, "accounts": [], "pools": []}"#;
    let a = State::from_genesis_json(bad).unwrap_err().to_string();
    let b = State::from_genesis_reader(bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(a, b);
    let truncated = &text[..text.len() / 2];
    let a = State::from_genesis_json(truncated).unwrap_err().to_string();
    let b = State::from_genesis_reader(truncated.as_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(a, b);
}
