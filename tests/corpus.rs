//! The public Calico corpus in `../shared/corpus/` as an external test suite: every file loads
//! and lints without panicking, and the resources found per kind are pinned.

use calint::check::{CheckOptions, check};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

#[test]
fn whole_corpus_loads_and_lints() {
    let root = corpus();
    assert!(
        root.is_dir(),
        "the shared corpus is expected at {}",
        root.display()
    );
    let opts = CheckOptions {
        paths: vec![root],
        ..CheckOptions::default()
    };
    let (project, findings) = check(&opts).expect("corpus loads");
    let counts = project.counts_by_kind();
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    eprintln!(
        "corpus: {} files, {} resources, {} findings",
        project.stats.files,
        project.resources.len(),
        findings.len()
    );
    eprintln!("per kind: {}", summary.join(", "));
    eprintln!("unknown kinds: {:?}", project.stats.unknown_kinds);
    insta::assert_snapshot!("corpus_counts", summary.join("\n"));
    // The one file PyYAML cannot load (tab indentation) must be reported as CAL001.
    assert!(
        findings.iter().any(|f| f.code == "CAL001"
            && project
                .sources
                .get(f.location.file)
                .is_some_and(|s| s.name.ends_with("qos-controls.mdx.block01.yaml"))),
        "qos-controls block01 should be a CAL001"
    );
}
