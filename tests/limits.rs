//! The limits of `CheckOptions`: each hit is a finding with a location, and the rest of the
//! tree is still analyzed. (File size, nesting and alias limits are also exercised by
//! `tests/bad_input.rs`.)

use calint::analysis::{Analysis, AnalysisOptions};
use calint::check::{CheckOptions, check_text};
use calint::finding::Finding;
use calint::load::yaml::ParseLimits;
use calint::model::selector::SelectorLimits;
use calint::project::Project;
use calint::report;

/// Three policies in evaluation order c (100), a (200), b (300); b has a shadowed rule.
const POLICIES: &str = "apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: b, namespace: shop}
spec:
  order: 300
  selector: app == 'web'
  types: [Ingress]
  ingress:
    - action: Deny
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: a, namespace: shop}
spec:
  order: 200
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: c, namespace: shop}
spec:
  order: 100
  selector: app == 'cache'
  types: [Ingress]
  ingress:
    - action: Allow
";

fn run(text: &str, opts: &CheckOptions) -> (Project, Vec<Finding>) {
    check_text("limits.yaml", text, opts)
}

/// [`run`], with the analysis the pipeline computed.
fn run_analyzed(text: &str, opts: &CheckOptions) -> (Project, Vec<Finding>, Analysis) {
    let run = calint::check::run_bytes("limits.yaml", text.as_bytes(), opts);
    let analysis = run.analysis.expect("analysis ran");
    (run.project, run.findings, analysis)
}

/// `CODE line:col message` per finding.
fn lines(project: &Project, findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let loc = report::line_location(project, f.location).expect("location");
            format!("{} {}:{} {}", f.code, loc.line, loc.column, f.message)
        })
        .collect()
}

fn with_budget(budget_ms: Option<u64>) -> CheckOptions {
    CheckOptions {
        analysis: Some(AnalysisOptions {
            budget_ms,
            ..AnalysisOptions::default()
        }),
        ..CheckOptions::default()
    }
}

#[test]
fn an_exhausted_analysis_budget_is_reported_once_at_the_first_policy_not_analyzed() {
    let (project, findings, a) = run_analyzed(POLICIES, &with_budget(Some(0)));
    let listing = lines(&project, &findings);
    let budget: Vec<&String> = listing.iter().filter(|l| l.starts_with("CAL007")).collect();
    assert_eq!(budget.len(), 1, "{listing:#?}");
    // Policy `c` (order 100) comes first in evaluation order: line 24 holds its name.
    assert!(budget[0].starts_with("CAL007 24:18 "), "{}", budget[0]);
    assert!(
        budget[0].contains("and 2 others were not fully analyzed"),
        "{}",
        budget[0]
    );
    let f = findings
        .iter()
        .find(|f| f.code == "CAL007")
        .expect("CAL007");
    assert_eq!(f.pointer.as_deref(), Some("/metadata/name"));
    // Nothing was analyzed, so no semantic finding; the skipped queries are undecided.
    assert!(!findings.iter().any(|f| f.code == "CAL201"), "{listing:#?}");
    let e = a.budget_exceeded.as_ref().expect("budget exceeded");
    assert_eq!((e.policies, e.budget_ms), (3, 0));
    assert!(a.undecided >= e.skipped_queries && e.skipped_queries >= 3);
    assert_eq!(a.solver_calls, 0);
    let json = report::json::render(&project, &findings);
    assert!(json.contains("\"undecided\": "), "{json}");

    // Validation is not affected by the budget.
    let (_, unlimited) = run(POLICIES, &with_budget(None));
    let validation = |fs: &[Finding]| {
        fs.iter()
            .filter(|f| f.code.starts_with("CAL00") && f.code != "CAL007")
            .count()
    };
    assert_eq!(validation(&findings), validation(&unlimited));
    assert!(unlimited.iter().any(|f| f.code == "CAL201"));
    assert!(!unlimited.iter().any(|f| f.code == "CAL007"));
    // The default budget is generous enough for this file.
    let (_, default) = run(POLICIES, &CheckOptions::default());
    assert!(!default.iter().any(|f| f.code == "CAL007"));
}

fn policy_with_selector(name: &str, selector: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
  order: 10
  selector: \"{selector}\"
  types: [Ingress]
  ingress:
    - action: Deny
    - action: Allow
"
    )
}

#[test]
fn a_selector_beyond_the_limits_is_reported_and_not_analyzed() {
    // 2000 terms in less than 16 KiB: the term limit.
    let many = vec!["a=='b'"; 2000].join("||");
    assert!(many.len() < 16 * 1024);
    let text = format!(
        "{}---\n{}",
        policy_with_selector("many", &many),
        policy_with_selector("few", "app == 'web'")
    );
    let (project, findings, a) = run_analyzed(&text, &CheckOptions::default());
    let listing = lines(&project, &findings);
    assert!(
        listing.contains(
            &"CAL002 6:13 selector not analyzed: selector has 2000 terms, more than calint's limit of 1024"
                .to_string()
        ),
        "{listing:#?}"
    );
    // Only the other policy is analyzed, and its shadowed rule is still found.
    assert_eq!(a.set.policies.len(), 1);
    let shadowed: Vec<&String> = listing.iter().filter(|l| l.starts_with("CAL201")).collect();
    assert_eq!(shadowed.len(), 1, "{listing:#?}");
    assert!(shadowed[0].starts_with("CAL201 21:15 "), "{}", shadowed[0]);

    // The limits are options: a tighter byte limit catches a short selector (without parsing
    // it), a looser term limit lets the long one through.
    let tight = CheckOptions {
        selector_limits: SelectorLimits {
            max_bytes: 8,
            ..SelectorLimits::default()
        },
        ..CheckOptions::default()
    };
    let (project, findings) = run(&policy_with_selector("few", "app == 'web'"), &tight);
    assert_eq!(
        lines(&project, &findings)
            .iter()
            .filter(|l| l.contains("selector is 12 bytes long, more than calint's limit of 8 bytes"))
            .count(),
        1
    );
    // (Calico v3.31 has no 1024-character cap, which would make the policy invalid.)
    let mut loose = CheckOptions {
        selector_limits: SelectorLimits {
            max_terms: 5000,
            ..SelectorLimits::default()
        },
        ..CheckOptions::default()
    };
    loose.validate.target = calint::validate::CalicoVersion::parse("3.31").expect("version");
    let (_, findings, a) = run_analyzed(&policy_with_selector("many", &many), &loose);
    assert!(!findings.iter().any(|f| f.message.contains("not analyzed")));
    assert_eq!(a.set.policies.len(), 1);
}

#[test]
fn parse_limits_are_options_too() {
    let text = "apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: t}
spec:
  order: 10
  x: &a [1, 2, 3]
  y: *a
  z: *a
  deep: [[[1]]]
";
    let opts = CheckOptions {
        parse_limits: ParseLimits {
            max_depth: 3,
            max_alias_nodes: 4,
            ..ParseLimits::default()
        },
        analysis: None,
        ..CheckOptions::default()
    };
    let (project, findings) = run(text, &opts);
    let listing = lines(&project, &findings);
    let cal001: Vec<&String> = listing.iter().filter(|l| l.starts_with("CAL001")).collect();
    assert_eq!(cal001.len(), 2, "{listing:#?}");
    assert!(
        cal001[0].starts_with("CAL001 8:6 alias expansion limit exceeded"),
        "{listing:#?}"
    );
    assert!(
        cal001[1].starts_with("CAL001 9:10 nesting deeper than 3 levels"),
        "{listing:#?}"
    );
}
