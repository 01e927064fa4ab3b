//! Random policy *trees* (YAML text) for the differential test: the whole pipeline from text
//! (lowering, validation, admission, compilation) to verdicts. Besides what the IR-level
//! generator covers, the trees hold what only exists in resources: GlobalNetworkPolicies with
//! the host-endpoint flags (`doNotTrack`, `preDNAT`, `applyOnForward`), policy-level
//! `namespaceSelector` / `serviceAccountSelector` (with `all()`), staged policies with every
//! `stagedAction`, duplicate definitions and invalid tiers.
//!
//! Each generated tree comes with the generator's own expectation of what Calico keeps
//! ([`Expect`]): which definitions survive, each policy's list (class), its selector as
//! Calico's *textual* rewrite produces it, and the tiers' settings. The test checks the
//! compiled set against it, then the solver against enumeration over [`universe`].
//!
//! To add a construct: emit it in [`tree`], record what Calico does with it in [`Expect`],
//! and make sure [`universe`] has the labels it distinguishes.

use super::common::Gen;
use calint::analysis::ir::PolicyClass;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the generator expects Calico to keep of one policy.
#[derive(Clone, Debug)]
pub struct ExpPolicy {
    pub class: PolicyClass,
    /// The selector the policy applies to, built as Calico builds it: text joined with
    /// `&&` and `all()` replaced textually (§3.7.2).
    pub selector: String,
    pub staged: bool,
    pub tier: &'static str,
    pub ingress: bool,
    pub egress: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Surviving policies by (kind, name).
    pub policies: BTreeMap<(&'static str, String), ExpPolicy>,
    /// Whether tier `t1` is defined (its Tier resource valid), and its default action.
    pub t1_defined: bool,
    pub t1_pass: bool,
}

const NS: &str = "ns";

/// `pcns.`/`pcsa.` prefixing of the few selectors generated (what Calico's `PrefixVisitor`
/// does to them).
fn prefixed(sel: &str, prefix: &str) -> String {
    match sel {
        "all()" => "all()".into(),
        "a == 'x'" => format!("{prefix}a == 'x'"),
        "!has(a)" => format!("!has({prefix}a)"),
        "has(a)" => format!("has({prefix}a)"),
        other => panic!("add `{other}` to prefixed()"),
    }
}

fn join(s: &str, part: &str) -> String {
    if s.is_empty() {
        part.to_string()
    } else {
        format!("({s}) && ({part})")
    }
}

fn rule(g: &mut Gen, out: &mut String, ingress: bool) {
    let action = *g.pick(&["Allow", "Allow", "Deny", "Deny", "Pass", "Log"]);
    let _ = writeln!(out, "    - action: {action}");
    let proto = *g.pick(&["", "TCP", "TCP", "UDP"]);
    if !proto.is_empty() {
        let _ = writeln!(out, "      protocol: {proto}");
    }
    let peer = if ingress { "source" } else { "destination" };
    let mut peer_fields = Vec::new();
    if g.chance(40) {
        peer_fields.push(format!(
            "selector: \"{}\"",
            g.pick(&["a == 'x'", "has(a)", "!has(a)", "a == 'x' && !has(a)"])
        ));
    }
    if g.chance(25) {
        peer_fields.push("nets: [10.0.0.0/8]".to_string());
    }
    let ports = !proto.is_empty() && g.chance(50);
    let port_text = if ports {
        let lo = 1 + g.below(3);
        let hi = lo + g.below(4 - lo);
        if lo == hi {
            format!("{lo}")
        } else {
            format!("\"{lo}:{hi}\"")
        }
    } else {
        String::new()
    };
    if ingress {
        if !peer_fields.is_empty() {
            let _ = writeln!(out, "      {peer}: {{{}}}", peer_fields.join(", "));
        }
        if ports {
            let _ = writeln!(out, "      destination: {{ports: [{port_text}]}}");
        }
    } else {
        if ports {
            peer_fields.push(format!("ports: [{port_text}]"));
        }
        if !peer_fields.is_empty() {
            let _ = writeln!(out, "      {peer}: {{{}}}", peer_fields.join(", "));
        }
    }
}

/// One random tree and what Calico keeps of it.
pub fn tree(seed: u64) -> (String, Expect) {
    let mut g = Gen(seed);
    let mut out = String::new();
    let mut expect = Expect::default();
    // Tier t1: valid, or invalid (an unknown field): an invalid tier's settings never apply.
    let t1_pass = g.chance(40);
    let t1_valid = g.chance(70);
    let _ = write!(
        out,
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: t1}}\nspec: {{order: 10, defaultAction: {}{}}}\n---\n",
        if t1_pass { "Pass" } else { "Deny" },
        if t1_valid { "" } else { ", bogus: 1" }
    );
    expect.t1_defined = t1_valid;
    expect.t1_pass = t1_valid && t1_pass;
    // An invalid `default` tier (defaultAction must be Deny): its Pass must not apply.
    if g.chance(20) {
        out.push_str("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\nspec: {order: 1000000, defaultAction: Pass}\n---\n");
    }
    let n = 1 + g.below(4);
    for _ in 0..n {
        let global = g.chance(65);
        let staged = g.chance(15);
        let kind: &'static str = match (global, staged) {
            (true, false) => "GlobalNetworkPolicy",
            (true, true) => "StagedGlobalNetworkPolicy",
            (false, false) => "NetworkPolicy",
            (false, true) => "StagedNetworkPolicy",
        };
        // Few names, so duplicates are common.
        let name = format!("p{}", g.below(3));
        let tier = *g.pick::<&'static str>(&["default", "default", "t1"]);
        let staged_action = if staged {
            *g.pick(&["", "Set", "Learn", "Ignore", "Delete"])
        } else {
            ""
        };
        let _ = writeln!(out, "apiVersion: projectcalico.org/v3\nkind: {kind}");
        if global {
            let _ = writeln!(out, "metadata: {{name: {name}}}");
        } else {
            let _ = writeln!(out, "metadata: {{name: {name}, namespace: {NS}}}");
        }
        out.push_str("spec:\n");
        if tier != "default" {
            let _ = writeln!(out, "  tier: {tier}");
        }
        if staged_action == "Delete" {
            out.push_str("  stagedAction: Delete\n---\n");
            // Not sent to Felix: the definition (which replaces an earlier one) is gone.
            expect.policies.remove(&(kind, name));
            continue;
        }
        if !staged_action.is_empty() {
            let _ = writeln!(out, "  stagedAction: {staged_action}");
        }
        if let Some(o) = g.pick(&[None, Some(1), Some(1), Some(2)]) {
            let _ = writeln!(out, "  order: {o}");
        }
        let selector = *g.pick(&[
            "",
            "all()",
            "a == 'x'",
            "has(a)",
            "!has(a)",
            "!has(projectcalico.org/namespace)",
        ]);
        // Always written: a `spec:` left empty is a null spec, which calint rejects (CAL002).
        let _ = writeln!(out, "  selector: \"{selector}\"");
        let mut calico_selector = selector.to_string();
        let mut class = PolicyClass::Normal;
        let mut pre_dnat = false;
        if global {
            if g.chance(35) {
                let ns = *g.pick(&["all()", "all()", "a == 'x'", "!has(a)"]);
                let _ = writeln!(out, "  namespaceSelector: \"{ns}\"");
                calico_selector = join(&calico_selector, &prefixed(ns, "pcns."))
                    .replace("all()", "has(projectcalico.org/namespace)");
            }
            if g.chance(25) {
                let sa = *g.pick(&["all()", "all()", "a == 'x'"]);
                let _ = writeln!(out, "  serviceAccountSelector: \"{sa}\"");
                calico_selector = join(&calico_selector, &prefixed(sa, "pcsa."))
                    .replace("all()", "has(projectcalico.org/serviceaccount)");
            }
            match g.below(7) {
                0 | 1 => {
                    out.push_str("  doNotTrack: true\n  applyOnForward: true\n");
                    class = PolicyClass::DoNotTrack;
                }
                2 => {
                    out.push_str("  preDNAT: true\n  applyOnForward: true\n");
                    class = PolicyClass::PreDnat;
                    pre_dnat = true;
                }
                3 => {
                    out.push_str("  applyOnForward: true\n");
                    class = PolicyClass::ApplyOnForward;
                }
                _ => {}
            }
        } else {
            calico_selector = join(&calico_selector, "projectcalico.org/namespace == 'ns'");
        }
        if calico_selector.is_empty() {
            calico_selector = "all()".into();
        }
        let n_in = g.below(4);
        let n_out = if pre_dnat { 0 } else { g.below(4) };
        let (mut ingress, mut egress) = (n_in > 0 || n_out == 0, n_out > 0);
        if g.chance(60) {
            let types: &[&str] = if pre_dnat {
                &["[Ingress]"]
            } else {
                &["[Ingress]", "[Egress]", "[Ingress, Egress]"]
            };
            let t = *g.pick(types);
            let _ = writeln!(out, "  types: {t}");
            ingress = t.contains("Ingress");
            egress = t.contains("Egress");
        }
        if n_in > 0 {
            out.push_str("  ingress:\n");
            for _ in 0..n_in {
                rule(&mut g, &mut out, true);
            }
        }
        if n_out > 0 {
            out.push_str("  egress:\n");
            for _ in 0..n_out {
                rule(&mut g, &mut out, false);
            }
        }
        out.push_str("---\n");
        // A later definition of the same kind and name replaces the earlier one.
        expect.policies.insert(
            (kind, name),
            ExpPolicy {
                class,
                selector: calico_selector,
                staged,
                tier,
                ingress,
                egress,
            },
        );
    }
    (out, expect)
}

/// Label maps of endpoints: `a`, the namespace and service-account labels, and one
/// namespace / service-account label each, in every combination the trees distinguish (each
/// label absent, with each value the generated selectors name, and with another value).
pub fn local_label_maps() -> Vec<BTreeMap<String, String>> {
    let mut maps = vec![BTreeMap::new()];
    // Every label: absent, each value a selector names, and one value no selector names.
    let dims: [(&str, &[&str]); 5] = [
        ("a", &["x", "y"]),
        ("projectcalico.org/namespace", &[NS, "other"]),
        ("pcns.a", &["x", "y"]),
        ("projectcalico.org/serviceaccount", &["sa"]),
        ("pcsa.a", &["x", "y"]),
    ];
    for (k, values) in dims {
        let mut next = Vec::new();
        for m in &maps {
            next.push(m.clone());
            for v in values {
                let mut m = m.clone();
                m.insert(k.to_string(), v.to_string());
                next.push(m);
            }
        }
        maps = next;
    }
    maps
}
