//! The GPU verifier against the CPU oracles (ed25519-dalek `verify_strict` for `strict`,
//! ed25519-zebra for `zip215`) on public test vectors and on a seeded differential of
//! valid, mutated and adversarial inputs; and the CPU twin of the shader against the same
//! oracles on the same inputs. GPU tests skip without an adapter unless
//! `TXWAVE_REQUIRE_GPU=1`.
//!
//! Every verifier variant (both shapes, with and without the base-point table, at
//! workgroup sizes 64 and 32) runs every vector suite and a differential sized so that the
//! non-default variants add little time on a software adapter; each variant's pipeline is
//! compiled once per test binary.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha512};
use txwave::internal::gpu::GpuContext;
use txwave::internal::gpu::tunables::{GpuTunables, VerifyShape, VerifyVariant};
use txwave::internal::verify::cpu::{verify_strict_one, verify_zip215_one};
use txwave::internal::verify::gpu::{GpuVerifier, pack};
use txwave::internal::verify::layout::rule_code;
use txwave::internal::verify::twin;
use txwave::{SigCheck, VerifyRule};

const RULES: [VerifyRule; 2] = [VerifyRule::Strict, VerifyRule::Zip215];

/// One input with a label that names it in failures.
#[derive(Clone, Debug)]
struct Case {
    label: String,
    key: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
}

impl Case {
    fn check(&self) -> SigCheck<'_> {
        SigCheck {
            public_key: self.key,
            signature: self.sig,
            message: &self.msg,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{}: key {} sig {} msg ({} bytes) {}",
            self.label,
            hex::encode(self.key),
            hex::encode(self.sig),
            self.msg.len(),
            hex::encode(&self.msg)
        )
    }
}

fn oracle(rule: VerifyRule, c: &Case) -> bool {
    match rule {
        VerifyRule::Strict => verify_strict_one(&c.check()),
        VerifyRule::Zip215 => verify_zip215_one(&c.check()),
    }
}

fn gpu() -> Option<&'static (GpuContext, GpuVerifier)> {
    static GPU: OnceLock<Option<(GpuContext, GpuVerifier)>> = OnceLock::new();
    GPU.get_or_init(|| {
        let ctx = txwave::internal::gpu::test_context()?;
        let verifier = GpuVerifier::new(&ctx, VerifyVariant::default())
            .expect("the verifier pipeline compiles");
        eprintln!(
            "GPU verifier on {} compiled in {:?}",
            ctx.adapter.name,
            verifier.compile_time()
        );
        Some((ctx, verifier))
    })
    .as_ref()
}

/// Every variant the tests run: each shape with and without the base-point table at
/// workgroup size 64 (the set `run.sh --small` of the GPU kit times, so a CI run compiles
/// each once; a cold compile takes a minute or more on lavapipe), and the straight-line
/// shape with the table at 32 for a second workgroup size. The default variant comes
/// first.
fn variants() -> Vec<VerifyVariant> {
    let mut all = VerifyVariant::all(&[64]);
    all.push(VerifyVariant {
        shape: VerifyShape::StraightLine,
        basepoint_table: true,
        workgroup_size: 32,
    });
    assert_eq!(all.len(), VARIANTS);
    let default = all
        .iter()
        .position(|v| *v == VerifyVariant::default())
        .expect("the default variant is listed");
    all.swap(0, default);
    all
}

const VARIANTS: usize = 5;

/// The verifier of `variants()[index]`, compiled on first use (the default one is
/// [`gpu`]'s).
fn verifier(index: usize) -> Option<&'static GpuVerifier> {
    static VERIFIERS: [OnceLock<GpuVerifier>; VARIANTS] = [const { OnceLock::new() }; VARIANTS];
    let (ctx, default) = gpu()?;
    if index == 0 {
        return Some(default);
    }
    Some(VERIFIERS[index].get_or_init(|| {
        let variant = variants()[index];
        let v = GpuVerifier::new(ctx, variant).expect("the variant's pipeline compiles");
        assert_eq!(v.variant(), variant);
        eprintln!(
            "GPU verifier {} compiled in {:?}",
            variant.label(),
            v.compile_time()
        );
        v
    }))
}

/// Runs every case through the default GPU verifier under `rule` and compares with
/// `expected`; all disagreements are listed before failing.
fn assert_gpu(rule: VerifyRule, cases: &[Case], expected: &[bool]) {
    assert_gpu_variant(0, rule, cases, expected);
}

/// As [`assert_gpu`], on every variant.
fn assert_gpu_all(rule: VerifyRule, cases: &[Case], expected: &[bool]) {
    for index in 0..VARIANTS {
        assert_gpu_variant(index, rule, cases, expected);
    }
}

/// As [`assert_gpu`], on variant `index` of [`variants`]; returns the time the call took.
fn assert_gpu_variant(
    index: usize,
    rule: VerifyRule,
    cases: &[Case],
    expected: &[bool],
) -> Duration {
    let Some((ctx, _)) = gpu() else {
        return Duration::ZERO;
    };
    let verifier = verifier(index).expect("GPU opened");
    let label = verifier.variant().label();
    let checks: Vec<SigCheck<'_>> = cases.iter().map(Case::check).collect();
    let started = Instant::now();
    let (got, _) = verifier
        .verify(ctx, &checks, rule)
        .expect("GPU verification runs");
    let took = started.elapsed();
    eprintln!(
        "{} {} cases on the GPU ({label}) in {took:?} (lavapipe: CPU-emulated, not GPU speed)",
        cases.len(),
        rule.name(),
    );
    assert_eq!(got.len(), cases.len());
    let bad: Vec<String> = (0..cases.len())
        .filter(|&i| got[i] != expected[i])
        .map(|i| {
            format!(
                "GPU {} expected {}: {}",
                got[i],
                expected[i],
                cases[i].describe()
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} disagree under {} ({label}):\n{}",
        bad.len(),
        cases.len(),
        rule.name(),
        bad.join("\n")
    );
    took
}

/// The CPU twin of the shader's `verify_item` on every case.
fn assert_twin(rule: VerifyRule, cases: &[Case], expected: &[bool]) {
    let checks: Vec<SigCheck<'_>> = cases.iter().map(Case::check).collect();
    let (descs, data) = pack(&checks).expect("packs");
    let code = rule_code(rule);
    let bad: Vec<String> = (0..cases.len())
        .into_par_iter()
        .filter_map(|i| {
            let got = twin::verify_item(code, descs[i], &data) == 1;
            (got != expected[i]).then(|| {
                format!(
                    "twin {got} expected {}: {}",
                    expected[i],
                    cases[i].describe()
                )
            })
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} disagree under {}:\n{}",
        bad.len(),
        cases.len(),
        rule.name(),
        bad.join("\n")
    );
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load_json(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the vectors live in tests/vectors)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("valid JSON")
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Wycheproof `testvectors_v1/ed25519_test.json` (C2SP/wycheproof dac1dd4729fd): 151 cases.
/// Cases whose signature is not 64 bytes cannot be expressed as a `SigCheck`; they must
/// all be `invalid`. For the rest the expected answer per rule is that rule's oracle, and
/// dalek's `verify_strict` agrees with Wycheproof's valid/invalid on every one.
fn wycheproof_cases() -> Vec<Case> {
    let v = load_json("ed25519_wycheproof.json");
    let mut cases = Vec::new();
    let mut total = 0;
    for group in v["testGroups"].as_array().expect("testGroups") {
        let key: [u8; 32] =
            unhex(group["publicKey"]["pk"].as_str().expect("pk")).expect("32-byte pk");
        for t in group["tests"].as_array().expect("tests") {
            total += 1;
            let id = t["tcId"].as_u64().expect("tcId");
            let valid = t["result"].as_str() == Some("valid");
            let msg = hex::decode(t["msg"].as_str().expect("msg")).expect("hex msg");
            let Some(sig) = unhex::<64>(t["sig"].as_str().expect("sig")) else {
                assert!(
                    !valid,
                    "Wycheproof tcId {id}: a valid signature of the wrong length"
                );
                continue;
            };
            let case = Case {
                label: format!(
                    "Wycheproof tcId {id} ({})",
                    t["comment"].as_str().unwrap_or("")
                ),
                key,
                sig,
                msg,
            };
            assert_eq!(
                verify_strict_one(&case.check()),
                valid,
                "{}",
                case.describe()
            );
            cases.push(case);
        }
    }
    assert_eq!(total, 151);
    cases
}

/// C2SP CCTV `ed25519/ed25519vectors.json` (C2SP/CCTV 1e3d2860d46e): 914 edge cases of A
/// and R; `msg` is ASCII. The expected answer per rule is that rule's oracle. (The vectors
/// README says ZIP-215 accepts every one; ed25519-zebra 4.2 rejects some, e.g. number 18,
/// whose R encodes y = p. The oracle crate decides.)
fn cctv_cases() -> Vec<Case> {
    let v = load_json("ed25519_cctv.json");
    let cases: Vec<Case> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|t| Case {
            label: format!("CCTV number {}", t["number"]),
            key: unhex(t["key"].as_str().expect("key")).expect("32-byte key"),
            sig: unhex(t["sig"].as_str().expect("sig")).expect("64-byte sig"),
            msg: t["msg"].as_str().expect("msg").as_bytes().to_vec(),
        })
        .collect();
    assert_eq!(cases.len(), 914);
    let rejected: Vec<&str> = cases
        .iter()
        .filter(|c| !verify_zip215_one(&c.check()))
        .map(|c| c.label.as_str())
        .collect();
    eprintln!(
        "ed25519-zebra rejects {} CCTV cases: {rejected:?}",
        rejected.len()
    );
    cases
}

/// ed25519-speccheck `cases.json` (novifinancial/ed25519-speccheck 65519336fda7) with the
/// suite's expected results per rule (the table in the vectors README).
fn speccheck_cases() -> (Vec<Case>, [Vec<bool>; 2]) {
    let v = load_json("ed25519_speccheck_cases.json");
    let cases: Vec<Case> = v
        .as_array()
        .expect("array")
        .iter()
        .enumerate()
        .map(|(i, t)| Case {
            label: format!("speccheck case {i}"),
            key: unhex(t["pub_key"].as_str().expect("pub_key")).expect("32-byte key"),
            sig: unhex(t["signature"].as_str().expect("signature")).expect("64-byte sig"),
            msg: hex::decode(t["message"].as_str().expect("message")).expect("hex"),
        })
        .collect();
    let strict = "XXXVXXXXXXXX".chars().map(|c| c == 'V').collect();
    let zip215 = "VVVVVVXXXVVV".chars().map(|c| c == 'V').collect();
    (cases, [strict, zip215])
}

fn run_vectors(cases: &[Case]) {
    for rule in RULES {
        let expected: Vec<bool> = cases.iter().map(|c| oracle(rule, c)).collect();
        assert_gpu_all(rule, cases, &expected);
        assert_twin(rule, cases, &expected);
    }
}

#[test]
fn wycheproof_vectors() {
    run_vectors(&wycheproof_cases());
}

#[test]
fn cctv_vectors() {
    run_vectors(&cctv_cases());
}

#[test]
fn speccheck_vectors() {
    let (cases, expected) = speccheck_cases();
    for (r, rule) in RULES.iter().enumerate() {
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(
                oracle(*rule, c),
                expected[r][i],
                "oracle, {} {}",
                rule.name(),
                c.label
            );
        }
        assert_gpu_all(*rule, &cases, &expected[r]);
        assert_twin(*rule, &cases, &expected[r]);
    }
}

/// RFC 8032 §7.1 test vectors TEST 1, TEST 2, TEST 3, TEST 1024 and TEST SHA(abc)
/// (https://www.rfc-editor.org/rfc/rfc8032#section-7.1): secret key, public key, message,
/// signature. Signing with the secret key must reproduce the key and signature, which
/// also guards the transcription.
const RFC8032: [(&str, &str, &str, &str, &str); 5] = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

#[test]
fn rfc8032_vectors() {
    let mut cases = Vec::new();
    for (name, secret, public, msg, sig) in RFC8032 {
        let signing = SigningKey::from_bytes(&unhex(secret).expect("secret"));
        let msg = hex::decode(msg).expect("msg");
        let case = Case {
            label: format!("RFC 8032 {name}"),
            key: unhex(public).expect("public"),
            sig: unhex(sig).expect("sig"),
            msg,
        };
        assert_eq!(
            signing.verifying_key().to_bytes(),
            case.key,
            "{name}: public key"
        );
        assert_eq!(
            signing.sign(&case.msg).to_bytes(),
            case.sig,
            "{name}: signature"
        );
        cases.push(case);
    }
    assert_eq!(
        Sha512::digest(b"abc").to_vec(),
        cases[4].msg,
        "SHA(abc) is SHA-512 of abc"
    );
    let all_true = vec![true; cases.len()];
    for rule in RULES {
        assert!(cases.iter().all(|c| oracle(rule, c)));
        assert_gpu_all(rule, &cases, &all_true);
        assert_twin(rule, &cases, &all_true);
    }
}

fn ell_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, w) in twin::scalar::ELL_WORDS.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// 256-bit little-endian a + b (no overflow for the values used).
fn add256(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// Encodings of small-order points, canonical and not: the eight torsion points, their
/// sign-flipped forms, and y = p (the order-4 points, y ≡ 0) and y = p + 1 (the identity)
/// with both sign bits.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut v: Vec<[u8; 32]> = Vec::new();
    for t in EIGHT_TORSION.iter() {
        let b = t.compress().to_bytes();
        v.push(b);
        let mut f = b;
        f[31] ^= 0x80;
        v.push(f);
    }
    for low in [0xedu8, 0xee] {
        for top in [0x7fu8, 0xff] {
            let mut b = [0xffu8; 32];
            b[0] = low;
            b[31] = top;
            v.push(b);
        }
    }
    v
}

/// Signs with a chosen nonce point R (any encoding) and key A: S = r + k·a with
/// k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod ℓ.
fn sign_raw(a: Scalar, a_bytes: [u8; 32], r: Scalar, r_bytes: [u8; 32], msg: &[u8]) -> [u8; 64] {
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(a_bytes)
            .chain_update(msg),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

fn random_scalar(rng: &mut ChaCha20Rng) -> Scalar {
    let mut b = [0u8; 64];
    rng.fill_bytes(&mut b);
    Scalar::from_bytes_mod_order_wide(&b)
}

/// The differential inputs: `n` cases cycling through valid signatures (messages of every
/// length 0..=300) and the mutations and adversarial forms listed in `kinds`.
fn differential_cases(n: usize, seed: u64) -> Vec<Case> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let small = small_order_encodings();
    let ell = ell_bytes();
    let kinds = [
        "valid",
        "S bit flip",
        "R bit flip",
        "A bit flip",
        "message bit flip",
        "S + l",
        "S = l - 1",
        "S = l",
        "S = 2^253",
        "small-order A and R, S = 0",
        "small-order A, honest R",
        "mixed-order A",
        "mixed-order R",
        "non-canonical small-order R or A",
        "non-canonical y >= p",
        "random 32/64 bytes",
    ];
    (0..n)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            let len = (i / kinds.len()) % 301;
            let mut msg = vec![0u8; len];
            rng.fill_bytes(&mut msg);
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let signing = SigningKey::from_bytes(&seed);
            let mut key = signing.verifying_key().to_bytes();
            let mut sig = signing.sign(&msg).to_bytes();
            let a = signing.to_scalar();
            match kind {
                "valid" => {}
                "S bit flip" => sig[32 + rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                "R bit flip" => sig[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                "A bit flip" => key[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                "message bit flip" => {
                    if msg.is_empty() {
                        msg.push(0);
                    } else {
                        let at = rng.gen_range(0..msg.len());
                        msg[at] ^= 1 << rng.gen_range(0..8);
                    }
                }
                "S + l" => {
                    let s = add256(&sig[32..], &ell);
                    sig[32..].copy_from_slice(&s);
                }
                "S = l - 1" => {
                    let mut s = ell;
                    s[0] -= 1;
                    sig[32..].copy_from_slice(&s);
                }
                "S = l" => sig[32..].copy_from_slice(&ell),
                "S = 2^253" => {
                    let mut s = [0u8; 32];
                    s[31] = 0x20;
                    sig[32..].copy_from_slice(&s);
                }
                "small-order A and R, S = 0" => {
                    key = small[rng.gen_range(0..small.len())];
                    sig[..32].copy_from_slice(&small[rng.gen_range(0..small.len())]);
                    sig[32..].fill(0);
                }
                "small-order A, honest R" => {
                    key = EIGHT_TORSION[rng.gen_range(0..8)].compress().to_bytes();
                    let r = random_scalar(&mut rng);
                    let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
                    sig = sign_raw(Scalar::ZERO, key, r, r_bytes, &msg);
                }
                "mixed-order A" => {
                    let point = EdwardsPoint::mul_base(&a) + EIGHT_TORSION[rng.gen_range(1..8)];
                    key = point.compress().to_bytes();
                    let r = random_scalar(&mut rng);
                    let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
                    sig = sign_raw(a, key, r, r_bytes, &msg);
                }
                "mixed-order R" => {
                    let r = random_scalar(&mut rng);
                    let point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[rng.gen_range(1..8)];
                    sig = sign_raw(a, key, r, point.compress().to_bytes(), &msg);
                }
                "non-canonical small-order R or A" => {
                    let enc = small[16 + rng.gen_range(0..4)];
                    if rng.gen_bool(0.5) {
                        key = enc;
                        sig[..32].copy_from_slice(&small[rng.gen_range(0..small.len())]);
                        sig[32..].fill(0);
                    } else {
                        let r = random_scalar(&mut rng);
                        // R's point is small-order; S = r + k·a makes [S]B − [k]A = [r]B.
                        sig = sign_raw(a, key, r, enc, &msg);
                    }
                }
                "non-canonical y >= p" => {
                    let mut enc = [0xffu8; 32];
                    enc[0] = 0xed + rng.gen_range(0..19u8);
                    enc[31] = if rng.gen_bool(0.5) { 0x7f } else { 0xff };
                    if rng.gen_bool(0.5) {
                        key = enc;
                    } else {
                        sig[..32].copy_from_slice(&enc);
                    }
                }
                _ => {
                    rng.fill_bytes(&mut key);
                    rng.fill_bytes(&mut sig);
                    if rng.gen_bool(0.5) {
                        // Keep S canonical half the time, so the curve checks decide.
                        sig[63] &= 0x0f;
                    }
                }
            }
            Case {
                label: format!("differential case {i} ({kind})"),
                key,
                sig,
                msg,
            }
        })
        .collect()
}

/// Inputs per rule; the same inputs are checked under both rules.
const DIFFERENTIAL_CASES: usize = 20_000;

fn expected_per_rule(cases: &[Case]) -> [Vec<bool>; 2] {
    RULES.map(|rule| cases.par_iter().map(|c| oracle(rule, c)).collect())
}

#[test]
fn differential_gpu_against_oracles() {
    if gpu().is_none() {
        return;
    }
    let cases = differential_cases(DIFFERENTIAL_CASES, 2024);
    let expected = expected_per_rule(&cases);
    // The generator must actually reach both answers, and the rules must differ somewhere.
    for (r, rule) in RULES.iter().enumerate() {
        let accepted = expected[r].iter().filter(|e| **e).count();
        eprintln!(
            "{}: oracle accepts {accepted} of {}",
            rule.name(),
            cases.len()
        );
        assert!(accepted > cases.len() / 20 && accepted < cases.len() / 2);
    }
    assert!(expected[0] != expected[1]);
    for (r, rule) in RULES.iter().enumerate() {
        assert_gpu(*rule, &cases, &expected[r]);
    }
}

#[test]
fn differential_twin_against_oracles() {
    let cases = differential_cases(DIFFERENTIAL_CASES, 2024);
    let expected = expected_per_rule(&cases);
    for (r, rule) in RULES.iter().enumerate() {
        let started = Instant::now();
        assert_twin(*rule, &cases, &expected[r]);
        eprintln!("twin, {}: {:?}", rule.name(), started.elapsed());
    }
}

/// Inputs per rule for each non-default variant: every kind of the generator (a multiple
/// of its 16 kinds) with messages up to 63 bytes, a seed of their own.
const VARIANT_DIFFERENTIAL_CASES: usize = 1_024;

#[test]
fn differential_variants_against_oracles() {
    if gpu().is_none() {
        return;
    }
    let cases = differential_cases(VARIANT_DIFFERENTIAL_CASES, 2025);
    let expected = expected_per_rule(&cases);
    for accepted_by_rule in &expected {
        let accepted = accepted_by_rule.iter().filter(|e| **e).count();
        assert!(accepted > cases.len() / 20 && accepted < cases.len() / 2);
    }
    assert!(expected[0] != expected[1]);
    for index in 1..VARIANTS {
        for (r, rule) in RULES.iter().enumerate() {
            assert_gpu_variant(index, *rule, &cases, &expected[r]);
        }
    }
}

/// One batch through every variant side by side, after every pipeline is built and has
/// run once: the
/// times are what a software adapter spends (CPU time), a hint of the relative work of
/// the shapes, not GPU speed.
#[test]
fn variants_side_by_side() {
    if gpu().is_none() {
        return;
    }
    let cases = differential_cases(512, 7);
    let expected = expected_per_rule(&cases);
    // Build every pipeline and dispatch it once first: a driver may finish compiling a
    // pipeline in its first dispatch (lavapipe does).
    for index in 0..VARIANTS {
        assert_gpu_variant(index, VerifyRule::Strict, &cases[..16], &expected[0][..16]);
    }
    let times: Vec<Duration> = (0..VARIANTS)
        .map(|index| assert_gpu_variant(index, VerifyRule::Strict, &cases, &expected[0]))
        .collect();
    let base = times[0].as_secs_f64();
    for (v, t) in variants().iter().zip(&times) {
        eprintln!(
            "side by side, {} strict cases: {:<24} {t:>10.2?}  ({:.2}x the default's time)",
            cases.len(),
            v.label(),
            t.as_secs_f64() / base
        );
    }
}

/// An engine built with a non-default verifier variant gives the verdicts of the default
/// engine (and of the oracles) on a batch.
#[test]
fn engine_with_a_variant_matches_the_default_engine() {
    use txwave::{Backend, Engine, EngineConfig};
    let Some((ctx, _)) = gpu() else { return };
    let engine = |verify: VerifyVariant| {
        Engine::new(EngineConfig {
            backend: Backend::Gpu,
            adapter: Some(ctx.adapter.name.clone()),
            gpu: GpuTunables {
                verify,
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("engine on the test adapter")
    };
    let straight = VerifyVariant {
        shape: VerifyShape::StraightLine,
        basepoint_table: true,
        ..Default::default()
    };
    let (a, b) = (engine(VerifyVariant::default()), engine(straight));
    let cases = differential_cases(256, 99);
    let checks: Vec<SigCheck<'_>> = cases.iter().map(Case::check).collect();
    for rule in RULES {
        let expected: Vec<bool> = cases.iter().map(|c| oracle(rule, c)).collect();
        let x = a.verify_signatures(&checks, rule).expect("default engine");
        let y = b
            .verify_signatures(&checks, rule)
            .expect("straight-line engine");
        assert_eq!(x, expected, "default engine, {}", rule.name());
        assert_eq!(y, x, "straight-line engine, {}", rule.name());
    }
}
