//! The sequential reference executor on hand-worked blocks: every receipt status, the
//! resolve rules, u64-edge amounts and nonces, and the genesis checks. The CPU engine must
//! give the same bytes on each.

mod common;

use txwave::internal::exec::reference;
use txwave::internal::tx::{Action, Direction, Swap, Transfer, Tx, public_key_of};
use txwave::{Block, Error, State, Status};

const ALICE: [u8; 32] = [1; 32];
const BOB: [u8; 32] = [2; 32];
const CAROL: [u8; 32] = [3; 32]; // never in genesis
const FEES: [u8; 32] = [9; 32];

fn pk(seed: [u8; 32]) -> String {
    hex::encode(public_key_of(&seed))
}

fn transfer(to: [u8; 32], token: u16, amount: u64) -> Action {
    Action::Transfer(Transfer {
        to: public_key_of(&to),
        token,
        amount,
    })
}

fn swap(pool: u32, direction: Direction, amount_in: u64, min_out: u64) -> Action {
    Action::Swap(Swap {
        pool,
        direction,
        amount_in,
        min_out,
    })
}

fn genesis() -> State {
    State::from_genesis_json(&format!(
        r#"{{"verify_rule": "strict", "tokens": 2,
            "accounts": [{{"pubkey": "{}", "nonce": 0, "balances": [1000, 500]}},
                         {{"pubkey": "{}", "nonce": 0, "balances": [0, 0]}}],
            "pools": [{{"token_a": 0, "token_b": 1, "fee_bps": 30, "reserve_a": 1000000, "reserve_b": 2000000}}]}}"#,
        pk(ALICE),
        pk(BOB)
    ))
    .unwrap()
}

/// Runs the block on the reference and on the CPU engine; both must agree on everything.
fn run_both(state: &State, block: &Block) -> (State, Vec<(Status, u64)>) {
    let mut reference_state = state.clone();
    let r = reference::execute_block(&mut reference_state, block).unwrap();
    let mut engine_state = state.clone();
    let e = common::cpu_engine()
        .process_block(&mut engine_state, block)
        .unwrap();
    assert_eq!(
        engine_state, reference_state,
        "engine state differs from the reference"
    );
    assert_eq!(e.receipts, r.receipts);
    assert_eq!(
        (e.tx_root, e.receipts_root, e.state_root, e.block_hash),
        (r.tx_root, r.receipts_root, r.state_root, r.block_hash)
    );
    (
        reference_state,
        r.receipts
            .iter()
            .map(|x| (x.status, x.amount_out()))
            .collect(),
    )
}

#[test]
fn every_status_worked_by_hand() {
    let g = genesis();
    let mut b = Block::new(1, [0; 32], public_key_of(&FEES), [0; 32]);
    // 0: malformed (one byte short).
    let t = Tx::signed(&ALICE, 0, 1, transfer(BOB, 0, 1)).encode();
    b.push_tx_bytes(&t[..t.len() - 1]).unwrap();
    // 1: bad signature (bit flip in S).
    let mut t = Tx::signed(&ALICE, 0, 1, transfer(BOB, 0, 1)).encode();
    t[40] ^= 1;
    b.push_tx_bytes(&t).unwrap();
    // 2: unknown signer — but it passed steps 1–2, so resolve creates the fee collector here.
    b.push_tx(&Tx::signed(&CAROL, 0, 1, transfer(ALICE, 0, 1)));
    // 3: bad nonce.
    b.push_tx(&Tx::signed(&ALICE, 5, 1, transfer(BOB, 0, 1)));
    // 4: insufficient fee (Bob has nothing).
    b.push_tx(&Tx::signed(&BOB, 0, 1, transfer(ALICE, 0, 0)));
    // 5: unknown token 7 — fee 10 kept: Alice 990, nonce 1.
    b.push_tx(&Tx::signed(&ALICE, 0, 10, transfer(BOB, 7, 1)));
    // 6: insufficient balance of token 1 (500 < 501) — Alice 980, nonce 2.
    b.push_tx(&Tx::signed(&ALICE, 1, 10, transfer(BOB, 1, 501)));
    // 7: unknown pool 3 — Alice 970, nonce 3.
    b.push_tx(&Tx::signed(&ALICE, 2, 10, swap(3, Direction::AtoB, 1, 0)));
    // 8: out = ⌊100·9970·2000000 / (1000000·10000 + 100·9970)⌋ = ⌊1994000000000 / 10000997000⌋
    //    = 199 < min_out 200: slippage — Alice 960, nonce 4.
    b.push_tx(&Tx::signed(
        &ALICE,
        3,
        10,
        swap(0, Direction::AtoB, 100, 200),
    ));
    // 9: the same swap with min_out 199 applies: Alice token0 960−10−100 = 850,
    //    token1 500+199 = 699; reserves 1000100 / 1999801.
    b.push_tx(&Tx::signed(
        &ALICE,
        4,
        10,
        swap(0, Direction::AtoB, 100, 199),
    ));
    // 10: transfer 99 of token 1 to Dave, a new account created by resolve.
    const DAVE: [u8; 32] = [4; 32];
    b.push_tx(&Tx::signed(&ALICE, 5, 10, transfer(DAVE, 1, 99)));

    let (s, receipts) = run_both(&g, &b);
    use Status::*;
    let expected = [
        (Malformed, 0),
        (BadSignature, 0),
        (UnknownSigner, 0),
        (BadNonce, 0),
        (InsufficientFee, 0),
        (UnknownToken, 0),
        (InsufficientBalance, 0),
        (UnknownPool, 0),
        (SlippageExceeded, 0),
        (Ok, 199),
        (Ok, 0),
    ];
    assert_eq!(receipts, expected);
    // Accounts: genesis Alice (0), Bob (1); resolve adds the fee collector at tx 2 (2), Dave at tx 10 (3).
    assert_eq!(s.account_count(), 4);
    assert_eq!(s.account_index(&public_key_of(&FEES)), Some(2));
    assert_eq!(s.account_index(&public_key_of(&DAVE)), Some(3));
    assert_eq!(s.account_balances(0), vec![840, 600]);
    assert_eq!(s.nonces()[0], 6);
    assert_eq!(s.account_balances(1), vec![0, 0]);
    assert_eq!(s.account_balances(2), vec![60, 0]);
    assert_eq!(s.account_balances(3), vec![0, 99]);
    assert_eq!(
        (s.pools()[0].reserve_a, s.pools()[0].reserve_b),
        (1_000_100, 1_999_801)
    );
    assert_eq!(s.height(), 1);
}

#[test]
fn resolve_creates_accounts_of_failing_txs_but_not_of_rejected_ones() {
    let g = genesis();
    let mut b = Block::new(1, [0; 32], public_key_of(&FEES), [0; 32]);
    // Bad signature naming Erin: no account for Erin.
    let mut t = Tx::signed(&ALICE, 0, 1, transfer([5; 32], 0, 1)).encode();
    t[0] ^= 1;
    b.push_tx_bytes(&t).unwrap();
    // Insufficient balance naming Frank: Frank is created, then the fee collector.
    b.push_tx(&Tx::signed(&ALICE, 0, 1, transfer([6; 32], 1, 10_000)));
    // Frank was created by resolve before execution, so Frank may sign... but has no fee.
    b.push_tx(&Tx::signed(&[6; 32], 0, 1, transfer(ALICE, 0, 0)));
    let (s, receipts) = run_both(&g, &b);
    assert_eq!(
        receipts.iter().map(|r| r.0).collect::<Vec<_>>(),
        [
            Status::BadSignature,
            Status::InsufficientBalance,
            Status::InsufficientFee
        ]
    );
    assert_eq!(s.account_index(&public_key_of(&[5; 32])), None);
    assert_eq!(
        s.account_index(&public_key_of(&[6; 32])),
        Some(2),
        "recipient before fee collector"
    );
    assert_eq!(s.account_index(&public_key_of(&FEES)), Some(3));
}

#[test]
fn no_valid_tx_means_no_fee_collector() {
    let g = genesis();
    let mut b = Block::new(1, [0; 32], public_key_of(&FEES), [0; 32]);
    b.push_tx_bytes(&[1, 2, 3]).unwrap();
    let (s, receipts) = run_both(&g, &b);
    assert_eq!(receipts, [(Status::Malformed, 0)]);
    assert_eq!(s.account_count(), 2);
}

#[test]
fn u64_edges_of_amounts_and_nonces() {
    // Token 0 supply is exactly u64::MAX: Alice holds all but the pool's one unit.
    let max = u64::MAX;
    let g = State::from_genesis_json(&format!(
        r#"{{"verify_rule": "zip215", "tokens": 2,
            "accounts": [{{"pubkey": "{}", "nonce": {}, "balances": [{}, {}]}}],
            "pools": [{{"token_a": 0, "token_b": 1, "fee_bps": 0, "reserve_a": 1, "reserve_b": {}}}]}}"#,
        pk(ALICE),
        max - 2,
        max - 1,
        1u64,
        max - 1
    ))
    .unwrap();
    let mut b = Block::new(1, [0; 32], public_key_of(&ALICE), [0; 32]);
    // Nonce u64::MAX − 2 → ok; swap almost all of token 0 into a pool with reserve_in 1:
    // out = ⌊a·R / (10000 + a)⌋ with a = (2^64 − 3)·10000, R = 2^64 − 2.
    let amount_in = max - 3;
    let a = amount_in as u128 * 10_000;
    let expected_out = {
        use num_bigint::BigUint;
        let q = BigUint::from(a) * BigUint::from(max - 1)
            / (BigUint::from(10_000u64) + BigUint::from(a));
        u64::try_from(q).unwrap()
    };
    b.push_tx(&Tx::signed(
        &ALICE,
        max - 2,
        1,
        swap(0, Direction::AtoB, amount_in, expected_out),
    ));
    // Nonce u64::MAX − 1 → ok (the account nonce becomes u64::MAX).
    b.push_tx(&Tx::signed(
        &ALICE,
        max - 1,
        0,
        transfer(ALICE, 1, expected_out),
    ));
    // Nonce u64::MAX equals the account nonce but is exhausted → bad_nonce.
    b.push_tx(&Tx::signed(&ALICE, max, 0, transfer(ALICE, 0, 0)));
    let (s, receipts) = run_both(&g, &b);
    assert_eq!(
        receipts,
        [
            (Status::Ok, expected_out),
            (Status::Ok, 0),
            (Status::BadNonce, 0)
        ]
    );
    assert_eq!(s.nonces()[0], max);
    // Fee paid to herself (she is the fee collector): token 0 = (2^64 − 2) − 1 + 1 − amount_in.
    assert_eq!(s.balance(0, 0), (max - 1) - amount_in);
    assert_eq!(s.balance(0, 1), 1 + expected_out);
    assert_eq!(s.pools()[0].reserve_a, 1 + amount_in);
    assert_eq!(s.pools()[0].reserve_b, max - 1 - expected_out);
}

#[test]
fn genesis_checks_name_the_culprit() {
    let a = pk(ALICE);
    let cases = [
        (r#"{"verify_rule": "strict", "tokens": 0, "accounts": [], "pools": []}"#.to_string(), "tokens must be in 1..=256"),
        (r#"{"verify_rule": "strict", "tokens": 257, "accounts": [], "pools": []}"#.to_string(), "tokens must be in 1..=256"),
        (r#"{"verify_rule": "ed448", "tokens": 1, "accounts": [], "pools": []}"#.to_string(), "invalid JSON"),
        (
            r#"{"verify_rule": "strict", "tokens": 2, "accounts": [], "pools": [{"token_a": 1, "token_b": 1, "fee_bps": 30, "reserve_a": 1, "reserve_b": 1}]}"#.to_string(),
            "pool 0: token_a and token_b are both 1",
        ),
        (
            r#"{"verify_rule": "strict", "tokens": 2, "accounts": [], "pools": [{"token_a": 0, "token_b": 2, "fee_bps": 30, "reserve_a": 1, "reserve_b": 1}]}"#.to_string(),
            "pool 0: token_b = 2",
        ),
        (
            r#"{"verify_rule": "strict", "tokens": 2, "accounts": [], "pools": [{"token_a": 0, "token_b": 1, "fee_bps": 10000, "reserve_a": 1, "reserve_b": 1}]}"#.to_string(),
            "pool 0: fee_bps = 10000",
        ),
        (
            r#"{"verify_rule": "strict", "tokens": 2, "accounts": [], "pools": [{"token_a": 0, "token_b": 1, "fee_bps": 3, "reserve_a": 0, "reserve_b": 1}]}"#.to_string(),
            "pool 0: reserves must be ≥ 1",
        ),
        (
            format!(r#"{{"verify_rule": "strict", "tokens": 1, "accounts": [{{"pubkey": "{a}", "nonce": 0, "balances": [1]}}, {{"pubkey": "{a}", "nonce": 0, "balances": [1]}}], "pools": []}}"#),
            "account 1: duplicate pubkey",
        ),
        (
            format!(r#"{{"verify_rule": "strict", "tokens": 2, "accounts": [{{"pubkey": "{a}", "nonce": 0, "balances": [1]}}], "pools": []}}"#),
            "account 0 (",
        ),
        (
            r#"{"verify_rule": "strict", "tokens": 1, "accounts": [{"pubkey": "zz", "nonce": 0, "balances": [1]}], "pools": []}"#.to_string(),
            "account 0: pubkey",
        ),
        (
            format!(
                r#"{{"verify_rule": "strict", "tokens": 2, "accounts": [{{"pubkey": "{a}", "nonce": 0, "balances": [18446744073709551615, 0]}}], "pools": [{{"token_a": 0, "token_b": 1, "fee_bps": 3, "reserve_a": 1, "reserve_b": 1}}]}}"#
            ),
            "token 0: total supply 18446744073709551616 exceeds",
        ),
    ];
    for (json, expected) in cases {
        match State::from_genesis_json(&json) {
            Err(Error::Genesis(msg)) => assert!(
                msg.contains(expected),
                "{msg:?} should contain {expected:?}"
            ),
            other => panic!("{json}: expected a genesis error, got {other:?}"),
        }
    }
}
