//! Issue 13 ("every resource Calico enforces, enforced as Calico does"): one fixture per item
//! that fires and one near miss that does not (`fixtures/issue13/<item>/{fires,clean}`), each
//! asserted directly and snapshotted.

use calint::analysis::groups::resolve;
use calint::analysis::ir::PolicySet;
use calint::analysis::reach::{ReachOptions, Verdict, reach};
use calint::check::{CheckOptions, check};
use calint::project::Project;
use calint::report;
use std::path::Path;
use std::process::Command;

fn run(dir: &str) -> (Project, String, Vec<&'static str>) {
    let opts = CheckOptions {
        paths: vec![Path::new("fixtures/issue13").join(dir)],
        ..CheckOptions::default()
    };
    let (project, findings) = check(&opts).expect("fixture tree loads");
    let human = report::human::render(&project, &findings, false);
    let codes = findings.iter().map(|f| f.code).collect();
    (project, human, codes)
}

/// Check `dir`, snapshot the human report, and return it with the codes found.
fn case(dir: &str) -> (Project, String, Vec<&'static str>) {
    let (project, human, codes) = run(dir);
    insta::assert_snapshot!(format!("issue13_{}", dir.replace('/', "_")), human);
    (project, human, codes)
}

fn reach_verdict(project: &Project, from: &str, to: &str) -> Verdict {
    let set = PolicySet::from_project(project).workload_view();
    let from = resolve(project, from).expect("from group");
    let to = resolve(project, to).expect("to group");
    reach(
        &set,
        &from,
        &to,
        &ReachOptions {
            protocol: Some(6),
            port: Some(80),
            timeout_ms: 20_000,
        },
    )
    .verdict
}

#[test]
fn item_1_host_endpoint_policy_lists() {
    let (_, human, codes) = case("01-hep-classes/fires");
    assert!(codes.contains(&"CAL202"), "{human}");
    assert!(human.contains("untracked-allow-ssh"), "{human}");
    let (project, human, codes) = case("01-hep-classes/clean");
    assert!(!codes.contains(&"CAL202"), "{human}");
    assert_eq!(
        reach_verdict(&project, "shop/client", "shop/web"),
        Verdict::Allowed,
        "a doNotTrack policy never applies to pods"
    );
}

#[test]
fn item_2_gnp_all_rewrite() {
    let (_, human, codes) = case("02-gnp-all-rewrite/fires");
    assert!(codes.contains(&"CAL111"), "{human}");
    let (_, human, codes) = case("02-gnp-all-rewrite/clean");
    assert!(
        !codes.contains(&"CAL111") && !codes.contains(&"CAL202"),
        "{human}"
    );
}

#[test]
fn item_6_invalid_tier_settings_do_not_apply() {
    let (_, human, codes) = case("06-invalid-resources/fires");
    assert!(codes.contains(&"CAL002"), "{human}");
    assert!(codes.contains(&"CAL202"), "{human}");
    let (_, human, codes) = case("06-invalid-resources/clean");
    assert!(
        !codes.contains(&"CAL202") && !codes.contains(&"CAL002"),
        "{human}"
    );
}

#[test]
fn item_7_long_service_account_names_never_match() {
    let (_, human, codes) = case("07-long-service-accounts/fires");
    // The rule whose only name is too long can never match: CAL110 on the whole rule. The
    // rule that also names `api` still matches; its long name is the part that can never
    // match, reported by the dedicated W-23 lint CAL135 (issue 15) so it is said once.
    assert_eq!(codes, vec!["CAL110", "CAL135"], "{human}");
    assert!(
        human.contains("in NetworkPolicy shop/db at /spec/ingress/0\n"),
        "{human}"
    );
    assert!(
        human.contains("at /spec/ingress/1/source/serviceAccounts/names/1"),
        "{human}"
    );
    let (_, human, codes) = case("07-long-service-accounts/clean");
    assert!(!codes.contains(&"CAL110"), "{human}");
}

#[test]
fn item_8_only_the_later_definition_is_analysed() {
    let (_, human, codes) = case("08-duplicates/fires");
    assert!(
        codes.contains(&"CAL003") && codes.contains(&"CAL202"),
        "{human}"
    );
    let (_, human, codes) = case("08-duplicates/clean");
    assert!(
        codes.contains(&"CAL003") && !codes.contains(&"CAL202"),
        "{human}"
    );
    // `reach` says on stderr what it left out.
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args([
            "reach",
            "fixtures/issue13/08-duplicates/fires",
            "--from",
            "world",
            "--to",
        ])
        .arg("app == 'web'")
        .output()
        .expect("calint runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "note: 1 policy not analysed: GlobalNetworkPolicy baseline (replaced by a later definition, CAL003)"
        ),
        "{stderr}"
    );
}

/// `check` with the fixture's `.calint.yaml` (the binary discovers it), as JSON codes.
fn codes_with_config(dir: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args([
            "check",
            &format!("fixtures/issue13/{dir}"),
            "--format",
            "json",
        ])
        .output()
        .expect("calint runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn item_11_undefined_tiers_and_declared_tiers() {
    // Declared in `.calint.yaml`: analysed in its real place.
    let codes = codes_with_config("11-undefined-tiers/fires");
    assert!(codes.contains(&"CAL202".to_string()), "{codes:?}");
    assert!(!codes.contains(&"CAL004".to_string()), "{codes:?}");
    // Not declared: CAL004, and no ordering finding.
    let (_, human, codes) = case("11-undefined-tiers/clean");
    assert!(codes.contains(&"CAL004"), "{human}");
    assert!(
        !codes.contains(&"CAL202") && !codes.contains(&"CAL203"),
        "{human}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args([
            "config",
            "--print",
            "fixtures/issue13/11-undefined-tiers/fires",
        ])
        .output()
        .expect("calint runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("allow-tigera"), "{text}");
}

#[test]
fn item_12_storage_form_is_analysed_as_enforced() {
    let (project, human, codes) = case("12-storage-form/fires");
    assert!(
        codes.contains(&"CAL008") && codes.contains(&"CAL202"),
        "{human}"
    );
    assert!(
        !codes.contains(&"CAL002") && !codes.contains(&"CAL101"),
        "{human}"
    );
    let set = PolicySet::from_project(&project);
    let web = set
        .policies
        .iter()
        .find(|p| p.name == "default.web")
        .expect("analysed");
    assert!(
        web.ingress_applies && web.egress_applies,
        "no types: both directions"
    );
    let (_, human, codes) = case("12-storage-form/clean");
    assert!(
        !codes.contains(&"CAL008") && !codes.contains(&"CAL202"),
        "{human}"
    );
}

#[test]
fn item_13_namespaced_groups_are_the_namespace_pods() {
    let (project, _, _) = case("13-namespace-groups/fires");
    assert_eq!(
        reach_verdict(&project, "world", "shop/all()"),
        Verdict::Denied
    );
    let (project, _, _) = case("13-namespace-groups/clean");
    assert_eq!(
        reach_verdict(
            &project,
            "world",
            "shop/!has(projectcalico.org/orchestrator)"
        ),
        Verdict::Allowed
    );
}
