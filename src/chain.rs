//! Chain parameters that every stage reads and the state records: the signature rule
//! (docs/SPEC.md, Signature rules). Below the state, which stores it with the genesis, and
//! the verify stage, which applies it.

/// The chain's signature acceptance rule; never mixed inside one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyRule {
    /// Exactly what ed25519-dalek 2.x `VerifyingKey::verify_strict` accepts.
    Strict,
    /// Exactly what ed25519-zebra accepts (ZIP-215, cofactored).
    Zip215,
}

impl VerifyRule {
    /// The name used in genesis files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VerifyRule::Strict => "strict",
            VerifyRule::Zip215 => "zip215",
        }
    }
}
