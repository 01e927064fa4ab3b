//! Synthetic GitOps tree generation, shared by the `gen-tree` example (benchmarks) and the
//! determinism test (`tests/determinism.rs`), which include this file with `#[path]`.
//!
//! The tree looks like a real multi-team cluster: a security tier with global deny lists and
//! a Pass, a platform tier with DNS and monitoring, and per namespace a default deny, one
//! policy per app (ingress from the app in front of it, egress to the one behind it, some
//! cross-namespace access), Kubernetes NetworkPolicies, network sets and Deployments.
//! Output is deterministic for given arguments.

#![allow(dead_code)]

use std::fmt::Write as _;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

const PORTS: [u16; 8] = [80, 443, 5432, 6379, 8080, 8443, 9090, 3000];

/// The files of a tree with about `policies` policies over `namespaces` namespaces, as
/// (relative path, text) pairs, and the number of policies written.
pub fn generate(policies: usize, namespaces: usize, seed: u64) -> (Vec<(String, String)>, usize) {
    generate_with(policies, namespaces, seed, None)
}

/// [`generate`], writing at most `workloads` Deployments (reachability groups), spread over
/// the namespaces.
pub fn generate_with(
    policies: usize,
    namespaces: usize,
    seed: u64,
    workloads: Option<usize>,
) -> (Vec<(String, String)>, usize) {
    let mut rng = Rng(seed);
    let per_ns_workloads = workloads.map(|w| w.div_ceil(namespaces.max(1)));
    let ns_count = namespaces.max(1);
    let mut files = Vec::new();

    let mut cluster = String::new();
    for (name, order) in [("security", 100), ("platform", 200)] {
        let _ = write!(
            cluster,
            "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: {name}\nspec:\n  order: {order}\n---\n"
        );
    }
    let _ = write!(
        cluster,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: blocklist\n  labels: {{feed: blocklist}}\nspec:\n  nets: [198.51.100.0/24, 203.0.113.0/24]\n---\n"
    );
    let _ = write!(
        cluster,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: deny-blocklist\nspec:\n  tier: security\n  order: 10\n  selector: all()\n  types: [Ingress, Egress]\n  ingress:\n    - action: Deny\n      source:\n        selector: feed == 'blocklist'\n    - action: Pass\n  egress:\n    - action: Deny\n      destination:\n        selector: feed == 'blocklist'\n    - action: Pass\n---\n"
    );
    let _ = write!(
        cluster,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: platform-dns\nspec:\n  tier: platform\n  order: 10\n  selector: all()\n  types: [Egress]\n  egress:\n    - action: Allow\n      protocol: UDP\n      destination:\n        selector: k8s-app == 'kube-dns'\n        namespaceSelector: projectcalico.org/name == 'kube-system'\n        ports: [53]\n    - action: Pass\n"
    );
    files.push(("cluster/base.yaml".to_string(), cluster));

    let per_ns = policies.saturating_sub(2).div_ceil(ns_count).max(2);
    let mut written = 2;
    for n in 0..ns_count {
        let ns = format!("team-{n:03}");
        let apps = per_ns - 1;
        let mut pol = String::new();
        let mut work = String::new();
        let _ = write!(
            work,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels: {{team: t{n}, tier: t{}}}\n---\n",
            n % 3
        );
        let _ = write!(
            pol,
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {ns}\nspec:\n  order: 2000\n  selector: all()\n  types: [Ingress, Egress]\n---\n"
        );
        written += 1;
        let _ = write!(
            pol,
            "apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: partners\n  namespace: {ns}\n  labels: {{role: partner}}\nspec:\n  nets: [192.0.2.{}/32]\n---\n",
            n % 250
        );
        for a in 0..apps {
            if written >= policies {
                break;
            }
            let app = format!("app{a}");
            let port = PORTS[rng.below(PORTS.len() as u64) as usize];
            let front = if a == 0 {
                "frontend".to_string()
            } else {
                format!("app{}", a - 1)
            };
            let back = format!("app{}", a + 1);
            let version = rng.below(3);
            if per_ns_workloads.is_none_or(|max| a < max) {
                let _ = write!(
                    work,
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  template:\n    metadata:\n      labels: {{app: {app}, version: v{}}}\n    spec:\n      containers:\n        - name: main\n          ports:\n            - {{name: http, containerPort: {port}}}\n---\n",
                    version
                );
            }
            if rng.below(10) == 0 {
                // A Kubernetes NetworkPolicy instead of a Calico one.
                let _ = write!(
                    pol,
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app: {app}}}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels: {{app: {front}}}\n      ports:\n        - port: {port}\n---\n"
                );
            } else {
                let order = [100, 100, 200, 300][rng.below(4) as usize];
                let other_ns = format!("team-{:03}", rng.below(ns_count as u64));
                let _ = write!(
                    pol,
                    "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  order: {order}\n  selector: app == '{app}'\n  types: [Ingress, Egress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        selector: app == '{front}'\n      destination:\n        ports: [{port}]\n    - action: Allow\n      protocol: TCP\n      source:\n        namespaceSelector: projectcalico.org/name == '{other_ns}'\n        selector: app in {{'app0', 'app1'}}\n      destination:\n        ports: [{port}]\n    - action: Deny\n      protocol: TCP\n      source:\n        nets: [10.{}.0.0/16]\n  egress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        selector: app == '{back}'\n    - action: Allow\n      protocol: TCP\n      destination:\n        selector: role == 'partner'\n        ports: [443]\n---\n",
                    rng.below(256)
                );
            }
            written += 1;
        }
        files.push((format!("{ns}/policies.yaml"), pol));
        files.push((format!("{ns}/workloads.yaml"), work));
    }
    (files, written)
}
