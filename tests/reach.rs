//! `calint reach` on the example tree: verdicts and deciding rules for the questions a
//! reviewer asks (allowed, denied, partial, port-specific, through a tier's Pass, by an
//! end-of-tier deny, by a Kubernetes NetworkPolicy, from the outside world, to a NetworkSet).

use std::process::Command;

fn reach(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .arg("reach")
        .arg("examples")
        .args(args)
        .output()
        .expect("calint runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// (name, arguments, expected verdict, a deciding rule or action that must be named)
const QUERIES: &[(&str, &[&str], &str, &str)] = &[
    (
        "frontend_backend_8080",
        &[
            "--from",
            "shop/frontend",
            "--to",
            "shop/backend",
            "--port",
            "8080",
        ],
        "allowed",
        "shop/backend-ingress",
    ),
    (
        "frontend_backend_any",
        &["--from", "shop/frontend", "--to", "shop/backend"],
        "partial",
        "end-of-tier-deny",
    ),
    (
        "backend_database_5432",
        &[
            "--from",
            "shop/backend",
            "--to",
            "shop/database",
            "--port",
            "5432",
        ],
        "allowed",
        "shop/database",
    ),
    (
        "frontend_database",
        &["--from", "shop/frontend", "--to", "shop/database"],
        "denied",
        "shop/database",
    ),
    (
        "world_frontend_8443",
        &["--from", "world", "--to", "shop/frontend", "--port", "8443"],
        "allowed",
        "shop/frontend",
    ),
    (
        "world_backend",
        &["--from", "world", "--to", "shop/backend"],
        "denied",
        "end-of-tier-deny",
    ),
    (
        "prometheus_backend_metrics",
        &[
            "--from",
            "monitoring/prometheus",
            "--to",
            "shop/backend",
            "--port",
            "9090",
        ],
        "allowed",
        "allow-scraping",
    ),
    (
        "frontend_prometheus_ui",
        &[
            "--from",
            "shop/frontend",
            "--to",
            "monitoring/prometheus",
            "--port",
            "9090",
        ],
        "allowed",
        "monitoring/prometheus-ui",
    ),
    (
        "backend_prometheus_ui",
        &[
            "--from",
            "shop/backend",
            "--to",
            "monitoring/prometheus",
            "--port",
            "9090",
        ],
        "denied",
        "end-of-tier-deny",
    ),
    (
        "backend_partners_443",
        &[
            "--from",
            "shop/backend",
            "--to",
            "set:shop/partners",
            "--port",
            "443",
        ],
        "allowed",
        "shop/backend",
    ),
    (
        "threat_feed_frontend",
        &["--from", "set:threat-feed", "--to", "shop/frontend"],
        "denied",
        "deny-blocklist",
    ),
    (
        "web_selector_database",
        &["--from", "shop/role == 'web'", "--to", "shop/database"],
        "partial",
        "shop/database",
    ),
    (
        "partner_range_frontend",
        &[
            "--from",
            "net:192.0.2.0/24",
            "--to",
            "shop/frontend",
            "--protocol",
            "TCP",
            "--port",
            "8443",
        ],
        "allowed",
        "shop/frontend",
    ),
];

#[test]
fn example_queries() {
    assert!(QUERIES.len() >= 10);
    for (name, args, verdict, decider) in QUERIES {
        let (code, json) = reach(&[args, &["--format", "json"][..]].concat());
        assert_eq!(code, 0, "{name}: {json}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["verdict"], *verdict, "{name}: {json}");
        let (_, human) = reach(args);
        assert!(
            human.contains(decider),
            "{name}: `{decider}` should decide:\n{human}"
        );
        insta::assert_snapshot!(format!("reach_{name}"), human);
    }
    insta::assert_snapshot!(
        "reach_json_frontend_backend_any",
        reach(&[
            "--from",
            "shop/frontend",
            "--to",
            "shop/backend",
            "--format",
            "json"
        ])
        .1
    );
}

#[test]
fn expect_sets_the_exit_code() {
    let (code, _) = reach(&[
        "--from",
        "world",
        "--to",
        "shop/backend",
        "--expect",
        "denied",
    ]);
    assert_eq!(code, 0);
    let (code, _) = reach(&[
        "--from",
        "world",
        "--to",
        "shop/backend",
        "--expect",
        "allowed",
    ]);
    assert_eq!(code, 1);
    let (code, _) = reach(&["--from", "nowhere/nothing ==", "--to", "shop/backend"]);
    assert_eq!(code, 2);
    let (code, _) = reach(&["--from", "set:missing", "--to", "shop/backend"]);
    assert_eq!(code, 2);
}

fn check_dir(dir: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["check", dir, "--color", "never"])
        .output()
        .expect("calint runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `.calint.yaml` assertions: failures are CAL301 findings at the assertion, with the
/// deciding rules; an assertion that cannot be evaluated is reported too.
#[test]
fn configured_assertions() {
    let (code, out) = check_dir("fixtures/assertions/fires");
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("error[CAL301]").count(), 3, "{out}");
    assert!(out.contains("unknown group `payments`"), "{out}");
    insta::assert_snapshot!("assertions_fires", out);
    let (code, out) = check_dir("fixtures/assertions/clean");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("CAL301"), "{out}");
}

/// Configured groups are names for `reach` and replace discovery in `graph`.
#[test]
fn configured_groups_in_reach_and_graph() {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args([
            "reach",
            "fixtures/assertions/clean",
            "--from",
            "internet",
            "--to",
            "db",
            "--format",
            "json",
        ])
        .output()
        .expect("calint runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["verdict"], "denied");
    assert_eq!(v["from"]["group"], "internet");
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(["graph", "fixtures/assertions/clean", "--format", "json"])
        .output()
        .expect("calint runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["internet", "db"]);
}
