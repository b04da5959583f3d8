//! Receipts: what each transaction did (below resolve and exec, which both produce them;
//! commit hashes them). Codes and meanings: docs/SPEC.md, Semantics.

/// Most bytes of a receipt leaf's message: tx id (32) ‖ status (1) ‖ three u64 amounts
/// (a liquidity tx's; transfers and swaps have one, routes two).
pub const RECEIPT_LEAF_MAX_LEN: usize = 33 + 3 * 8;

/// Receipt status codes of docs/SPEC.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// Applied.
    Ok = 0,
    /// Wrong length for its kind, unknown kind or bad swap direction.
    Malformed = 1,
    /// Signature rejected under the chain's rule.
    BadSignature = 2,
    /// Signer account does not exist.
    UnknownSigner = 3,
    /// Nonce differs from the account's, or the account nonce is exhausted.
    BadNonce = 4,
    /// Balance of token 0 is below the fee.
    InsufficientFee = 5,
    /// Transfer of a token the chain does not have (fee kept).
    UnknownToken = 6,
    /// Swap into a pool that does not exist (fee kept).
    UnknownPool = 7,
    /// Balance below the amount (fee kept).
    InsufficientBalance = 8,
    /// Swap output below `min_out`, a route's output below its limit or input above it,
    /// or a liquidity amount below its minimum (fee kept).
    SlippageExceeded = 9,
    /// A route whose pools do not chain from its input token (fee kept).
    BadRoute = 10,
    /// A liquidity tx on a pool without an LP token (fee kept).
    NoLpToken = 11,
    /// A route a pool cannot serve, a mint of no shares or a burn paying out nothing
    /// (fee kept).
    InsufficientLiquidity = 12,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 13] = [
        Status::Ok,
        Status::Malformed,
        Status::BadSignature,
        Status::UnknownSigner,
        Status::BadNonce,
        Status::InsufficientFee,
        Status::UnknownToken,
        Status::UnknownPool,
        Status::InsufficientBalance,
        Status::SlippageExceeded,
        Status::BadRoute,
        Status::NoLpToken,
        Status::InsufficientLiquidity,
    ];

    /// The name used in receipts files.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Malformed => "malformed",
            Status::BadSignature => "bad_signature",
            Status::UnknownSigner => "unknown_signer",
            Status::BadNonce => "bad_nonce",
            Status::InsufficientFee => "insufficient_fee",
            Status::UnknownToken => "unknown_token",
            Status::UnknownPool => "unknown_pool",
            Status::InsufficientBalance => "insufficient_balance",
            Status::SlippageExceeded => "slippage_exceeded",
            Status::BadRoute => "bad_route",
            Status::NoLpToken => "no_lp_token",
            Status::InsufficientLiquidity => "insufficient_liquidity",
        }
    }

    /// The status with this code.
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(code as usize).copied()
    }

    /// Whether the fee was charged (steps 6 and later were reached).
    pub fn fee_charged(self) -> bool {
        matches!(
            self,
            Status::Ok
                | Status::UnknownToken
                | Status::UnknownPool
                | Status::InsufficientBalance
                | Status::SlippageExceeded
                | Status::BadRoute
                | Status::NoLpToken
                | Status::InsufficientLiquidity
        )
    }
}

/// The amounts a receipt reports. Which ones is decided by the tx's kind, whatever its
/// status (docs/FORMATS.md, Roots); they are 0 unless the status is `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum Amounts {
    /// Transfers, swaps and malformed txs: a swap's output, else 0.
    Out {
        /// Output of an applied swap.
        amount_out: u64,
    },
    /// Routes: what the signer paid (x_0) and received (x_n).
    Route {
        /// Input paid, x_0.
        amount_in: u64,
        /// Output received, x_n.
        amount_out: u64,
    },
    /// Liquidity adds and removes: the pool's two tokens paid in and the shares minted,
    /// or the shares burned and the tokens paid out.
    Liquidity {
        /// Token A moved.
        amount_a: u64,
        /// Token B moved.
        amount_b: u64,
        /// Shares minted or burned.
        liquidity: u64,
    },
}

impl Amounts {
    /// No output (a transfer's, a swap that failed, a malformed tx).
    pub const NONE: Amounts = Amounts::Out { amount_out: 0 };

    /// The zero amounts of a tx of kind byte `kind` that passed decoding; `None` for a
    /// malformed tx, whose leaf is the transfer/swap one whatever its kind byte.
    pub fn zero_of_kind(kind: Option<u8>) -> Amounts {
        use crate::tx::{KIND_ADD_LIQUIDITY, KIND_REMOVE_LIQUIDITY, KIND_ROUTE};
        match kind {
            Some(KIND_ROUTE) => Amounts::Route {
                amount_in: 0,
                amount_out: 0,
            },
            Some(KIND_ADD_LIQUIDITY | KIND_REMOVE_LIQUIDITY) => Amounts::Liquidity {
                amount_a: 0,
                amount_b: 0,
                liquidity: 0,
            },
            _ => Amounts::NONE,
        }
    }

    /// The output a swap or route received (0 for other shapes).
    pub fn amount_out(&self) -> u64 {
        match *self {
            Amounts::Out { amount_out } | Amounts::Route { amount_out, .. } => amount_out,
            Amounts::Liquidity { .. } => 0,
        }
    }

    /// The amounts in leaf order, and how many there are (1, 2 or 3).
    pub fn words(&self) -> ([u64; 3], usize) {
        match *self {
            Amounts::Out { amount_out } => ([amount_out, 0, 0], 1),
            Amounts::Route {
                amount_in,
                amount_out,
            } => ([amount_in, amount_out, 0], 2),
            Amounts::Liquidity {
                amount_a,
                amount_b,
                liquidity,
            } => ([amount_a, amount_b, liquidity], 3),
        }
    }
}

/// The outcome of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Receipt {
    /// BLAKE3 of the tx bytes.
    pub tx_id: [u8; 32],
    /// What happened.
    pub status: Status,
    /// The amounts of the tx's kind.
    pub amounts: Amounts,
}

/// The bytes of one receipt leaf's message (at most [`RECEIPT_LEAF_MAX_LEN`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafBytes {
    buf: [u8; RECEIPT_LEAF_MAX_LEN],
    len: usize,
}

impl std::ops::Deref for LeafBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Receipt {
    /// The output of a swap or route (0 for other kinds and for failures).
    pub fn amount_out(&self) -> u64 {
        self.amounts.amount_out()
    }

    /// The bytes a receipt leaf hashes: tx id ‖ status u8 ‖ the kind's amounts, u64 each
    /// (docs/FORMATS.md, Roots). The one place they are laid out: the CPU hashes them
    /// here, the GPU commit hashes the same bytes as messages.
    pub fn leaf_bytes(&self) -> LeafBytes {
        let mut buf = [0u8; RECEIPT_LEAF_MAX_LEN];
        buf[..32].copy_from_slice(&self.tx_id);
        buf[32] = self.status as u8;
        let (words, n) = self.amounts.words();
        for (i, w) in words[..n].iter().enumerate() {
            buf[33 + 8 * i..41 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        LeafBytes {
            buf,
            len: 33 + 8 * n,
        }
    }

    /// Receipt leaf = BLAKE3 of [`Receipt::leaf_bytes`].
    pub fn leaf(&self) -> [u8; 32] {
        *blake3::hash(&self.leaf_bytes()).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_and_names() {
        for (code, s) in Status::ALL.iter().enumerate() {
            assert_eq!(*s as u8 as usize, code);
            assert_eq!(Status::from_code(code as u8), Some(*s));
        }
        assert_eq!(Status::from_code(13), None);
        assert_eq!(Status::InsufficientLiquidity as u8, 12);
        assert_eq!(Status::SlippageExceeded.name(), "slippage_exceeded");
    }

    #[test]
    fn leaf_is_blake3_of_the_documented_bytes() {
        let r = Receipt {
            tx_id: [7; 32],
            status: Status::SlippageExceeded,
            amounts: Amounts::Out {
                amount_out: 0x0102_0304_0506_0708,
            },
        };
        let mut want = vec![7u8; 32];
        want.push(9);
        want.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&*r.leaf_bytes(), want.as_slice());
        assert_eq!(r.leaf(), *blake3::hash(&want).as_bytes());
    }

    #[test]
    fn route_and_liquidity_leaves_carry_their_amounts_in_order() {
        let route = Receipt {
            tx_id: [1; 32],
            status: Status::Ok,
            amounts: Amounts::Route {
                amount_in: 5,
                amount_out: u64::MAX,
            },
        };
        let mut want = vec![1u8; 32];
        want.push(0);
        want.extend_from_slice(&5u64.to_le_bytes());
        want.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(&*route.leaf_bytes(), want.as_slice());

        let liquidity = Receipt {
            tx_id: [2; 32],
            status: Status::InsufficientLiquidity,
            amounts: Amounts::zero_of_kind(Some(crate::tx::KIND_REMOVE_LIQUIDITY)),
        };
        let mut want = vec![2u8; 32];
        want.push(12);
        want.extend_from_slice(&[0; 24]);
        assert_eq!(&*liquidity.leaf_bytes(), want.as_slice());
        assert_eq!(Amounts::zero_of_kind(None), Amounts::NONE);
    }
}
