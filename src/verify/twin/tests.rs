//! Twins against independent oracles: num-bigint for the arithmetic, the sha2 crate for
//! SHA-512, curve25519-dalek 4 for scalars and points.

use curve25519_dalek::constants::{ED25519_BASEPOINT_COMPRESSED, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint as DalekPoint};
use curve25519_dalek::scalar::Scalar;
use num_bigint::BigUint;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha512};

use super::curve::{self, EdwardsPoint};
use super::field::{self, FieldElement13x20, FieldRegs, LIMB_BITS, LIMBS, TIGHT_MAX};
use super::{scalar, sha512};

fn p() -> BigUint {
    (BigUint::from(1u8) << 255u32) - 19u32
}

fn ell() -> BigUint {
    (BigUint::from(1u8) << 252u32)
        + "27742317777372353535851937790883648493"
            .parse::<BigUint>()
            .unwrap()
}

fn value(a: &FieldElement13x20) -> BigUint {
    a.0.iter()
        .rev()
        .fold(BigUint::from(0u8), |acc, l| (acc << LIMB_BITS) + *l)
}

fn from_big(v: &BigUint) -> FieldElement13x20 {
    let mut l = [0u32; LIMBS];
    let mask = BigUint::from(field::LIMB_MASK);
    for (i, limb) in l.iter_mut().enumerate() {
        let part: BigUint = (v >> (LIMB_BITS as usize * i)) & &mask;
        *limb = u32::try_from(part).unwrap();
    }
    FieldElement13x20(l)
}

fn words_of(bytes: &[u8; 32]) -> [u32; 8] {
    let mut w = [0u32; 8];
    for (i, c) in bytes.chunks(4).enumerate() {
        w[i] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    w
}

fn bytes_of(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Random tight elements plus edge values chosen on purpose: 0, 1, p − 1, p, p + 1,
/// 2^255 − 1 (largest 255-bit value), 2^255 + 18, every limb at its tight maximum (the
/// largest product columns), and every limb 2^13 − 1.
pub(crate) fn field_inputs(rng: &mut ChaCha20Rng, random: usize) -> Vec<FieldElement13x20> {
    let p = p();
    let mut v: Vec<FieldElement13x20> = [
        BigUint::from(0u8),
        BigUint::from(1u8),
        &p - 1u32,
        p.clone(),
        &p + 1u32,
        (BigUint::from(1u8) << 255u32) - 1u32,
        (BigUint::from(1u8) << 255u32) + 18u32,
    ]
    .iter()
    .map(from_big)
    .collect();
    let mut max = [field::LIMB_MASK; LIMBS];
    max[1] = TIGHT_MAX;
    v.push(FieldElement13x20(max));
    v.push(FieldElement13x20([field::LIMB_MASK; LIMBS]));
    for _ in 0..random {
        let mut l = [0u32; LIMBS];
        for (i, limb) in l.iter_mut().enumerate() {
            *limb = rng.gen_range(0..=if i == 1 { TIGHT_MAX } else { field::LIMB_MASK });
        }
        v.push(FieldElement13x20(l));
    }
    v
}

fn assert_tight(a: &FieldElement13x20) {
    for (i, l) in a.0.iter().enumerate() {
        let max = if i == 1 { TIGHT_MAX } else { field::LIMB_MASK };
        assert!(*l <= max, "limb {i} = {l} not tight in {a:?}");
    }
}

#[test]
fn field_constants_match_their_definitions() {
    let p = p();
    let d =
        (&p - BigUint::from(121665u32)) * BigUint::from(121666u32).modpow(&(&p - 2u32), &p) % &p;
    assert_eq!(value(&field::FE_D), d);
    assert_eq!(value(&field::FE_D2), (&d * 2u32) % &p);
    let i = value(&field::FE_SQRT_M1);
    assert_eq!((&i * &i) % &p, &p - 1u32);
    assert_eq!(&i % 2u32, BigUint::from(0u8), "the even root");
    // The base point: its twin coordinates compress to RFC 8032's encoding.
    assert_eq!(
        bytes_of(&curve::compress(&mut FieldRegs::new(), curve::BASEPOINT)),
        ED25519_BASEPOINT_COMPRESSED.as_bytes().to_vec()
    );
    let b = curve::BASEPOINT;
    assert_eq!(
        value(&field::to_canonical(field::mul(b.x, b.y))),
        value(&b.t)
    );
}

#[test]
fn field_ops_match_bigint() {
    let p = p();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let inputs = field_inputs(&mut rng, 300);
    for (n, a) in inputs.iter().enumerate() {
        let b = &inputs[(n * 7 + 3) % inputs.len()];
        let (va, vb) = (value(a), value(b));
        let ops: [(&str, FieldElement13x20, BigUint); 5] = [
            ("add", field::add(*a, *b), (&va + &vb) % &p),
            ("sub", field::sub(*a, *b), (&va + &p * 64u32 - &vb) % &p),
            ("neg", field::neg(*a), (&p * 64u32 - &va) % &p),
            ("mul", field::mul(*a, *b), (&va * &vb) % &p),
            ("square", field::square(*a), (&va * &va) % &p),
        ];
        for (name, got, want) in ops {
            assert_tight(&got);
            assert_eq!(value(&got) % &p, want, "{name} of input {n}");
            let canon = field::to_canonical(got);
            assert_eq!(
                value(&canon),
                want,
                "to_canonical after {name} of input {n}"
            );
        }
        let inv = curve::invert(&mut FieldRegs::new(), *a);
        let want_inv = va.modpow(&(&p - 2u32), &p);
        assert_tight(&inv);
        assert_eq!(value(&inv) % &p, want_inv, "invert of input {n}");
        assert_eq!(field::is_zero(*a), (&va % &p) == BigUint::from(0u8));
    }
}

#[test]
fn carry_handles_its_whole_precondition() {
    let p = p();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut cases = vec![FieldElement13x20([(1 << 23) - 1; LIMBS])];
    for _ in 0..500 {
        let mut l = [0u32; LIMBS];
        for limb in l.iter_mut() {
            *limb = rng.gen_range(0..1 << 23);
        }
        cases.push(FieldElement13x20(l));
    }
    for (n, a) in cases.iter().enumerate() {
        let c = field::carry(*a);
        assert_tight(&c);
        assert_eq!(value(&c) % &p, value(a) % &p, "carry of case {n}");
    }
}

#[test]
fn encoding_round_trips_and_ignores_bit_255() {
    let p = p();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for n in 0..500 {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        if n < 40 {
            // y in [p, 2^255): the non-canonical encodings.
            bytes = [0xff; 32];
            bytes[0] = 0xed + (n as u8 % 19);
            bytes[31] = if n % 2 == 0 { 0x7f } else { 0xff };
        }
        let w = words_of(&bytes);
        let fe = field::from_words(w);
        let mut low = bytes;
        low[31] &= 0x7f;
        assert_eq!(value(&fe), BigUint::from_bytes_le(&low), "case {n}");
        let canon = BigUint::from_bytes_le(&low) % &p;
        let mut want = canon.to_bytes_le();
        want.resize(32, 0);
        assert_eq!(bytes_of(&field::to_words(fe)), want, "case {n}");
    }
}

#[test]
fn sqrt_ratio_i_follows_its_contract() {
    let p = p();
    let i = value(&field::FE_SQRT_M1);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut inputs = field_inputs(&mut rng, 100);
    inputs.push(field::FE_ZERO);
    for (n, u) in inputs.iter().enumerate() {
        for v in [
            inputs[(n * 5 + 1) % inputs.len()],
            field::FE_ZERO,
            field::FE_ONE,
        ] {
            let (ok, r) = curve::sqrt_ratio_i(&mut FieldRegs::new(), *u, v);
            let (vu, vv, vr) = (value(u) % &p, value(&v) % &p, value(&r) % &p);
            assert_eq!(&vr % 2u32, BigUint::from(0u8), "root is even, case {n}");
            let lhs = (&vv * &vr * &vr) % &p;
            let zero = BigUint::from(0u8);
            if vu == zero {
                assert!(ok && vr == zero, "u = 0, case {n}");
            } else if vv == zero {
                assert!(!ok && vr == zero, "v = 0 != u, case {n}");
            } else if ok {
                assert_eq!(lhs, vu, "square case {n}");
            } else {
                assert_eq!(lhs, (&vu * &i) % &p, "non-square case {n}");
            }
        }
    }
}

#[test]
fn sha512_matches_sha2() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for len in (0..=300).chain([511, 512, 1023, 1024, 4096 + 17]) {
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        // Put the message at a nonzero word offset, as in a packed batch.
        let mut data = vec![0xdead_beef_u32; 3];
        let base = data.len() as u32;
        data.extend(msg.chunks(4).map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        }));
        data.push(0xffff_ffff);
        let got = bytes_of(&sha512::sha512_words(&data, base, len as u32));
        assert_eq!(got, Sha512::digest(&msg).to_vec(), "length {len}");
    }
}

/// Scalars on purpose: 0, ℓ − 1, ℓ, ℓ + 1, 2^252, 2^253, 2^255 − 1, 2^256 − 1, and the
/// 512-bit extremes for the wide reduction.
fn scalar_edges() -> Vec<BigUint> {
    let ell = ell();
    let one = BigUint::from(1u8);
    vec![
        BigUint::from(0u8),
        &ell - 1u32,
        ell.clone(),
        &ell + 1u32,
        &one << 252u32,
        &one << 253u32,
        (&one << 255u32) - 1u32,
        (&one << 256u32) - 1u32,
        (&one << 512u32) - 1u32,
        &ell * &ell,
        (&ell << 259u32) - 1u32,
    ]
}

fn to_words_n<const N: usize>(v: &BigUint) -> [u32; N] {
    let mut bytes = v.to_bytes_le();
    bytes.resize(4 * N, 0);
    let mut w = [0u32; N];
    for (i, c) in bytes.chunks(4).take(N).enumerate() {
        w[i] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    w
}

#[test]
fn scalar_reduction_matches_dalek() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut cases: Vec<[u8; 64]> = scalar_edges()
        .iter()
        .filter(|v| v.bits() <= 512)
        .map(|v| {
            let mut b = v.to_bytes_le();
            b.resize(64, 0);
            b.try_into().unwrap()
        })
        .collect();
    for _ in 0..2000 {
        let mut b = [0u8; 64];
        rng.fill_bytes(&mut b);
        cases.push(b);
    }
    for (n, b) in cases.iter().enumerate() {
        let words: [u32; 16] = to_words_n(&BigUint::from_bytes_le(b));
        let got = bytes_of(&scalar::reduce_wide(words));
        let want = Scalar::from_bytes_mod_order_wide(b).to_bytes();
        assert_eq!(got, want.to_vec(), "case {n}: {}", hex::encode(b));
    }
}

#[test]
fn canonical_s_check_matches_dalek() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut cases: Vec<[u8; 32]> = scalar_edges()
        .iter()
        .filter(|v| v.bits() <= 256)
        .map(|v| {
            let mut b = v.to_bytes_le();
            b.resize(32, 0);
            b.try_into().unwrap()
        })
        .collect();
    for _ in 0..1000 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        b[31] &= [0x0f, 0x1f, 0xff][rng.gen_range(0..3)];
        cases.push(b);
    }
    for (n, b) in cases.iter().enumerate() {
        let want = bool::from(Scalar::from_canonical_bytes(*b).is_some());
        assert_eq!(
            scalar::is_canonical(words_of(b)),
            want,
            "case {n}: {}",
            hex::encode(b)
        );
    }
}

#[test]
fn signed_radix16_reconstructs_the_scalar() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let one = BigUint::from(1u8);
    let mut cases = vec![(&one << 255u32) - 1u32, ell() - 1u32, BigUint::from(0u8)];
    for _ in 0..200 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        b[31] &= 0x7f;
        cases.push(BigUint::from_bytes_le(&b));
    }
    for v in cases {
        let d = scalar::signed_radix16(to_words_n(&v));
        let modulus = &one << 300u32;
        let mut acc = BigUint::from(0u8);
        for digit in d.iter().rev() {
            assert!((-8..=8).contains(digit));
            acc = (acc * 16u32) % &modulus;
            acc = if *digit >= 0 {
                (acc + digit.unsigned_abs()) % &modulus
            } else {
                (acc + &modulus - digit.unsigned_abs()) % &modulus
            };
        }
        assert_eq!(acc, v);
    }
}

fn twin_point(p: &DalekPoint) -> EdwardsPoint {
    curve::decompress(&mut FieldRegs::new(), words_of(p.compress().as_bytes()))
        .expect("dalek points decompress")
}

fn encodings(rng: &mut ChaCha20Rng) -> Vec<[u8; 32]> {
    let mut v = Vec::new();
    // Small-order points, canonical and with the sign bit flipped.
    for t in EIGHT_TORSION.iter() {
        let b = t.compress().to_bytes();
        v.push(b);
        let mut flipped = b;
        flipped[31] ^= 0x80;
        v.push(flipped);
    }
    // Non-canonical y: every value in [p, 2^255), with both sign bits.
    for low in 0xedu8..=0xff {
        for sign in [0u8, 0x80] {
            let mut b = [0xffu8; 32];
            b[0] = low;
            b[31] = 0x7f | sign;
            v.push(b);
        }
    }
    // y = 1 + p and y = p − 1 (= −1) encodings: identity and the point of order 2.
    for _ in 0..300 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        v.push(b);
        let s = Scalar::from_bytes_mod_order(b);
        v.push(DalekPoint::mul_base(&s).compress().to_bytes());
    }
    v
}

#[test]
fn decompress_and_compress_match_dalek() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    for (n, b) in encodings(&mut rng).iter().enumerate() {
        let regs = &mut FieldRegs::new();
        let got = curve::decompress(regs, words_of(b));
        let want = CompressedEdwardsY(*b).decompress();
        assert_eq!(
            got.is_some(),
            want.is_some(),
            "case {n}: {}",
            hex::encode(b)
        );
        if let (Some(g), Some(w)) = (got, want) {
            assert_eq!(
                bytes_of(&curve::compress(regs, g)),
                w.compress().as_bytes().to_vec(),
                "case {n}: {}",
                hex::encode(b)
            );
            let small = curve::cofactor_identity(regs, &[g], None);
            assert_eq!(small, vec![w.is_small_order()], "case {n}");
            assert_eq!(
                curve::is_identity(g),
                w == DalekPoint::default(),
                "case {n}"
            );
        }
    }
}

#[test]
fn point_arithmetic_matches_dalek() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut points: Vec<DalekPoint> = EIGHT_TORSION.to_vec();
    for _ in 0..60 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        let p = DalekPoint::mul_base(&Scalar::from_bytes_mod_order(b));
        points.push(p);
        // Mixed order: a torsion component added.
        points.push(p + EIGHT_TORSION[rng.gen_range(1..8)]);
    }
    for (n, p) in points.iter().enumerate() {
        let q = &points[(n * 3 + 1) % points.len()];
        let (tp, tq) = (twin_point(p), twin_point(q));
        let regs = &mut FieldRegs::new();
        let cases = [
            ("add", curve::point_add(regs, tp, tq), p + q),
            ("add self", curve::point_add(regs, tp, tp), p + p),
            ("sub", curve::point_sub(regs, tp, tq), p - q),
            ("sub self", curve::point_sub(regs, tp, tp), p - p),
            ("double", curve::point_double(regs, tp), p + p),
        ];
        let diff = curve::cofactor_identity(regs, &[tp], Some(tq));
        assert_eq!(
            diff,
            vec![(p - q).is_small_order()],
            "cofactor of point {n}"
        );
        for (name, got, want) in cases {
            assert_eq!(
                bytes_of(&curve::compress(regs, got)),
                want.compress().as_bytes().to_vec(),
                "{name} of point {n}"
            );
        }
    }
}

#[test]
fn double_scalar_mul_matches_dalek() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let ell_m1 = {
        let mut b = (ell() - 1u32).to_bytes_le();
        b.resize(32, 0);
        <[u8; 32]>::try_from(b).unwrap()
    };
    for n in 0..40 {
        let mut ab = [0u8; 32];
        let mut bb = [0u8; 32];
        rng.fill_bytes(&mut ab);
        rng.fill_bytes(&mut bb);
        let (a, b) = match n {
            0 => (Scalar::ZERO, Scalar::ZERO),
            1 => (
                Scalar::from_bytes_mod_order(ell_m1),
                Scalar::from_bytes_mod_order(ell_m1),
            ),
            _ => (
                Scalar::from_bytes_mod_order(ab),
                Scalar::from_bytes_mod_order(bb),
            ),
        };
        let mut pb = [0u8; 32];
        rng.fill_bytes(&mut pb);
        let point = DalekPoint::mul_base(&Scalar::from_bytes_mod_order(pb)) + EIGHT_TORSION[n % 8];
        let want = DalekPoint::vartime_double_scalar_mul_basepoint(&a, &point, &b);
        let regs = &mut FieldRegs::new();
        let got = curve::double_scalar_mul_basepoint(
            regs,
            words_of(a.as_bytes()),
            twin_point(&point),
            words_of(b.as_bytes()),
        );
        assert_eq!(
            bytes_of(&curve::compress(regs, got)),
            want.compress().as_bytes().to_vec(),
            "case {n}"
        );
    }
}
