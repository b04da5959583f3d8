//! The library reads no environment variable and no file it was not handed
//! (`EngineConfig` says everything): with every variable txwave's command line honours
//! set to values that would change or break an engine, an engine built from a config
//! behaves exactly as one built without them. This file sets the variables for its whole
//! process, so it holds this one test.

use std::path::Path;

use txwave::internal::workload::{GenConfig, generate};
use txwave::{Backend, Engine, EngineConfig, State, VerifyRule};

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn an_engine_ignores_every_variable_the_command_line_reads() {
    let g = generate(
        &GenConfig {
            blocks: 2,
            txs_per_block: 80,
            accounts: 30,
            seed: 4,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let genesis = State::from_genesis(&g.genesis).unwrap();
    let run = |engine: &Engine| {
        let mut state = genesis.clone();
        let roots: Vec<[u8; 32]> = g
            .blocks
            .iter()
            .map(|b| engine.process_block(&mut state, b).unwrap().state_root)
            .collect();
        roots
    };
    // Before any variable is set: what an engine does and finds.
    let plain = Engine::new(EngineConfig::default()).unwrap();
    let plain_backend = plain.backend();
    let plain_note = plain.backend_note().map(str::to_string);
    let plain_thresholds = plain.auto_thresholds().describe();
    let plain_roots = run(&plain);
    drop(plain);
    let gpu_before = txwave::internal::gpu::test_context().map(|c| c.adapter.name.clone());

    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("config");
    std::fs::create_dir_all(config_dir.join("txwave")).unwrap();
    // A calibration that would lower Auto's thresholds to 1 if it were read.
    std::fs::write(
        config_dir.join("txwave/calibration.json"),
        r#"{"adapter": "any", "rates": [], "break_even": [{"stage": "verify_strict", "batch": 1}]}"#,
    )
    .unwrap();
    let named = home.path().join("named-calibration.json");
    std::fs::write(&named, "not json").unwrap();
    let cache = home.path().join("cache");
    let vars = [
        ("TXWAVE_ADAPTER", "no adapter has this name".to_string()),
        ("WGPU_BACKEND", "gl".to_string()),
        ("TXWAVE_CALIBRATION", named.display().to_string()),
        ("XDG_CONFIG_HOME", config_dir.display().to_string()),
        ("HOME", home.path().display().to_string()),
        (
            "TXWAVE_PIPELINE_CACHE_DIR",
            cache.join("a").display().to_string(),
        ),
        ("XDG_CACHE_HOME", cache.join("b").display().to_string()),
    ];
    for (k, v) in &vars {
        // SAFETY: this test is the only one in its process and sets the variables before
        // it starts any engine, so no other thread reads the environment meanwhile.
        unsafe { std::env::set_var(k, v) };
    }

    let engine = Engine::new(EngineConfig::default()).unwrap();
    assert_eq!(engine.backend(), plain_backend);
    assert_eq!(engine.backend_note().map(str::to_string), plain_note);
    assert_eq!(engine.auto_thresholds().describe(), plain_thresholds);
    assert!(
        engine.auto_thresholds().note.is_none(),
        "{:?}",
        engine.auto_thresholds().note
    );
    assert_eq!(run(&engine), plain_roots);

    // With a device: TXWAVE_ADAPTER and WGPU_BACKEND=gl would leave no adapter at all.
    let gpu_after = txwave::internal::gpu::test_context().map(|c| c.adapter.name.clone());
    assert_eq!(gpu_after, gpu_before);
    if gpu_after.is_some() {
        let gpu = Engine::new(EngineConfig {
            backend: Backend::Gpu,
            ..Default::default()
        })
        .expect("the variables do not narrow the adapters");
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let sig = ed25519_dalek::Signer::sign(&key, b"m").to_bytes();
        let check = txwave::SigCheck {
            public_key: key.verifying_key().to_bytes(),
            signature: sig,
            message: b"m",
        };
        assert_eq!(
            gpu.verify_signatures(&[check], VerifyRule::Strict).unwrap(),
            [true]
        );
        assert_eq!(run(&gpu), plain_roots);
    }
    // Nothing was written under the home, config or cache directories but what the test
    // put there.
    let mut written = files_under(home.path());
    written.sort();
    assert_eq!(
        written,
        [
            config_dir
                .join("txwave/calibration.json")
                .display()
                .to_string(),
            named.display().to_string(),
        ]
    );
}
