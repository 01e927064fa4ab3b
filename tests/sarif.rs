//! SARIF output: valid against the official OASIS 2.1.0 schema, pinned by a golden snapshot of
//! the example tree, and fingerprinted so findings survive line shifts.

use calint::check::{CheckOptions, check};
use calint::report::{self, sarif};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn sarif_of(paths: &[&str]) -> String {
    let opts = CheckOptions {
        paths: paths.iter().map(PathBuf::from).collect(),
        ..CheckOptions::default()
    };
    let (project, findings) = check(&opts).expect("tree loads");
    sarif::render(&project, &findings, sarif::DEFAULT_HELP_BASE)
}

/// The schema lives in the shared reference material beside this repository; it is read in
/// place, never copied here.
fn schema() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the SARIF schema is expected at {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the schema is JSON")
}

#[test]
fn sarif_is_valid_against_the_oasis_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-04/schema#",
        "the OASIS schema is draft-04; the validator below must be too"
    );
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let trees: &[&[&str]] = &[
        &["examples"],
        &["fixtures/mixed"],
        &["fixtures/CAL005/fires", "fixtures/CAL006/fires"],
        &["fixtures/CAL001/clean"],
    ];
    for paths in trees {
        let log: Value = serde_json::from_str(&sarif_of(paths)).expect("SARIF is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{paths:?}:\n{}", errors.join("\n"));
        // A non-conforming document must fail, or the check above proves nothing.
        let mut broken = log.clone();
        broken["runs"][0]["results"] = Value::from("not a list");
        assert!(!validator.is_valid(&broken));
    }
}

#[test]
fn sarif_lists_every_rule_and_locates_results() {
    let log: Value = serde_json::from_str(&sarif_of(&["examples"])).expect("SARIF is JSON");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), calint::lints::REGISTRY.len());
    for (rule, lint) in rules.iter().zip(calint::lints::REGISTRY) {
        let m = lint.meta();
        assert_eq!(rule["id"], m.code);
        assert_eq!(rule["properties"]["lintName"], m.name);
        assert_eq!(
            rule["helpUri"],
            format!("{}{}.md", sarif::DEFAULT_HELP_BASE, m.code)
        );
        assert!(
            rule["fullDescription"]["text"]
                .as_str()
                .is_some_and(|t| t.len() > 20)
        );
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 11);
    for r in results {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1), "{r}");
        assert!(
            region["startColumn"].as_u64().is_some_and(|c| c >= 1),
            "{r}"
        );
        let index = r["ruleIndex"]
            .as_u64()
            .and_then(|i| usize::try_from(i).ok());
        assert_eq!(
            index.and_then(|i| rules.get(i)).map(|x| &x["id"]),
            Some(&r["ruleId"])
        );
    }
    let duplicate = results
        .iter()
        .find(|r| r["ruleId"] == "CAL003")
        .expect("CAL003");
    let related = &duplicate["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "examples/policies/shop/frontend.yaml"
    );
}

#[test]
fn example_tree_sarif_snapshot() {
    insta::assert_snapshot!("examples_sarif", sarif_of(&["examples"]));
}

/// A scratch directory under the target dir, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn fingerprints_and_lines(dir: &Path) -> Vec<(String, u64)> {
    let opts = CheckOptions {
        paths: vec![dir.to_path_buf()],
        ..CheckOptions::default()
    };
    let (project, findings) = check(&opts).expect("loads");
    let log: Value = serde_json::from_str(&report::sarif::render(&project, &findings, "x/"))
        .expect("SARIF is JSON");
    log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["partialFingerprints"][sarif::FINGERPRINT_KEY]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_line_shifts() {
    let dir = scratch("sarif-fingerprints");
    let policy = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  selector: all()\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  selector: all()\n";
    std::fs::write(dir.join("p.yaml"), policy).expect("write");
    let before = fingerprints_and_lines(&dir);
    std::fs::write(
        dir.join("p.yaml"),
        format!("# a comment\n# another\n{policy}"),
    )
    .expect("write");
    let after = fingerprints_and_lines(&dir);
    assert_eq!(before.len(), 3, "{before:?}"); // CAL101 twice, CAL003 once
    for ((fp_before, line_before), (fp_after, line_after)) in before.iter().zip(&after) {
        assert_eq!(fp_before, fp_after);
        assert_eq!(line_before + 2, *line_after);
        assert_eq!(fp_before.len(), 16);
    }
    let mut distinct: Vec<_> = before.iter().map(|(fp, _)| fp).collect();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        before.len(),
        "fingerprints must be distinct"
    );
}
