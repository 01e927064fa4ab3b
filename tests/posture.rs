//! `calint exposure`, `calint paths` and `no-path` assertions on the example tree and on
//! `fixtures/posture/chain` (world -> shop/frontend -> shop/backend -> payments/db).

use std::process::Command;

fn calint(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .args(args)
        .output()
        .expect("calint runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out) = calint(args);
    assert!(code == 0 || code == 1, "{args:?}: exit {code}\n{out}");
    serde_json::from_str(&out).expect("JSON output")
}

const CHAIN: &str = "fixtures/posture/chain";

/// The 3-hop path exists while the direct flow is denied.
#[test]
fn three_hop_path_while_direct_flow_is_denied() {
    let v = json(&[
        "reach",
        CHAIN,
        "--from",
        "world",
        "--to",
        "payments/db",
        "--format",
        "json",
    ]);
    assert_eq!(v["verdict"], "denied");
    let v = json(&[
        "paths",
        CHAIN,
        "--from",
        "world",
        "--to",
        "payments/db",
        "--format",
        "json",
    ]);
    let first = &v["paths"][0];
    assert_eq!(
        first["groups"],
        serde_json::json!(["world", "shop/frontend", "shop/backend", "payments/db"])
    );
    let allowed: Vec<&str> = first["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["allowed"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(allowed, ["TCP 443", "TCP 8080", "TCP 5432"]);
    // Every hop names the ingress rule that accepts it.
    for hop in first["hops"].as_array().expect("hops") {
        assert!(
            hop["decided_by"]
                .as_array()
                .expect("decided_by")
                .iter()
                .any(|d| d["direction"] == "ingress" && d["action"] == "Allow"),
            "{hop}"
        );
    }
    // Within two hops there is none.
    let (code, out) = calint(&[
        "paths",
        CHAIN,
        "--from",
        "world",
        "--to",
        "payments/db",
        "--max-hops",
        "2",
        "--expect-none",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("no path from world to payments/db within 2 hops"),
        "{out}"
    );
    let (code, _) = calint(&[
        "paths",
        CHAIN,
        "--from",
        "world",
        "--to",
        "payments/db",
        "--expect-none",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(
        "paths_chain_json",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    );
    let (_, human) = calint(&["paths", CHAIN, "--from", "world", "--to", "payments/db"]);
    insta::assert_snapshot!("paths_chain_human", human);
    let (_, dot) = calint(&[
        "paths",
        CHAIN,
        "--from",
        "world",
        "--to",
        "payments/db",
        "--format",
        "dot",
    ]);
    insta::assert_snapshot!("paths_chain_dot", dot);
}

/// One `no-path` assertion holds (max-hops 2), the other fails with the path in the message.
#[test]
fn no_path_assertions() {
    let (code, out) = calint(&["check", CHAIN, "--color", "never"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("error[CAL301]").count(), 1, "{out}");
    assert!(
        out.contains("world -> shop/frontend -> shop/backend -> payments/db (3 hops)"),
        "{out}"
    );
    assert!(
        out.contains(".calint.yaml:10:5"),
        "located at the failing assertion:\n{out}"
    );
    insta::assert_snapshot!("no_path_assertions", out);
}

/// Exposure of every example workload, in every format.
#[test]
fn exposure_of_the_example_tree() {
    let v = json(&["exposure", "examples", "--format", "json"]);
    let groups: Vec<&str> = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .map(|w| w["group"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        groups,
        [
            "monitoring/prometheus",
            "shop/backend",
            "shop/database",
            "shop/frontend"
        ]
    );
    let frontend = &v["workloads"][3];
    assert_eq!(frontend["ingress"]["policied"], true);
    assert_eq!(frontend["ingress"]["from_world"], "TCP 8443");
    assert_eq!(frontend["egress"]["to_world"], "");
    let db = &v["workloads"][2];
    assert_eq!(db["ingress"]["from_world"], "");
    assert_eq!(db["ingress"]["from_any_pod"], "TCP 5432");
    insta::assert_snapshot!(
        "exposure_examples_json",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    );
    for format in ["human", "markdown", "html"] {
        let (code, out) = calint(&["exposure", "examples", "--format", format]);
        assert_eq!(code, 0, "{out}");
        insta::assert_snapshot!(format!("exposure_examples_{format}"), out);
    }
}

/// Exposure on the chain fixture: an unpoliced direction shows as such.
#[test]
fn exposure_of_the_chain_fixture() {
    let v = json(&["exposure", CHAIN, "--format", "json"]);
    let frontend = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["group"] == "shop/frontend")
        .expect("frontend")
        .clone();
    assert_eq!(frontend["ingress"]["from_world"], "TCP 443");
    assert_eq!(frontend["ingress"]["from_other_namespaces"], "TCP 443");
    let db = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["group"] == "payments/db")
        .expect("db")
        .clone();
    assert_eq!(db["ingress"]["from_world"], "");
    assert_eq!(db["ingress"]["from_other_namespaces"], "TCP 5432");
    assert_eq!(db["egress"]["to_world"], "");
}

/// Same output whatever the number of threads.
#[test]
fn exposure_and_paths_are_deterministic() {
    let run = |threads: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_calint"))
            .args(args)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("calint runs");
        out.stdout
    };
    for args in [
        &["exposure", "examples", "--format", "json"][..],
        &[
            "paths",
            "examples",
            "--from",
            "world",
            "--to",
            "shop/database",
            "--format",
            "json",
        ][..],
    ] {
        assert_eq!(run("1", args), run("4", args), "{args:?}");
    }
}
