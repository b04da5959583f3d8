//! CPU backend of resolve's lookups: the state's `HashMap` from pubkey to account, over
//! rayon.

use rayon::prelude::*;

use crate::state::State;
use crate::tx::Tx;

/// (signer, transfer recipient) account indices of each tx as the state stands, `None`
/// where no account has the key (and for rejected txs and swaps' recipients): the
/// lookups of resolve, in parallel on the CPU.
pub fn known_accounts(
    state: &State,
    checked: &[Option<Tx>],
    sig_ok: &[bool],
) -> Vec<(Option<u32>, Option<u32>)> {
    checked
        .par_iter()
        .zip(sig_ok)
        .with_min_len(1024)
        .map(|(tx, &ok)| match tx {
            Some(tx) if ok => (
                state.account_index(&tx.signer),
                tx.recipient().and_then(|to| state.account_index(&to)),
            ),
            _ => (None, None),
        })
        .collect()
}
