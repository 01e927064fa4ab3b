//! Issue 13, items 3, 4, 5 and 10 and the messages the review called noise: each case runs
//! the binary on a tree under `fixtures/issue13/`, asserts the point directly (a finding
//! that must fire, a near miss that must not) and snapshots the output.

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

fn check_json(dir: &str, extra: &[&str]) -> serde_json::Value {
    let (_, out) = calint(&[&["check", dir, "--format", "json"][..], extra].concat());
    serde_json::from_str(&out).expect("JSON report")
}

fn check_human(dir: &str, extra: &[&str]) -> String {
    calint(&[&["check", dir, "--color", "never"][..], extra].concat()).1
}

fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["pointer"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn reach(dir: &str, args: &[&str]) -> String {
    calint(&[&["reach", dir][..], args].concat()).1
}

const ITEM3: &str = "fixtures/issue13/item3-k8s-pieces";

/// Item 3: findings on split Kubernetes rules name the peer (or protocol part) they are
/// about; a rule is reported whole only when every piece qualifies; never "by itself".
#[test]
fn item3_split_kubernetes_rules() {
    let report = check_json(&format!("{ITEM3}/fires"), &[]);
    let got = findings(&report);
    let pointers: Vec<(&str, &str)> = got
        .iter()
        .map(|(c, p, _)| (c.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        pointers,
        // Every covering rule here is an Allow like the covered one: redundant (CAL204, the
        // same-action class of issue 15), not shadowed (CAL201).
        vec![
            ("CAL204", "/spec/ingress/1/from/0"),
            ("CAL204", "/spec/ingress/2/from/1"),
            ("CAL110", "/spec/ingress/3/from/0"),
            ("CAL204", "/spec/ingress/1/ports/1"),
            ("CAL204", "/spec/ingress/1"),
        ],
        "{got:#?}"
    );
    for (_, pointer, message) in &got {
        // A rule is never covered by itself.
        assert!(
            !message.contains(&format!("earlier rule {pointer} ")),
            "{message}"
        );
    }
    assert!(
        got[1]
            .2
            .contains("peer /spec/ingress/2/from/0 of the same rule")
    );
    assert!(
        got[3]
            .2
            .starts_with("the UDP part of this rule is redundant")
    );
    assert!(got[4].2.starts_with("rule is redundant"));
    insta::assert_snapshot!(
        "item3_fires_human",
        check_human(&format!("{ITEM3}/fires"), &[])
    );
    insta::assert_json_snapshot!("item3_fires_json", report["findings"]);

    let near = check_json(&format!("{ITEM3}/near-miss"), &[]);
    assert_eq!(findings(&near), Vec::new());
}

/// Item 4: no defaulted-types advice on a staged Delete.
#[test]
fn item4_staged_delete_has_no_types_advice() {
    let dir = "fixtures/issue13/item4-staged-delete";
    let fires = findings(&check_json(&format!("{dir}/fires"), &[]));
    assert!(fires.iter().any(|(c, _, _)| c == "CAL101"), "{fires:?}");
    let near = findings(&check_json(&format!("{dir}/near-miss"), &[]));
    assert!(near.iter().all(|(c, _, _)| c != "CAL101"), "{near:?}");
}

/// Item 5: an address in a HostEndpoint's expectedIPs is that host endpoint as a peer.
#[test]
fn item5_host_endpoint_expected_ips_are_labelled_peers() {
    let dir = "fixtures/issue13/item5-hep-peers";
    let allowed = reach(
        dir,
        &[
            "--from",
            "net:10.1.0.5",
            "--to",
            "data/postgres",
            "--port",
            "22",
        ],
    );
    assert!(
        allowed
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(": allowed"),
        "{allowed}"
    );
    assert!(allowed.contains("{role=bastion} 10.1.0.5:"), "{allowed}");
    insta::assert_snapshot!("item5_hep_allowed", allowed);
    // Near miss: the next address is no host endpoint.
    let denied = reach(
        dir,
        &[
            "--from",
            "net:10.1.0.6",
            "--to",
            "data/postgres",
            "--port",
            "22",
        ],
    );
    assert!(
        denied
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(": denied"),
        "{denied}"
    );
    // A range holding the host endpoint's address is partly allowed.
    let range = reach(
        dir,
        &[
            "--from",
            "net:10.1.0.0/24",
            "--to",
            "data/postgres",
            "--port",
            "22",
        ],
    );
    assert!(
        range
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(": partial"),
        "{range}"
    );
}

/// Item 10: every namespace carries `kubernetes.io/metadata.name`, in `reach` and in the
/// solver.
#[test]
fn item10_namespace_name_label() {
    let dir = "fixtures/issue13/item10-namespace-name";
    let allowed = reach(
        &format!("{dir}/fires"),
        &[
            "--from",
            "shop/web",
            "--to",
            "db/postgres",
            "--port",
            "5432",
        ],
    );
    assert!(
        allowed
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(": allowed"),
        "{allowed}"
    );
    assert!(
        allowed.contains("pcns.kubernetes.io/metadata.name=shop"),
        "{allowed}"
    );
    insta::assert_snapshot!("item10_reach_allowed", allowed);
    let denied = reach(
        &format!("{dir}/fires"),
        &[
            "--from",
            "ops/intruder",
            "--to",
            "db/postgres",
            "--port",
            "5432",
        ],
    );
    assert!(
        denied
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(": denied"),
        "{denied}"
    );
    // The fixture's pods have no ingress policy of their own: CAL310 (unisolated-workload,
    // issue 10) says so, correctly, and is not what this item is about.
    let fires = findings(&check_json(
        &format!("{dir}/fires"),
        &["--rule", "CAL310=off"],
    ));
    assert_eq!(
        fires
            .iter()
            .map(|(c, p, _)| (c.as_str(), p.as_str()))
            .collect::<Vec<_>>(),
        vec![("CAL111", "/spec/selector")],
        "{fires:?}"
    );
    let near = findings(&check_json(
        &format!("{dir}/near-miss"),
        &["--rule", "CAL310=off"],
    ));
    assert_eq!(near, Vec::new());
}

/// The same rule is never reached and in an order conflict: one finding with both facts,
/// saying that only the names order the two policies; examples use documentation addresses.
#[test]
fn noise_cal202_and_cal203_become_one_finding() {
    let dir = "fixtures/issue13/noise-202-203";
    let got = findings(&check_json(dir, &[]));
    assert_eq!(got.len(), 1, "{got:#?}");
    let (code, pointer, message) = &got[0];
    assert_eq!(
        (code.as_str(), pointer.as_str()),
        ("CAL202", "/spec/ingress/0")
    );
    assert!(message.contains("only the names decide"), "{message}");
    assert!(message.contains("order conflict (CAL203)"), "{message}");
    assert!(message.contains("at 192.0.2.10 port"), "{message}");
    assert!(
        !message.contains("0.0.0.0") && !message.contains("0.0.0.1"),
        "{message}"
    );
    insta::assert_snapshot!("noise_202_203_human", check_human(dir, &[]));
    // With CAL202 off, the conflict is still reported, by CAL203.
    let alone = findings(&check_json(dir, &["--rule", "CAL202=off"]));
    assert_eq!(
        alone
            .iter()
            .map(|(c, p, _)| (c.as_str(), p.as_str()))
            .collect::<Vec<_>>(),
        vec![("CAL203", "/spec/ingress/0")],
        "{alone:#?}"
    );
}

/// CAL110 names the implicit namespace scope rather than a `source.selector` the rule lacks.
#[test]
fn noise_cal110_names_the_implicit_namespace_scope() {
    let all = findings(&check_json("fixtures/issue13/noise-110-scope", &[]));
    // The same rule is also the W-01 pitfall (CAL120, issue 15): both findings, once each.
    let codes: Vec<&str> = all.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(codes, vec!["CAL110", "CAL120"], "{all:#?}");
    let got: Vec<_> = all.iter().filter(|(c, _, _)| c == "CAL110").collect();
    let message = &got[0].2;
    assert!(message.contains("implicit namespace scope"), "{message}");
    assert!(!message.contains("source.selector"), "{message}");
}

/// The ipVersion error on `notProtocol` names `notProtocol`.
#[test]
fn noise_not_protocol_error_names_its_field() {
    let got = findings(&check_json("fixtures/issue13/noise-notprotocol", &[]));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0]
            .2
            .starts_with("notProtocol ICMPv6 requires ipVersion 6"),
        "{got:?}"
    );
}

/// Under v3.31, a bad name that also lacks the tier prefix is one CAL002 with a valid fix.
#[test]
fn noise_one_cal002_for_one_bad_name() {
    let got = findings(&check_json(
        "fixtures/issue13/noise-tier-name",
        &["--calico-version", "3.31"],
    ));
    let on_name: Vec<_> = got
        .iter()
        .filter(|(c, p, _)| c == "CAL002" && p == "/metadata/name")
        .collect();
    assert_eq!(on_name.len(), 1, "{got:#?}");
    let human = check_human(
        "fixtures/issue13/noise-tier-name",
        &["--calico-version", "3.31"],
    );
    assert!(human.contains("help: try `security.bad-name`"), "{human}");
}

/// `reach` output: the assumed protocol in the header, `pcns.*` labels shown, real
/// namespace names, documentation addresses, and decision lines that say what happened.
#[test]
fn noise_reach_output() {
    let dir = "fixtures/issue13/item10-namespace-name/fires";
    let out = reach(
        dir,
        &[
            "--from",
            "app == 'web'",
            "--to",
            "db/postgres",
            "--port",
            "5432",
        ],
    );
    let header = out.lines().next().unwrap_or_default();
    assert!(
        header.contains("on TCP port 5432 (TCP assumed: --port without --protocol)"),
        "{out}"
    );
    // The denied example comes from a namespace no policy names: a real one is shown.
    assert!(out.contains("projectcalico.org/namespace=ops"), "{out}");
    assert!(!out.contains("=other"), "{out}");
    assert!(
        out.contains("192.0.2.10:") && out.contains("198.51.100.20:5432"),
        "{out}"
    );
    assert!(!out.contains("0.0.0.0"), "{out}");
    assert!(
        out.contains("[denied example] egress no-policy-allow: no policy applies to the source in this direction (allowed)"),
        "{out}"
    );
    assert!(!out.contains("no-policy-allow: \n"), "{out}");
    insta::assert_snapshot!("noise_reach_selector_group", out);
}
