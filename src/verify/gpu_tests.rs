//! Layout and naga validation tests of the GPU verifier (no GPU needed), and GPU-vs-twin
//! parity tests of every building block (skipped without an adapter unless
//! `TXWAVE_REQUIRE_GPU=1`).

use super::*;

#[test]
fn layouts_match_the_shaders() {
    assert_eq!(std::mem::size_of::<ItemDesc>(), 8);
    assert_eq!(std::mem::offset_of!(ItemDesc, offset_words), 0);
    assert_eq!(std::mem::offset_of!(ItemDesc, message_len), 4);
    assert_eq!(std::mem::size_of::<VerifyParams>(), 16);
    assert_eq!(std::mem::offset_of!(VerifyParams, count), 0);
    assert_eq!(std::mem::offset_of!(VerifyParams, rule), 4);
    let src = verify_module_source();
    assert!(src.contains(&format!("const RULE_STRICT: u32 = {RULE_STRICT}u;")));
    assert!(src.contains(&format!("const RULE_ZIP215: u32 = {RULE_ZIP215}u;")));
    assert!(src.contains(&format!(
        "const ITEM_HEADER_WORDS: u32 = {}u;",
        twin::ITEM_HEADER_WORDS
    )));
    assert!(src.contains(&format!("@workgroup_size({WORKGROUP_SIZE})")));
}

#[test]
fn every_module_passes_naga_validation() {
    for (name, src) in wgsl_modules() {
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
    }
}
