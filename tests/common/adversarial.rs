//! Adversarial Ed25519 inputs for the differential tests: valid signatures, signatures
//! over keys and nonces with torsion components, small-order and non-canonical A and R,
//! S ≥ ℓ, wrong S, flipped bits, garbage; with Zipf-like key reuse.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha512};
use txwave::SigCheck;

/// One input: key, signature, message, and what made it.
#[derive(Clone, Debug)]
pub struct Input {
    pub key: [u8; 32],
    pub sig: [u8; 64],
    pub msg: Vec<u8>,
    pub kind: &'static str,
}

impl Input {
    pub fn check(&self) -> SigCheck<'_> {
        SigCheck {
            public_key: self.key,
            signature: self.sig,
            message: &self.msg,
        }
    }
}

/// ℓ, little-endian.
pub const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` on 256-bit little-endian integers (wrapping).
pub fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = a[i] as u16 + b[i] as u16 + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

fn challenge(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(m);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn random_scalar(rng: &mut ChaCha20Rng) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// Every 32-byte string whose y (ignoring the sign bit) is below 19 or in p..p+19, with
/// either sign bit, that decompresses: the canonical and non-canonical encodings of the
/// points with small y (the identity, the points of order 2 and 4 among them).
pub fn small_y_encodings() -> Vec<[u8; 32]> {
    let p_minus_19: [u8; 32] = {
        // p = 2^255 − 19: 0xed, 0xff × 30, 0x7f.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };
    let mut out = Vec::new();
    for y in 0u8..19 {
        let mut small = [0u8; 32];
        small[0] = y;
        let mut big = [0u8; 32];
        big[0] = y;
        let big = add_le(&big, &p_minus_19); // y + p
        for base in [small, big] {
            for sign in [0u8, 0x80] {
                let mut e = base;
                e[31] |= sign;
                if CompressedEdwardsY(e).decompress().is_some() {
                    out.push(e);
                }
            }
        }
    }
    out
}

/// Encodings of small-order points: the canonical encodings of the eight torsion points
/// and every small-y encoding (canonical or not) that decodes to one.
pub fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|t| t.compress().0).collect();
    for e in small_y_encodings() {
        if let Some(p) = CompressedEdwardsY(e).decompress()
            && p.is_small_order()
            && !out.contains(&e)
        {
            out.push(e);
        }
    }
    out
}

struct Signer0 {
    key: SigningKey,
}

struct TorsionSigner {
    a: Scalar,
    a_bytes: [u8; 32],
}

/// `n` inputs from `seed`; `bad_share` of them are made invalid by a mutation (the rest
/// come from the valid-by-construction kinds, which the rules may still reject).
pub fn corpus(n: usize, seed: u64, bad_share: f64) -> Vec<Input> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let signers: Vec<Signer0> = (0..512)
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            Signer0 {
                key: SigningKey::from_bytes(&s),
            }
        })
        .collect();
    let torsion_signers: Vec<TorsionSigner> = (0..128)
        .map(|i| {
            let a = random_scalar(&mut rng);
            let point = EdwardsPoint::mul_base(&a) + EIGHT_TORSION[i % 8];
            TorsionSigner {
                a,
                a_bytes: point.compress().0,
            }
        })
        .collect();
    let small_order = small_order_encodings();
    let small_y = small_y_encodings();
    // Zipf-like reuse: index = ⌊len · u³⌋.
    let pick = |rng: &mut ChaCha20Rng, len: usize| -> usize {
        let u: f64 = rng.r#gen();
        ((u * u * u * len as f64) as usize).min(len - 1)
    };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let mut msg = vec![0u8; rng.gen_range(0..80)];
        rng.fill_bytes(&mut msg);
        let kind = rng.gen_range(0..100u32);
        let mut input = if kind < 40 {
            // Plain valid signature.
            let s = &signers[pick(&mut rng, signers.len())];
            Input {
                key: s.key.verifying_key().to_bytes(),
                sig: s.key.sign(&msg).to_bytes(),
                msg,
                kind: "valid",
            }
        } else if kind < 60 {
            // Key and nonce with torsion components: [S]B = R + [k]A holds up to torsion.
            let t = &torsion_signers[pick(&mut rng, torsion_signers.len())];
            let r = random_scalar(&mut rng);
            let r_point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[rng.gen_range(0..8)];
            let r_bytes = r_point.compress().0;
            let s = r + challenge(&r_bytes, &t.a_bytes, &msg) * t.a;
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_bytes);
            sig[32..].copy_from_slice(s.as_bytes());
            Input {
                key: t.a_bytes,
                sig,
                msg,
                kind: "torsion A and R",
            }
        } else if kind < 75 {
            // Small-order A (any encoding); R small-order (any encoding) with S = 0, or
            // R = [r]B (+ torsion) with S = r.
            let a_bytes = small_order[rng.gen_range(0..small_order.len())];
            let mut sig = [0u8; 64];
            if rng.gen_bool(0.5) {
                sig[..32].copy_from_slice(&small_order[rng.gen_range(0..small_order.len())]);
            } else {
                let r = random_scalar(&mut rng);
                let point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[rng.gen_range(0..8)];
                sig[..32].copy_from_slice(&point.compress().0);
                sig[32..].copy_from_slice(r.as_bytes());
            }
            Input {
                key: a_bytes,
                sig,
                msg,
                kind: "small-order A",
            }
        } else if kind < 80 {
            // Small-y encodings (canonical or not, small order or not) as A and/or R.
            let mut key = small_y[rng.gen_range(0..small_y.len())];
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&small_y[rng.gen_range(0..small_y.len())]);
            if rng.gen_bool(0.3) {
                let s = &signers[pick(&mut rng, signers.len())];
                key = s.key.verifying_key().to_bytes();
            }
            let s = random_scalar(&mut rng);
            if rng.gen_bool(0.5) {
                sig[32..].copy_from_slice(s.as_bytes());
            }
            Input {
                key,
                sig,
                msg,
                kind: "small-y A/R",
            }
        } else {
            // Garbage: random key (half decompress) and signature; S canonical half the
            // time.
            let mut key = [0u8; 32];
            rng.fill_bytes(&mut key);
            let mut sig = [0u8; 64];
            rng.fill_bytes(&mut sig);
            if rng.gen_bool(0.5) {
                sig[63] &= 0x0f;
            }
            if rng.gen_bool(0.3) {
                key = signers[pick(&mut rng, signers.len())]
                    .key
                    .verifying_key()
                    .to_bytes();
            }
            Input {
                key,
                sig,
                msg,
                kind: "garbage",
            }
        };
        if rng.gen_bool(bad_share) {
            mutate(&mut input, &mut rng);
        }
        out.push(input);
    }
    out
}

/// Makes `input` (most likely) invalid: S + ℓ, S with high bits, a wrong S, or a flipped
/// bit in the key, R, S or message.
pub fn mutate(input: &mut Input, rng: &mut ChaCha20Rng) {
    match rng.gen_range(0..6u32) {
        0 => {
            let s = add_le(&input.sig[32..], &L_BYTES);
            input.sig[32..].copy_from_slice(&s);
            input.kind = "S + l";
        }
        1 => {
            input.sig[63] |= 0x80 >> rng.gen_range(0..3);
            input.kind = "S high bits";
        }
        2 => {
            let s = random_scalar(rng);
            input.sig[32..].copy_from_slice(s.as_bytes());
            input.kind = "wrong S";
        }
        3 => {
            let bit = rng.gen_range(0..256);
            input.key[bit / 8] ^= 1 << (bit % 8);
            input.kind = "flipped A bit";
        }
        4 => {
            let bit = rng.gen_range(0..512);
            input.sig[bit / 8] ^= 1 << (bit % 8);
            input.kind = "flipped signature bit";
        }
        _ => {
            if input.msg.is_empty() {
                input.msg.push(rng.r#gen());
            } else {
                let bit = rng.gen_range(0..input.msg.len() * 8);
                input.msg[bit / 8] ^= 1 << (bit % 8);
            }
            input.kind = "flipped message bit";
        }
    }
}

/// ed25519-zebra 5 `VerificationKey::verify`, from bytes.
pub fn zebra(i: &Input) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(i.key) else {
        return false;
    };
    key.verify(&ed25519_zebra::Signature::from_bytes(&i.sig), &i.msg)
        .is_ok()
}

/// ed25519-dalek 3 `VerifyingKey::verify_strict`, from bytes.
pub fn dalek_strict(i: &Input) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&i.key) else {
        return false;
    };
    key.verify_strict(&i.msg, &ed25519_dalek::Signature::from_bytes(&i.sig))
        .is_ok()
}

/// The basepoint, for tests that build points by hand.
pub fn basepoint() -> EdwardsPoint {
    ED25519_BASEPOINT_POINT
}
