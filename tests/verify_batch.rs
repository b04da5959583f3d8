//! The zip215 batch verifier's soundness and failure search, through
//! `Engine::verify_signatures` (CPU backend):
//! - two invalid signatures whose errors cancel under fixed coefficients are rejected;
//! - every invalid vector of each public suite (Wycheproof, C2SP CCTV, speccheck, and
//!   RFC 8032's examples with a flipped bit), under each rule, hidden alone inside a
//!   batch of 1,000 valid signatures, is the one signature the batch rejects.

mod common;

#[path = "common/adversarial.rs"]
#[allow(dead_code)]
mod adversarial;

use adversarial::{Input, dalek_strict, zebra};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use txwave::internal::verify::batch::DecodedSet;
use txwave::{SigCheck, VerifyRule};

/// `n` valid signatures from 100 keys (a few signers sign many times).
fn valid(n: usize, seed: u64) -> Vec<Input> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys: Vec<SigningKey> = (0..100)
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            SigningKey::from_bytes(&s)
        })
        .collect();
    (0..n)
        .map(|_| {
            let u: f64 = rng.r#gen();
            let k = &keys[((u * u * 100.0) as usize).min(99)];
            let mut msg = vec![0u8; rng.gen_range(1..120)];
            rng.fill_bytes(&mut msg);
            Input {
                key: k.verifying_key().to_bytes(),
                sig: k.sign(&msg).to_bytes(),
                msg,
                kind: "valid",
            }
        })
        .collect()
}

fn s_of(sig: &[u8; 64]) -> Scalar {
    let mut b = [0u8; 32];
    b.copy_from_slice(&sig[32..]);
    Option::from(Scalar::from_canonical_bytes(b)).expect("canonical S")
}

#[test]
fn errors_that_cancel_under_fixed_coefficients_are_still_rejected() {
    let mut pair = valid(2, 11);
    // S₁ + d and S₂ − d: each signature is invalid, the plain sum of their errors is zero.
    let d = Scalar::from(0x1234_5678_9abc_def0_u64);
    let s1 = s_of(&pair[0].sig) + d;
    let s2 = s_of(&pair[1].sig) - d;
    pair[0].sig[32..].copy_from_slice(s1.as_bytes());
    pair[1].sig[32..].copy_from_slice(s2.as_bytes());
    for p in &pair {
        assert!(!zebra(p) && !dalek_strict(p), "each is invalid on its own");
    }
    let checks: Vec<SigCheck<'_>> = pair.iter().map(Input::check).collect();
    let (set, decoded) = DecodedSet::from_checks(&checks);
    assert_eq!(decoded, vec![true, true]);
    assert!(
        set.batch_holds_with(&[Scalar::ONE, Scalar::ONE]),
        "with coefficients 1, 1 the errors cancel"
    );
    let mut rng = rand10::rng();
    for _ in 0..50 {
        assert!(
            !set.batch_holds(&mut rng),
            "random coefficients expose them"
        );
    }
    let engine = common::cpu_engine();
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        assert_eq!(
            engine.verify_signatures(&checks, rule).unwrap(),
            vec![false, false]
        );
    }
    // The same pair inside 1,000 valid signatures, apart and side by side.
    for gap in [1usize, 500] {
        let mut all = valid(1000, 12);
        all.insert(100, pair[0].clone());
        all.insert(100 + gap, pair[1].clone());
        let checks: Vec<SigCheck<'_>> = all.iter().map(Input::check).collect();
        let got = engine
            .verify_signatures(&checks, VerifyRule::Zip215)
            .unwrap();
        let rejected: Vec<usize> = (0..got.len()).filter(|&i| !got[i]).collect();
        assert_eq!(rejected, vec![100, 100 + gap]);
    }
}

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex in vector file")
}

/// (label, key, sig, msg) of the well-formed cases (32-byte key, 64-byte signature).
fn suite_cases() -> Vec<(String, Input)> {
    let mut out = Vec::new();
    let mut push = |label: String, key: Vec<u8>, sig: Vec<u8>, msg: Vec<u8>| {
        if let (Ok(key), Ok(sig)) = (key.try_into(), sig.try_into()) {
            out.push((
                label,
                Input {
                    key,
                    sig,
                    msg,
                    kind: "vector",
                },
            ));
        }
    };
    let w = vectors("ed25519_wycheproof.json");
    for group in w["testGroups"].as_array().unwrap() {
        let key = unhex(group["publicKey"]["pk"].as_str().unwrap());
        for t in group["tests"].as_array().unwrap() {
            push(
                format!("wycheproof tcId {}", t["tcId"]),
                key.clone(),
                unhex(t["sig"].as_str().unwrap()),
                unhex(t["msg"].as_str().unwrap()),
            );
        }
    }
    for t in vectors("ed25519_cctv.json").as_array().unwrap() {
        push(
            format!("CCTV vector {}", t["number"]),
            unhex(t["key"].as_str().unwrap()),
            unhex(t["sig"].as_str().unwrap()),
            t["msg"].as_str().unwrap().as_bytes().to_vec(),
        );
    }
    for (i, t) in vectors("ed25519_speccheck_cases.json")
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        push(
            format!("speccheck case {i}"),
            unhex(t["pub_key"].as_str().unwrap()),
            unhex(t["signature"].as_str().unwrap()),
            unhex(t["message"].as_str().unwrap()),
        );
    }
    // RFC 8032 section 7.1, tests 1 to 3 (valid), and each with one bit flipped in R, S,
    // the key and the message.
    let rfc = [
        (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (n, (key, msg, sig)) in rfc.iter().enumerate() {
        let (key, msg, sig) = (unhex(key), unhex(msg), unhex(sig));
        push(
            format!("RFC 8032 test {}", n + 1),
            key.clone(),
            sig.clone(),
            msg.clone(),
        );
        for (what, byte) in [("R", 3usize), ("S", 40)] {
            let mut s = sig.clone();
            s[byte] ^= 0x04;
            push(
                format!("RFC 8032 test {} flipped {what}", n + 1),
                key.clone(),
                s,
                msg.clone(),
            );
        }
        let mut k = key.clone();
        k[7] ^= 0x10;
        push(
            format!("RFC 8032 test {} flipped key", n + 1),
            k,
            sig.clone(),
            msg.clone(),
        );
        let mut m = msg.clone();
        m.push(0);
        push(
            format!("RFC 8032 test {} altered message", n + 1),
            key,
            sig,
            m,
        );
    }
    out
}

#[test]
fn every_invalid_vector_is_found_alone_in_a_batch_of_1000_valid() {
    let cases = suite_cases();
    let rfc: Vec<&(String, Input)> = cases
        .iter()
        .filter(|(l, _)| l.starts_with("RFC 8032 test ") && l.len() == "RFC 8032 test 1".len())
        .collect();
    let rfc_valid = rfc
        .iter()
        .filter(|(_, c)| zebra(c) && dalek_strict(c))
        .count();
    assert_eq!(
        rfc_valid, 3,
        "the three RFC 8032 examples verify under both oracles"
    );
    let engine = common::cpu_engine();
    let base = valid(1000, 13);
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        let oracle = |c: &Input| match rule {
            VerifyRule::Zip215 => zebra(c),
            VerifyRule::Strict => dalek_strict(c),
        };
        // The whole suite in one call agrees with the oracle.
        let checks: Vec<SigCheck<'_>> = cases.iter().map(|(_, c)| c.check()).collect();
        let got = engine.verify_signatures(&checks, rule).unwrap();
        for ((label, c), got) in cases.iter().zip(&got) {
            assert_eq!(*got, oracle(c), "{label} under {rule:?}");
        }
        let invalid: Vec<&(String, Input)> = cases.iter().filter(|(_, c)| !oracle(c)).collect();
        assert!(
            invalid.len() > 50,
            "{rule:?}: {} invalid vectors",
            invalid.len()
        );
        for (label, c) in invalid {
            let at = rng.gen_range(0..=base.len());
            let mut checks: Vec<SigCheck<'_>> = base.iter().map(Input::check).collect();
            checks.insert(at, c.check());
            let got = engine.verify_signatures(&checks, rule).unwrap();
            let rejected: Vec<usize> = (0..got.len()).filter(|&i| !got[i]).collect();
            assert_eq!(rejected, vec![at], "{label} under {rule:?}, hidden at {at}");
        }
    }
}
