//! Layout of the verify stage shared by the host code, the CPU twins and
//! `shaders/stages/verify.wgsl`: the `#[repr(C)]` structs the shader reads, rule numbers,
//! and the record layout of the packed data buffer. The workgroup size is the
//! `WORKGROUP_SIZE` override of `verify.wgsl`, set per pipeline from the verifier's
//! [`crate::gpu::tunables::VerifyVariant`]. Keep in sync with the WGSL;
//! `layouts_match_the_shaders` checks it.

use bytemuck::{Pod, Zeroable};

use super::VerifyRule;

/// Words of S ‖ R ‖ A that open each item's record in the packed data buffer.
pub const ITEM_HEADER_WORDS: u32 = 24;

/// `VerifyParams::rule` for [`VerifyRule::Strict`]; keep in sync with `shaders/stages/verify.wgsl`.
pub const RULE_STRICT: u32 = 0;
/// `VerifyParams::rule` for [`VerifyRule::Zip215`]; keep in sync with `shaders/stages/verify.wgsl`.
pub const RULE_ZIP215: u32 = 1;
/// Most signatures per dispatch, whatever the adapter allows: one dispatch of a million
/// verifications already keeps any GPU busy for long, and a smaller cap keeps each
/// dispatch well below driver watchdog timeouts.
pub const MAX_ITEMS_PER_DISPATCH: usize = 1 << 18;

/// Where one signature's record starts in the packed data buffer and how long its message
/// is. Keep in sync with `struct ItemDesc` in `shaders/stages/verify.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ItemDesc {
    /// Offset of S ‖ R ‖ A ‖ M in the data buffer, in 32-bit words.
    pub offset_words: u32,
    /// Message length in bytes.
    pub message_len: u32,
}

/// Uniform parameters of one dispatch. Keep in sync with `struct VerifyParams` in
/// `shaders/stages/verify.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct VerifyParams {
    /// Signatures in this dispatch.
    pub count: u32,
    /// [`RULE_STRICT`] or [`RULE_ZIP215`] (the operation number in test entry points).
    pub rule: u32,
    /// Padding to 16 bytes.
    pub pad0: u32,
    /// Padding to 16 bytes.
    pub pad1: u32,
}

/// The rule number the shader expects.
pub fn rule_code(rule: VerifyRule) -> u32 {
    match rule {
        VerifyRule::Strict => RULE_STRICT,
        VerifyRule::Zip215 => RULE_ZIP215,
    }
}

/// Words a record of a message of `len` bytes takes: S ‖ R ‖ A plus the padded message.
pub fn record_words(len: usize) -> usize {
    ITEM_HEADER_WORDS as usize + len.div_ceil(4)
}
