//! Hostile and broken input: every file of `fixtures/bad/` is wrong in its own way, and each
//! must be reported with the exact codes and locations pinned by the snapshot — never a panic,
//! never silence. A few inputs too large to commit (a 100 MB file, 10,000-deep nesting, a
//! 10,000-term selector) are generated into a temporary directory.
//!
//! The listing has one line per finding: `file: CODE line:col message`.

use calint::check::{CheckOptions, DEFAULT_MAX_FILE_SIZE, check};
use calint::finding::Finding;
use calint::project::Project;
use calint::report;
use calint::source::printable;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const BAD: &str = "fixtures/bad";

/// Files of `fixtures/bad` that must produce no finding, and why.
const MUST_BE_SILENT: &[(&str, &str)] = &[
    (
        "empty.yaml",
        "an empty file holds no object: there is nothing to lint",
    ),
    (
        "only-document-marker.yaml",
        "a lone `---` is one empty document: there is nothing to lint",
    ),
    (
        "non-manifest-with-syntax-error.yaml",
        "no `apiVersion`: not a Kubernetes manifest, and other YAML in a GitOps repository \
         (CI configs, Helm values) is not calint's to lint",
    ),
];

fn run(paths: Vec<PathBuf>) -> (Project, Vec<Finding>) {
    let opts = CheckOptions {
        paths,
        ..CheckOptions::default()
    };
    let (project, findings) = check(&opts).expect("the tree loads");
    // Both renderers must cope with every finding.
    let human = report::human::render(&project, &findings, false);
    let json = report::json::render(&project, &findings);
    assert!(!human.is_empty() && json.starts_with('{'));
    (project, findings)
}

/// Findings per file name (relative to `root`), as listing lines.
fn listing(project: &Project, findings: &[Finding], root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in findings {
        let loc = report::line_location(project, f.location).expect("a known file");
        let path = Path::new(&loc.file);
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let name = printable(&name).into_owned();
        by_file.entry(name.clone()).or_default().push(format!(
            "{name}: {} {}:{} {}",
            f.code,
            loc.line,
            loc.column,
            printable(&f.message)
        ));
    }
    by_file
}

fn render(by_file: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    for lines in by_file.values() {
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

#[test]
fn every_bad_file_is_reported_with_exact_codes_and_locations() {
    let (project, findings) = run(vec![PathBuf::from(BAD)]);
    let by_file = listing(&project, &findings, Path::new(BAD));

    let mut names: Vec<String> = std::fs::read_dir(BAD)
        .expect("fixtures/bad exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert!(
        names.len() >= 60,
        "fixtures/bad should hold at least 60 files, found {}",
        names.len()
    );
    let silent: Vec<&str> = MUST_BE_SILENT.iter().map(|(n, _)| *n).collect();
    for name in &names {
        let reported = by_file.get(name).map_or(0, Vec::len);
        if silent.contains(&name.as_str()) {
            assert_eq!(
                reported,
                0,
                "{name} must stay silent: {:?}",
                by_file.get(name)
            );
        } else {
            assert!(reported > 0, "{name} is wrong but nothing was reported");
        }
    }
    for name in &silent {
        assert!(names.iter().any(|n| n == name), "{name} is not in {BAD}");
    }
    // Every finding is in one of the files (no stray locations).
    for file in by_file.keys() {
        assert!(names.contains(file), "finding in unexpected file {file}");
    }
    insta::assert_snapshot!("bad_input_listing", render(&by_file));
}

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("calint-bad-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const POLICY_HEAD: &str = "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: generated
spec:
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: \"";

#[test]
fn generated_monsters_are_reported_and_the_rest_still_checked() {
    use std::io::Write;
    let s = Scratch::new("monsters");
    // 100 MB: never read, so never parsed (the file-size limit is 10 MiB).
    {
        let file = std::fs::File::create(s.0.join("huge.yaml")).expect("create");
        let mut w = std::io::BufWriter::new(file);
        let line = "# apiVersion: projectcalico.org/v3 padding padding padding padding padding\n";
        let chunk = line.repeat(1 << 20 >> 6);
        let mut written = 0usize;
        while written < 100 * 1000 * 1000 {
            w.write_all(chunk.as_bytes()).expect("write");
            written += chunk.len();
        }
        w.flush().expect("flush");
    }
    // 10,000-deep nesting, flow style (brackets) and flow mappings.
    let deep_seq = format!(
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: deep-seq}}\nspec:\n  order: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    std::fs::write(s.0.join("deep-sequence.yaml"), deep_seq).expect("write");
    let deep_map = format!(
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: deep-map}}\nspec:\n  order: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    std::fs::write(s.0.join("deep-mapping.yaml"), deep_map).expect("write");
    // A selector with 10,000 terms (about 110 KB).
    let terms: Vec<String> = (0..10_000).map(|i| format!("app == 'a{i}'")).collect();
    let selector = format!("{POLICY_HEAD}{}\"\n", terms.join(" || "));
    std::fs::write(s.0.join("selector-10000-terms.yaml"), selector).expect("write");
    // Output amplification: one 2 MB line with a hundred errors on it, and a 5,000-line resource
    // reported as a whole. The human report must not print the line a hundred times, nor the
    // resource in full.
    let nets: Vec<String> = (0..100).map(|i| format!("\"10.{i}.0.1/16\"")).collect();
    let one_line = format!(
        "{{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"GlobalNetworkPolicy\", \"metadata\": {{\"name\": \"long-line\"}}, \"spec\": {{\"types\": [\"Ingress\"], \"ingress\": [{{\"action\": \"Allow\", \"source\": {{\"nets\": [{}]}}}}], \"padding\": \"{}\"}}}}\n",
        nets.join(", "),
        "x".repeat(2_000_000)
    );
    std::fs::write(s.0.join("one-long-line.json"), one_line).expect("write");
    let many_lines: String = (0..5000)
        .map(|i| format!("    - 10.{}.{}.0/24\n", i / 250, i % 250))
        .collect();
    std::fs::write(
        s.0.join("long-resource.yaml"),
        format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nspec:\n  nets:\n{many_lines}"
        ),
    )
    .expect("write");
    // Terminal escape sequences in a file name and in its content must not reach the human
    // report.
    std::fs::write(
        s.0.join("esc-\u{1b}[31m.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: Esc}\nspec:\n  \"\\e[2J\": 1\n",
    )
    .expect("write");
    // And one ordinary file, to show the rest of the tree is analyzed.
    std::fs::write(
        s.0.join("ordinary.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: Ordinary}\n",
    )
    .expect("write");

    let started = std::time::Instant::now();
    let (project, findings) = run(vec![s.0.clone()]);
    let elapsed = started.elapsed();
    let human = report::human::render(&project, &findings, false);
    assert!(
        human.len() < 2_000_000,
        "the human report of the monsters is {} bytes",
        human.len()
    );
    assert!(
        !human.contains('\u{1b}'),
        "an escape sequence reached the human report"
    );
    let by_file = listing(&project, &findings, &s.0);
    let text = render(&by_file);
    for name in [
        "one-long-line.json",
        "long-resource.yaml",
        "huge.yaml",
        "deep-sequence.yaml",
        "deep-mapping.yaml",
        "selector-10000-terms.yaml",
        "ordinary.yaml",
    ] {
        assert!(by_file.contains_key(name), "{name} not reported:\n{text}");
    }
    let huge = by_file
        .get("huge.yaml")
        .map(|v| v.join("\n"))
        .unwrap_or_default();
    assert!(
        huge.contains(&format!("{DEFAULT_MAX_FILE_SIZE}-byte limit")),
        "{huge}"
    );
    // The 100 MB file was never read into memory.
    assert!(
        (0..project.sources.len())
            .filter_map(|i| project.sources.get(calint::source::FileId(i)))
            .filter(|src| src.name.ends_with("huge.yaml"))
            .all(|src| src.text.is_empty()),
        "the 100 MB file was loaded"
    );
    assert!(
        elapsed.as_secs() < 60,
        "checking the monsters took {elapsed:?}"
    );
    insta::assert_snapshot!("generated_monsters_listing", text);
}

#[test]
fn problem_and_memory_bombs_are_capped_and_checked_in_linear_time() {
    let s = Scratch::new("bombs");
    // 100,000 duplicate keys (700 KB) and a set of 100,000 invalid networks (1.2 MB).
    let dups = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: dups}}\ndata:\n{}",
        "  k: v\n".repeat(100_000)
    );
    std::fs::write(s.0.join("duplicate-keys.yaml"), dups).expect("write");
    let nets: String = (0..100_000).map(|i| format!("    - x{i}\n")).collect();
    std::fs::write(
        s.0.join("invalid-nets.yaml"),
        format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {{name: n}}\nspec:\n  nets:\n{nets}"
        ),
    )
    .expect("write");
    // A 300 KB Kubernetes policy whose conversion (a rule per peer, each with every port)
    // would make 25 million port entries.
    let peers: String = (0..5000)
        .map(|i| format!("    - podSelector: {{matchLabels: {{a: b{i}}}}}\n"))
        .collect();
    let ports: String = (0..5000)
        .map(|i| format!("    - port: {}\n", 2 * i + 1))
        .collect();
    std::fs::write(
        s.0.join("k8s-conversion-product.yaml"),
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: k, namespace: s}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n{peers}    ports:\n{ports}"
        ),
    )
    .expect("write");
    let started = std::time::Instant::now();
    let (project, findings) = run(vec![s.0.clone()]);
    let elapsed = started.elapsed();
    let by_file = listing(&project, &findings, &s.0);
    assert_eq!(
        by_file
            .get("k8s-conversion-product.yaml")
            .cloned()
            .unwrap_or_default(),
        [
            "k8s-conversion-product.yaml: CAL002 8:5 converting this policy as Calico does makes \
          more than 100000 (peer, port) entries (5000 peers × 5000 ports in this rule); calint \
          does not analyze it"
        ]
    );
    for (name, more) in [
        ("duplicate-keys.yaml", 98_999),
        ("invalid-nets.yaml", 99_000),
    ] {
        let lines = by_file.get(name).cloned().unwrap_or_default();
        assert_eq!(lines.len(), 1001, "{name}");
        let last = lines.iter().find(|l| l.contains("more than 1000 problems"));
        assert!(
            last.is_some_and(|l| l.contains(&format!("the {more} from here on"))),
            "{name}: {last:?}"
        );
    }
    // Quadratic checks took minutes on such files.
    assert!(
        elapsed.as_secs() < 60,
        "checking the bombs took {elapsed:?}"
    );
}
