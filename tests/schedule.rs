//! Scheduler and resolve tests with hand-drawn conflict graphs and exact waves.
//!
//! Every block runs through the real pipeline (`Engine::process_block`, CPU backend),
//! and the waves are read from the outcome's schedule. In the graphs, `--W-->` is a
//! conflict on a Write key (signer or pool) and `--C-->` one where a Credit (recipient
//! or fee collector) meets a Write; credits to the same key draw no edge. Each edge
//! points from the earlier tx to the later one; a tx's wave is 1 + the longest path
//! into it (0-based waves).

mod common;

use txwave::internal::exec::reference;
use txwave::internal::schedule::NO_WAVE;
use txwave::internal::state::{AccountJson, GenesisJson, Pool, PoolJson};
use txwave::internal::tx::{Action, Direction, Swap, Transfer, public_key_of};
use txwave::internal::verify::VerifyRule;
use txwave::{Block, BlockOutcome, State, Status, Tx};

/// Key seed of a named party.
fn seed(name: u8) -> [u8; 32] {
    [name; 32]
}

fn pk(name: u8) -> [u8; 32] {
    public_key_of(&seed(name))
}

const A: u8 = b'A';
const B: u8 = b'B';
const C: u8 = b'C';
const D: u8 = b'D';
const E: u8 = b'E';
/// The fee collector of every block here.
const F: u8 = b'F';
/// Never in genesis: created by resolve when named as a recipient.
const N: u8 = b'N';
/// Never in genesis and never a recipient: an unknown signer.
const U: u8 = b'U';
const V: u8 = b'V';

/// A genesis with `funded` accounts (1000 of each of 3 tokens) and two pools 0/1, 1/2.
fn genesis(funded: &[u8]) -> State {
    let g = GenesisJson {
        verify_rule: VerifyRule::Strict,
        tokens: 3,
        accounts: funded
            .iter()
            .map(|&n| AccountJson {
                pubkey: hex::encode(pk(n)),
                nonce: 0,
                balances: vec![1000; 3],
            })
            .collect(),
        pools: vec![
            PoolJson::from(Pool::new(0, 1, 30, 1_000_000, 1_000_000)),
            PoolJson::from(Pool::new(1, 2, 30, 1_000_000, 1_000_000)),
        ],
    };
    State::from_genesis(&g).expect("valid genesis")
}

fn transfer(from: u8, nonce: u64, to: u8, amount: u64) -> Vec<u8> {
    Tx::signed(
        &seed(from),
        nonce,
        1,
        Action::Transfer(Transfer {
            to: pk(to),
            token: 0,
            amount,
        }),
    )
    .encode()
}

fn swap(from: u8, nonce: u64, pool: u32) -> Vec<u8> {
    Tx::signed(
        &seed(from),
        nonce,
        1,
        Action::Swap(Swap {
            pool,
            direction: Direction::AtoB,
            amount_in: 10,
            min_out: 0,
        }),
    )
    .encode()
}

/// `tx` with one signature bit flipped.
fn bad_signature(mut tx: Vec<u8>) -> Vec<u8> {
    tx[0] ^= 1;
    tx
}

/// Runs one block of `txs` on `state` with fee collector [`F`]; checks it against the
/// reference executor and returns the outcome.
fn run(state: &mut State, txs: &[Vec<u8>]) -> BlockOutcome {
    let mut block = Block::new(state.height() + 1, state.last_block_hash(), pk(F), [0; 32]);
    for tx in txs {
        block.push_tx_bytes(tx).expect("small tx");
    }
    let mut reference_state = state.clone();
    let expected = reference::execute_block(&mut reference_state, &block).expect("reference");
    let engine = common::cpu_engine();
    let outcome = engine.process_block(state, &block).expect("block accepted");
    assert_eq!(outcome.receipts, expected.receipts);
    assert_eq!(outcome.state_root, expected.state_root);
    assert_eq!(*state, reference_state);
    outcome
}

/// The waves of `txs`, with [`NO_WAVE`] for txs that take none; also checks that the
/// schedule's wave lists agree with `wave_of`.
fn waves_of(state: &mut State, txs: &[Vec<u8>]) -> Vec<u32> {
    let outcome = run(state, txs);
    check_layout(&outcome);
    outcome.schedule.wave_of().to_vec()
}

fn check_layout(outcome: &BlockOutcome) {
    let s = &outcome.schedule;
    let mut seen = vec![NO_WAVE; s.wave_of().len()];
    for (w, wave) in s.waves().enumerate() {
        assert!(!wave.is_empty(), "wave {w} is empty");
        assert!(
            wave.windows(2).all(|p| p[0] < p[1]),
            "wave {w} not in block order"
        );
        for &i in wave {
            assert_eq!(seen[i as usize], NO_WAVE, "tx {i} in two waves");
            seen[i as usize] = w as u32;
        }
    }
    assert_eq!(seen, s.wave_of());
    assert_eq!(outcome.waves, s.wave_count());
    assert_eq!(outcome.largest_wave, s.largest_wave());
}

const X: u32 = NO_WAVE;

#[test]
fn credits_to_one_account_do_not_conflict() {
    // tx0: A → C    tx1: B → C    tx2: D → C
    // All three credit C and F (Credit/Credit): no edges.
    let mut s = genesis(&[A, B, C, D]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, C, 5),
            transfer(B, 0, C, 5),
            transfer(D, 0, C, 5),
        ],
    );
    assert_eq!(w, [0, 0, 0]);
    assert_eq!(
        s.balance(s.account_index(&pk(C)).unwrap() as usize, 0),
        1015
    );
}

#[test]
fn credit_then_write_conflicts() {
    // tx0: A → C   --C(C)-->   tx1: C → D
    // tx2: B → E (independent)
    let mut s = genesis(&[A, B, C, D, E]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, C, 5),
            transfer(C, 0, D, 5),
            transfer(B, 0, E, 5),
        ],
    );
    assert_eq!(w, [0, 1, 0]);
}

#[test]
fn write_then_credit_conflicts() {
    // tx0: C → D  --C(C)-->  tx1: A → C
    // tx0 --C(C)--> tx2: B → C ; tx1 and tx2 both only credit C: no edge between them.
    let mut s = genesis(&[A, B, C, D]);
    let w = waves_of(
        &mut s,
        &[
            transfer(C, 0, D, 5),
            transfer(A, 0, C, 5),
            transfer(B, 0, C, 5),
        ],
    );
    assert_eq!(w, [0, 1, 1]);
}

#[test]
fn write_then_write_on_one_signer_chains() {
    // tx0: A → B  --W(A)-->  tx1: A → C  --W(A)-->  tx2: A → D
    let mut s = genesis(&[A, B, C, D]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, B, 1),
            transfer(A, 1, C, 1),
            transfer(A, 2, D, 1),
        ],
    );
    assert_eq!(w, [0, 1, 2]);
}

#[test]
fn chain_through_recipients_and_a_shortcut() {
    // tx0: A → B  --C(B)-->  tx1: B → C  --C(C)-->  tx2: C → D
    // tx0 --W(A)--> tx3: A → E   (A's second tx only waits for A's first)
    let mut s = genesis(&[A, B, C, D, E]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, B, 1),
            transfer(B, 0, C, 1),
            transfer(C, 0, D, 1),
            transfer(A, 1, E, 1),
        ],
    );
    assert_eq!(w, [0, 1, 2, 1]);
}

#[test]
fn self_transfer_is_a_write() {
    // tx0: A → A (signer Write and recipient Credit on A: one key, Write)
    // tx0 --C(A)--> tx1: B → A --C(A)--> tx2: A → C ; also tx0 --W(A)--> tx2.
    // tx3: D → E independent.
    let mut s = genesis(&[A, B, C, D, E]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, A, 7),
            transfer(B, 0, A, 5),
            transfer(A, 1, C, 5),
            transfer(D, 0, E, 5),
        ],
    );
    assert_eq!(w, [0, 1, 2, 0]);
    // A paid two fees and sent 5 to C, got 5 from B; the self-transfer is neutral.
    let a = s.account_index(&pk(A)).unwrap() as usize;
    assert_eq!(s.balance(a, 0), 1000 - 2);
}

#[test]
fn recipient_is_the_fee_collector() {
    // tx0: A → F   tx1: B → F   (F is the fee collector: every tx credits it)
    // Only credits to F: no edges.
    let mut s = genesis(&[A, B, F]);
    let w = waves_of(&mut s, &[transfer(A, 0, F, 10), transfer(B, 0, F, 10)]);
    assert_eq!(w, [0, 0]);
    let f = s.account_index(&pk(F)).unwrap() as usize;
    assert_eq!(s.balance(f, 0), 1000 + 20 + 2);
}

#[test]
fn signer_is_the_fee_collector() {
    // tx0: A → B credits F          --C(F)-->  tx1: F → C (Write F)
    // tx1 --C(F)--> tx2: D → E (credits F after F's write)
    // tx1 --C(F)--> tx3: B → A ; also tx0 --C(B)--> tx3 and tx0 --C(A)--> tx3.
    let mut s = genesis(&[A, B, C, D, E, F]);
    let w = waves_of(
        &mut s,
        &[
            transfer(A, 0, B, 1),
            transfer(F, 0, C, 1),
            transfer(D, 0, E, 1),
            transfer(B, 0, A, 1),
        ],
    );
    assert_eq!(w, [0, 1, 2, 2]);
    // F paid its own fee to itself: net 1000 - 1 (sent to C) + 3 fees from others.
    let f = s.account_index(&pk(F)).unwrap() as usize;
    assert_eq!(s.balance(f, 0), 1000 - 1 + 3);
}

#[test]
fn signer_created_earlier_in_the_same_block() {
    // tx0: A → N (N is new: resolve creates it; tx0 credits it)
    // tx0 --C(N)--> tx1: N → B (N's first tx, paid from what tx0 sent)
    // tx1 --W(N)--> tx2: N → C
    let mut s = genesis(&[A, B, C]);
    let txs = [
        transfer(A, 0, N, 100),
        transfer(N, 0, B, 10),
        transfer(N, 1, C, 10),
    ];
    let outcome = run(&mut s, &txs);
    check_layout(&outcome);
    assert_eq!(outcome.schedule.wave_of(), [0, 1, 2]);
    let statuses: Vec<Status> = outcome.receipts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Ok, Status::Ok, Status::Ok]);
    let n = s.account_index(&pk(N)).unwrap() as usize;
    assert_eq!(s.balance(n, 0), 100 - 2 * 11);
    assert_eq!(s.nonces()[n], 2);
}

#[test]
fn rejected_txs_take_no_wave_and_create_nothing() {
    // tx0: A → N with a bad signature: rejected at step 2, no wave, N not created.
    // tx1: malformed bytes: rejected at step 1.
    // tx2: N → B: N does not exist → unknown_signer, but it takes a wave.
    // tx3: B → C: B's Write has no earlier access (tx0 never ran): wave 0.
    let mut s = genesis(&[A, B, C]);
    let txs = [
        bad_signature(transfer(A, 0, N, 100)),
        vec![2u8; 70],
        transfer(N, 0, B, 10),
        transfer(B, 0, C, 10),
    ];
    let outcome = run(&mut s, &txs);
    check_layout(&outcome);
    // tx2 credits B (Credit) before tx3 writes B: tx2 --C(B)--> tx3.
    assert_eq!(outcome.schedule.wave_of(), [X, X, 0, 1]);
    let statuses: Vec<Status> = outcome.receipts.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Status::BadSignature,
            Status::Malformed,
            Status::UnknownSigner,
            Status::Ok
        ]
    );
    assert_eq!(s.account_index(&pk(N)), None);
    assert_eq!(outcome.schedule.scheduled(), 2);
}

#[test]
fn unknown_signers_are_keyed_by_public_key() {
    // tx0: U → A  --W(U)-->  tx1: U → B      (same unknown pubkey: Write/Write)
    // tx2: V → C  independent of U's txs     (another unknown pubkey)
    // tx0 --C(A)--> tx3: A → D              (A credited by tx0, then written)
    let mut s = genesis(&[A, B, C, D]);
    let w = waves_of(
        &mut s,
        &[
            transfer(U, 0, A, 1),
            transfer(U, 1, B, 1),
            transfer(V, 0, C, 1),
            transfer(A, 0, D, 1),
        ],
    );
    assert_eq!(w, [0, 1, 0, 1]);
}

#[test]
fn swaps_chain_on_their_pool() {
    // tx0: A swaps in pool 0  --W(pool 0)-->  tx1: B swaps in pool 0  --W(pool 0)-->  tx2: C, pool 0
    // tx3: D swaps in pool 1: independent.
    // tx4: E swaps in pool 7 (no such pool: unknown_pool, fee kept, still keyed by id 7)
    //   --W(pool 7)--> tx5: A swaps in pool 7 ; also tx0 --W(A)--> tx5.
    let mut s = genesis(&[A, B, C, D, E]);
    let txs = [
        swap(A, 0, 0),
        swap(B, 0, 0),
        swap(C, 0, 0),
        swap(D, 0, 1),
        swap(E, 0, 7),
        swap(A, 1, 7),
    ];
    let outcome = run(&mut s, &txs);
    check_layout(&outcome);
    assert_eq!(outcome.schedule.wave_of(), [0, 1, 2, 0, 0, 1]);
    assert_eq!(outcome.receipts[4].status, Status::UnknownPool);
    assert_eq!(outcome.largest_wave, 3);
    assert_eq!(outcome.schedule.histogram(), [(1, 1), (2, 1), (3, 1)]);
}

#[test]
fn failed_txs_keep_their_keys() {
    // tx0: A → C with a bad nonce (fails at step 4, touches nothing), but its keys stand:
    // tx0 --C(C)--> tx1: C → D. Keys come from what a tx names, not from its outcome.
    let mut s = genesis(&[A, C, D]);
    let txs = [transfer(A, 5, C, 1), transfer(C, 0, D, 1)];
    let outcome = run(&mut s, &txs);
    assert_eq!(outcome.schedule.wave_of(), [0, 1]);
    assert_eq!(outcome.receipts[0].status, Status::BadNonce);
}

#[test]
fn resolve_creates_recipient_before_fee_collector() {
    // The first valid tx names a new recipient N; the fee collector F is new as well.
    // docs/SPEC.md, Resolve order: within one tx the recipient comes first, so N gets the lower index.
    let mut s = genesis(&[A, B]);
    run(&mut s, &[transfer(A, 0, N, 1), transfer(B, 0, E, 1)]);
    assert_eq!(s.account_index(&pk(N)), Some(2));
    assert_eq!(s.account_index(&pk(F)), Some(3));
    assert_eq!(s.account_index(&pk(E)), Some(4));
}

#[test]
fn resolve_creates_accounts_for_txs_that_fail_later() {
    // tx0: A → N with a bad nonce: fails at step 4, yet N exists after the block with
    // nonce 0 and zero balances. tx1: a swap names no recipient: nothing else is made.
    let mut s = genesis(&[A]);
    let outcome = run(&mut s, &[transfer(A, 9, N, 1), swap(A, 0, 0)]);
    assert_eq!(outcome.receipts[0].status, Status::BadNonce);
    let n = s.account_index(&pk(N)).expect("N created") as usize;
    assert_eq!(s.nonces()[n], 0);
    assert_eq!(s.account_balances(n), [0, 0, 0]);
    assert_eq!(s.account_count(), 3); // A, N, F
}

#[test]
fn fee_collector_not_created_without_a_valid_tx() {
    // Only a bad-signature tx: nothing passed steps 1–2, so neither N nor F is created
    // and no wave exists.
    let mut s = genesis(&[A]);
    let outcome = run(&mut s, &[bad_signature(transfer(A, 0, N, 1))]);
    assert_eq!(outcome.waves, 0);
    assert_eq!(outcome.schedule.wave_of(), [X]);
    assert_eq!(s.account_count(), 1);
}
