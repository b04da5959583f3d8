//! The sequential reference executor: the semantics table of docs/SPEC.md, one tx at a time in
//! block order. It is deliberately plain — no batching, no parallelism, single-signature
//! checks — because it is the specification in code and the oracle for every backend.

use crate::error::{Error, Result};
use crate::exec::swap_out;
use crate::merkle::merkle_root;
use crate::receipt::{Receipt, Status};
use crate::state::State;
use crate::tx::{Action, Block, Direction, Swap, Transfer, Tx};
use crate::verify::{SigCheck, VerifyRule, cpu};

/// What the reference executor computes for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceOutcome {
    /// One receipt per tx, block order.
    pub receipts: Vec<Receipt>,
    /// Merkle root of the tx ids.
    pub tx_root: [u8; 32],
    /// Merkle root of the receipt leaves.
    pub receipts_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
    /// Hash of the block.
    pub block_hash: [u8; 32],
}

/// Applies `block` to `state` sequentially. On any error the state is left unchanged.
pub fn execute_block(state: &mut State, block: &Block) -> Result<ReferenceOutcome> {
    block.check_follows(state.height(), state.last_block_hash())?;
    let mut work = state.clone();
    let outcome = apply(&mut work, block)?;
    if let Some(claimed) = block.claimed_root()
        && claimed != outcome.state_root
    {
        return Err(Error::StateRootMismatch {
            height: block.height,
            claimed,
            computed: outcome.state_root,
        });
    }
    *state = work;
    Ok(outcome)
}

/// Runs the block on `state` without checking the claimed root (the generator uses this
/// to compute the root it then claims).
pub fn apply(state: &mut State, block: &Block) -> Result<ReferenceOutcome> {
    block.check_follows(state.height(), state.last_block_hash())?;
    let rule = state.verify_rule();
    let tx_ids: Vec<[u8; 32]> = block.txs().map(|b| *blake3::hash(b).as_bytes()).collect();

    // Steps 1–2 for every tx: `Err(status)` for malformed or bad signature.
    let checked: Vec<std::result::Result<Tx, Status>> = block
        .txs()
        .map(|bytes| {
            let tx = Tx::decode(bytes).ok_or(Status::Malformed)?;
            let check = SigCheck {
                public_key: tx.signer,
                signature: tx.signature,
                message: &bytes[64..],
            };
            let ok = match rule {
                VerifyRule::Strict => cpu::verify_strict_one(&check),
                VerifyRule::Zip215 => cpu::verify_zip215_one(&check),
            };
            if ok {
                Ok(tx)
            } else {
                Err(Status::BadSignature)
            }
        })
        .collect();

    // Resolve: in block order, create every unknown recipient, then the fee collector,
    // named by a tx that passed steps 1–2.
    for tx in checked.iter().flatten() {
        if let Some(to) = tx.recipient() {
            state.create_account(to);
        }
        state.create_account(block.fee_collector);
    }

    let mut receipts = Vec::with_capacity(block.tx_count());
    for (i, tx) in checked.iter().enumerate() {
        let (status, amount_out) = match tx {
            Err(status) => (*status, 0),
            Ok(tx) => apply_tx(state, tx, &block.fee_collector),
        };
        receipts.push(Receipt {
            tx_id: tx_ids[i],
            status,
            amount_out,
        });
    }

    let tx_root = merkle_root(&tx_ids);
    let leaves: Vec<[u8; 32]> = receipts.iter().map(Receipt::leaf).collect();
    let receipts_root = merkle_root(&leaves);
    let state_root = state.state_root();
    let block_hash = block.block_hash(&tx_root);
    state.set_tip(block.height, block_hash);
    Ok(ReferenceOutcome {
        receipts,
        tx_root,
        receipts_root,
        state_root,
        block_hash,
    })
}

/// Steps 3–10 of the semantics table for one decoded, signature-checked tx.
fn apply_tx(state: &mut State, tx: &Tx, fee_collector: &[u8; 32]) -> (Status, u64) {
    // Step 3.
    let Some(s) = state.account_index(&tx.signer) else {
        return (Status::UnknownSigner, 0);
    };
    let s = s as usize;
    // Step 4.
    if tx.nonce != state.nonces()[s] || tx.nonce == u64::MAX {
        return (Status::BadNonce, 0);
    }
    // Step 5.
    if state.balance(s, 0) < tx.fee {
        return (Status::InsufficientFee, 0);
    }
    // Step 6. The fee collector exists: resolve created it for this tx.
    let fc = state
        .account_index(fee_collector)
        .expect("resolve created the fee collector") as usize;
    state.balances_mut()[0][s] -= tx.fee;
    state.nonces_mut()[s] += 1;
    state.balances_mut()[0][fc] += tx.fee;

    match tx.action {
        Action::Transfer(t) => transfer(state, s, &t),
        Action::Swap(sw) => swap(state, s, &sw),
    }
}

/// Steps 7T–9T for a transfer whose signer (account `s`) has paid the fee.
fn transfer(state: &mut State, s: usize, t: &Transfer) -> (Status, u64) {
    // Step 7T.
    if t.token as usize >= state.tokens() {
        return (Status::UnknownToken, 0);
    }
    let token = t.token as usize;
    // Step 8T.
    if state.balance(s, token) < t.amount {
        return (Status::InsufficientBalance, 0);
    }
    // Step 9T.
    let r = state
        .account_index(&t.to)
        .expect("resolve created the recipient") as usize;
    state.balances_mut()[token][s] -= t.amount;
    state.balances_mut()[token][r] += t.amount;
    (Status::Ok, 0)
}

/// Steps 7S–10S for a swap whose signer (account `s`) has paid the fee.
fn swap(state: &mut State, s: usize, sw: &Swap) -> (Status, u64) {
    // Step 7S.
    let Some(&pool) = state.pools().get(sw.pool as usize) else {
        return (Status::UnknownPool, 0);
    };
    let (token_in, token_out, reserve_in, reserve_out) = match sw.direction {
        Direction::AtoB => (pool.token_a, pool.token_b, pool.reserve_a, pool.reserve_b),
        Direction::BtoA => (pool.token_b, pool.token_a, pool.reserve_b, pool.reserve_a),
    };
    // Step 8S.
    if state.balance(s, token_in as usize) < sw.amount_in {
        return (Status::InsufficientBalance, 0);
    }
    // Step 9S.
    let out = swap_out(sw.amount_in, reserve_in, reserve_out, pool.fee_bps);
    if out < sw.min_out {
        return (Status::SlippageExceeded, 0);
    }
    // Step 10S.
    let balances = state.balances_mut();
    balances[token_in as usize][s] -= sw.amount_in;
    balances[token_out as usize][s] += out;
    let p = &mut state.pools_mut()[sw.pool as usize];
    match sw.direction {
        Direction::AtoB => {
            p.reserve_a += sw.amount_in;
            p.reserve_b -= out;
        }
        Direction::BtoA => {
            p.reserve_b += sw.amount_in;
            p.reserve_a -= out;
        }
    }
    (Status::Ok, out)
}
