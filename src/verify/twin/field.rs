//! CPU twin of `shaders/shared/field25519.wgsl`: arithmetic mod p = 2^255 − 19 in 20 limbs of 13 bits.
//!
//! Every function here has a WGSL function of the same name and the same loop shape, so the
//! two can be read side by side. Rust's overflow checks (on in tests) turn any violated
//! `// Precondition:` bound below into a test failure instead of a silent wrap.
//!
//! Bounds used throughout:
//! - *tight*: limb 1 ≤ 2^13 + 2^7 = 8320, every other limb < 2^13. Every function that
//!   returns a field element returns it tight.
//! - a tight element is below 2^260.02, and is congruent (not necessarily equal) to its
//!   value mod p; [`to_canonical`] gives the unique representative in [0, p).

/// Number of limbs.
pub const LIMBS: usize = 20;
/// Bits per limb.
pub const LIMB_BITS: u32 = 13;
/// Mask of one limb.
pub const LIMB_MASK: u32 = (1 << LIMB_BITS) - 1;
/// 2^260 mod p = 2^5 · 19: what a carry out of limb 19 is worth at limb 0.
pub const FOLD_260: u32 = 608;
/// Largest value a limb of a tight element can hold (limb 1; the others stay below 2^13).
pub const TIGHT_MAX: u32 = (1 << 13) + (1 << 7);

/// An element of GF(2^255 − 19) as Σ limb\[i\]·2^(13·i), 20 limbs of 13 bits in `u32`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldElement13x20(pub [u32; LIMBS]);

/// 64·p written with every limb ≥ 2^13 + 2^7, so `a + SUB_BIAS − b` never goes below zero
/// for tight `b`: limb 0 = 2^14 − 2 − 1214, limbs 1..19 = 2^14 − 2 (Σ = 2^261 − 1216 = 64p).
pub const SUB_BIAS: [u32; LIMBS] = [
    15168, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382, 16382,
    16382, 16382, 16382, 16382, 16382, 16382, 16382,
];

/// d = −121665/121666, the Edwards curve constant.
pub const FE_D: FieldElement13x20 = FieldElement13x20([
    6307, 6859, 4740, 5787, 5982, 3157, 1287, 2472, 4106, 3, 6694, 3827, 1943, 928, 3635, 8142,
    2927, 1905, 219, 164,
]);
/// 2·d.
pub const FE_D2: FieldElement13x20 = FieldElement13x20([
    4441, 5527, 1289, 3383, 3773, 6315, 2574, 4944, 20, 7, 5196, 7655, 3886, 1856, 7270, 8092,
    5855, 3810, 438, 72,
]);
/// The even square root of −1 (2^((p−1)/4)).
pub const FE_SQRT_M1: FieldElement13x20 = FieldElement13x20([
    176, 4213, 2514, 7222, 3150, 4668, 5311, 213, 792, 6522, 5609, 7159, 2451, 1664, 3245, 7137,
    4033, 1026, 201, 87,
]);
/// 0.
pub const FE_ZERO: FieldElement13x20 = FieldElement13x20([0; LIMBS]);
/// 1.
pub const FE_ONE: FieldElement13x20 = {
    let mut l = [0; LIMBS];
    l[0] = 1;
    FieldElement13x20(l)
};

/// Propagates carries so the result is tight.
///
/// Precondition: every limb < 2^23.
/// Then the carry into limb 19 is < 2^10 + 1, the fold adds ≤ 1025·608 < 2^19.25 to limb 0,
/// and limb 1 ends ≤ 8191 + 77 < 8320.
pub fn carry(a: FieldElement13x20) -> FieldElement13x20 {
    let mut l = a.0;
    for i in 0..LIMBS - 1 {
        l[i + 1] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
    let top = l[LIMBS - 1] >> LIMB_BITS;
    l[LIMBS - 1] &= LIMB_MASK;
    l[0] += top * FOLD_260;
    l[1] += l[0] >> LIMB_BITS;
    l[0] &= LIMB_MASK;
    FieldElement13x20(l)
}

/// a + b.
pub fn add(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: a, b tight, so the sum ≤ 16640 < 2^23 (carry's precondition).
        l[i] = a.0[i] + b.0[i];
    }
    carry(FieldElement13x20(l))
}

/// a − b, computed as a + 64p − b so no limb goes negative.
pub fn sub(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: a, b tight: SUB_BIAS[i] ≥ 15168 > b[i], and the sum < 2^15.
        l[i] = a.0[i] + SUB_BIAS[i] - b.0[i];
    }
    carry(FieldElement13x20(l))
}

/// −a.
pub fn neg(a: FieldElement13x20) -> FieldElement13x20 {
    sub(FE_ZERO, a)
}

/// Reduces a 39-column product to a tight element: carry the columns into 40 limbs of 13
/// bits, then fold limbs 20..39 down with 2^260 ≡ 608.
///
/// Precondition: every column < 2^31 (so column + carry-in < 2^32), and the product is
/// < 2^520.05, so the top limb after carrying is < 2^13.05.
fn reduce_product(mut t: [u32; 2 * LIMBS]) -> FieldElement13x20 {
    for k in 0..2 * LIMBS - 1 {
        t[k + 1] += t[k] >> LIMB_BITS;
        t[k] &= LIMB_MASK;
    }
    let mut l = [0u32; LIMBS];
    for i in 0..LIMBS {
        // Precondition: t[i] < 2^13, t[i + 20] < 2^13.05: the sum < 2^13 + 608·2^13.05 < 2^23.
        l[i] = t[i] + t[i + LIMBS] * FOLD_260;
    }
    carry(FieldElement13x20(l))
}

/// a · b, schoolbook.
pub fn mul(a: FieldElement13x20, b: FieldElement13x20) -> FieldElement13x20 {
    let mut t = [0u32; 2 * LIMBS];
    for i in 0..LIMBS {
        for j in 0..LIMBS {
            // Precondition: a, b tight: each product ≤ 8320² < 2^26.05 and a column sums at
            // most 20 of them: < 1.39·10^9 < 2^31.
            t[i + j] += a.0[i] * b.0[j];
        }
    }
    reduce_product(t)
}

/// a², with each cross product computed once and doubled.
pub fn square(a: FieldElement13x20) -> FieldElement13x20 {
    let mut t = [0u32; 2 * LIMBS];
    for i in 0..LIMBS {
        // Precondition: a tight: a[i]² < 2^26.05, 2·a[i]·a[j] < 2^27.05, and a column holds
        // the same total as in `mul` (< 2^31).
        t[2 * i] += a.0[i] * a.0[i];
        let twice = 2 * a.0[i];
        for j in i + 1..LIMBS {
            t[i + j] += twice * a.0[j];
        }
    }
    reduce_product(t)
}

/// a^(2^k), k ≥ 1 squarings.
pub fn pow2k(a: FieldElement13x20, k: u32) -> FieldElement13x20 {
    let mut r = a;
    for _ in 0..k {
        r = square(r);
    }
    r
}

/// Carry chain over limbs 0..19 only, without the fold from limb 19.
///
/// Precondition: every limb < 2^31.
fn carry_chain(l: &mut [u32; LIMBS]) {
    for i in 0..LIMBS - 1 {
        l[i + 1] += l[i] >> LIMB_BITS;
        l[i] &= LIMB_MASK;
    }
}

/// The unique representative in [0, p), still as 13-bit limbs (limb 19 < 2^8).
pub fn to_canonical(a: FieldElement13x20) -> FieldElement13x20 {
    let mut l = a.0;
    // Precondition: a tight, value < 2^260.02. Two folds of the bits ≥ 255 (2^255 ≡ 19)
    // bring it below 2^255.
    for _ in 0..2 {
        let top = l[LIMBS - 1] >> 8;
        l[LIMBS - 1] &= 0xff;
        l[0] += 19 * top;
        carry_chain(&mut l);
    }
    // Now value < 2^255. It is ≥ p exactly when value + 19 ≥ 2^255; then subtract p by
    // adding 19 and dropping bit 255.
    let mut probe = l;
    probe[0] += 19;
    carry_chain(&mut probe);
    let q = probe[LIMBS - 1] >> 8;
    l[0] += 19 * q;
    carry_chain(&mut l);
    l[LIMBS - 1] &= 0xff;
    FieldElement13x20(l)
}

/// Loads 32 little-endian bytes given as 8 words, ignoring bit 255 (as curve25519-dalek's
/// `FieldElement::from_bytes` does); values in [p, 2^255) are kept unreduced.
pub fn from_words(w: [u32; 8]) -> FieldElement13x20 {
    let mut words = w;
    words[7] &= 0x7fff_ffff;
    let mut l = [0u32; LIMBS];
    for (i, limb) in l.iter_mut().enumerate() {
        let pos = LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        let mut v = words[word] >> off;
        if off > 32 - LIMB_BITS && word + 1 < 8 {
            v |= words[word + 1] << (32 - off);
        }
        *limb = v & LIMB_MASK;
    }
    FieldElement13x20(l)
}

/// The canonical 32-byte encoding, as 8 little-endian words.
pub fn to_words(a: FieldElement13x20) -> [u32; 8] {
    let c = to_canonical(a);
    let mut w = [0u32; 8];
    for i in 0..LIMBS {
        let pos = LIMB_BITS * i as u32;
        let word = (pos / 32) as usize;
        let off = pos % 32;
        w[word] |= c.0[i] << off;
        if off > 32 - LIMB_BITS && word + 1 < 8 {
            w[word + 1] |= c.0[i] >> (32 - off);
        }
    }
    w
}

/// Whether a ≡ 0 (mod p).
pub fn is_zero(a: FieldElement13x20) -> bool {
    let c = to_canonical(a);
    let mut acc = 0u32;
    for i in 0..LIMBS {
        acc |= c.0[i];
    }
    acc == 0
}

/// Whether a ≡ b (mod p).
pub fn equal(a: FieldElement13x20, b: FieldElement13x20) -> bool {
    is_zero(sub(a, b))
}

/// Whether the canonical representative of a is odd ("negative" in RFC 8032's sense).
pub fn is_negative(a: FieldElement13x20) -> bool {
    to_canonical(a).0[0] & 1 == 1
}

/// −a when `negate`, else a.
pub fn negate_if(a: FieldElement13x20, negate: bool) -> FieldElement13x20 {
    if negate { neg(a) } else { a }
}

/// Number of registers of the field-operation interpreter ([`FieldRegs`]).
pub const FE_REGS: usize = 32;
/// Register holding 0.
pub const R_ZERO: u32 = 0;
/// Register holding 1.
pub const R_ONE: u32 = 1;
/// Register holding d.
pub const R_D: u32 = 2;
/// Register holding 2d.
pub const R_D2: u32 = 3;
/// Register holding sqrt(−1).
pub const R_SQRT_M1: u32 = 4;

/// r\[dst\] = r\[a\] · r\[b\].
pub const OP_MUL: u32 = 0;
/// r\[dst\] = r\[a\]^(2^n), n ≥ 1 squarings.
pub const OP_SQR: u32 = 1;
/// r\[dst\] = r\[a\] + r\[b\].
pub const OP_ADD: u32 = 2;
/// r\[dst\] = r\[a\] − r\[b\].
pub const OP_SUB: u32 = 3;

/// Encodes one interpreter instruction: op (bits 0–3), dst (4–8), a (9–13), b (14–18),
/// repeat count n (19–31, squarings only).
pub const fn ins(op: u32, dst: u32, a: u32, b: u32, n: u32) -> u32 {
    op | (dst << 4) | (a << 9) | (b << 14) | (n << 19)
}

/// The register file of the field-operation interpreter.
///
/// Curve formulas and exponentiation chains run as short programs of field operations
/// (see `curve::programs`) through one interpreter loop, [`FieldRegs::run`], instead of as
/// straight-line code. On the GPU this keeps one copy of each field operation in the
/// shader instead of hundreds of inlined copies: drivers inline every function call, and
/// the straight-line form of this verifier took minutes to compile on Mesa's lavapipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRegs(pub [FieldElement13x20; FE_REGS]);

impl Default for FieldRegs {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldRegs {
    /// Registers with the constants in place and every other register 0.
    pub fn new() -> Self {
        let mut r = [FE_ZERO; FE_REGS];
        r[R_ONE as usize] = FE_ONE;
        r[R_D as usize] = FE_D;
        r[R_D2 as usize] = FE_D2;
        r[R_SQRT_M1 as usize] = FE_SQRT_M1;
        FieldRegs(r)
    }

    /// Register `i`.
    pub fn get(&self, i: u32) -> FieldElement13x20 {
        self.0[i as usize]
    }

    /// Sets register `i`.
    pub fn set(&mut self, i: u32, v: FieldElement13x20) {
        self.0[i as usize] = v;
    }

    /// Runs `code` (twin of `fe_run`): every operand is read before the result is written,
    /// so dst may equal a source.
    pub fn run(&mut self, code: &[u32]) {
        for &word in code {
            let op = word & 15;
            let d = ((word >> 4) & 31) as usize;
            let a = self.0[((word >> 9) & 31) as usize];
            let b = self.0[((word >> 14) & 31) as usize];
            let n = word >> 19;
            self.0[d] = match op {
                OP_MUL => mul(a, b),
                OP_SQR => pow2k(a, n),
                OP_ADD => add(a, b),
                _ => sub(a, b),
            };
        }
    }
}
