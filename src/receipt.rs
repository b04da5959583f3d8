//! Receipts: what each transaction did (below resolve and exec, which both produce them;
//! commit hashes them). Codes and meanings: docs/SPEC.md, Semantics.

/// Bytes of a receipt leaf's message: tx id (32) ‖ status (1) ‖ amount_out (8).
pub const RECEIPT_LEAF_LEN: usize = 41;

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
    /// Swap output below `min_out` (fee kept).
    SlippageExceeded = 9,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 10] = [
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
        )
    }
}

/// The outcome of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Receipt {
    /// BLAKE3 of the tx bytes.
    pub tx_id: [u8; 32],
    /// What happened.
    pub status: Status,
    /// Swap output for an applied swap, else 0.
    pub amount_out: u64,
}

impl Receipt {
    /// The bytes a receipt leaf hashes: tx id ‖ status u8 ‖ amount_out u64 (docs/FORMATS.md,
    /// Roots). The one place they are laid out: the CPU hashes them here, the GPU commit
    /// hashes the same bytes as messages.
    pub fn leaf_bytes(&self) -> [u8; RECEIPT_LEAF_LEN] {
        let mut buf = [0u8; RECEIPT_LEAF_LEN];
        buf[..32].copy_from_slice(&self.tx_id);
        buf[32] = self.status as u8;
        buf[33..].copy_from_slice(&self.amount_out.to_le_bytes());
        buf
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
        assert_eq!(Status::from_code(10), None);
        assert_eq!(Status::SlippageExceeded.name(), "slippage_exceeded");
    }

    #[test]
    fn leaf_is_blake3_of_the_documented_bytes() {
        let r = Receipt {
            tx_id: [7; 32],
            status: Status::SlippageExceeded,
            amount_out: 0x0102_0304_0506_0708,
        };
        let mut want = vec![7u8; 32];
        want.push(9);
        want.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(r.leaf_bytes().as_slice(), want.as_slice());
        assert_eq!(r.leaf(), *blake3::hash(&want).as_bytes());
    }
}
