use probity_policy::PolicyEngine;

#[test]
fn ovr_02_embedded_packs_load() {
    let e = PolicyEngine::load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.packs().len(), 4);
}
