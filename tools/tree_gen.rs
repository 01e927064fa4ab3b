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

/// Which kind of tree to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Today's tree: few, simple rules ([`generate_with`]).
    Sparse,
    /// A platform team's tree ([`generate_dense`]).
    Dense,
    /// The dense tree in the subset network-config-analyzer 2.1.0 reads
    /// ([`generate_dense_nca`]): no tiers, integer orders.
    DenseNca,
}

/// Findings planted in a dense tree, by lint. Every other rule of the tree is built so the
/// analysis finds nothing about it (see [`generate_dense`]), so these are exact counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Planted {
    /// CAL110: a rule whose nets all lie in its notNets.
    pub unsatisfiable_rules: usize,
    /// CAL201: a rule covered by an earlier rule of its policy.
    pub shadowed_rules: usize,
    /// CAL202: a rule whose packets the `security` tier always denies first.
    pub decided_before: usize,
    /// CAL203: two policies with the same order whose rules overlap with different actions.
    pub conflicts: usize,
}

/// A generated tree.
pub struct Tree {
    /// (relative path, text) pairs.
    pub files: Vec<(String, String)>,
    pub policies: usize,
    pub planted: Planted,
}

/// A tree of the given profile (`workloads`: at most this many Deployments).
pub fn generate_profile(
    profile: Profile,
    policies: usize,
    namespaces: usize,
    seed: u64,
    workloads: Option<usize>,
) -> Tree {
    match profile {
        Profile::Sparse => {
            let (files, policies) = generate_with(policies, namespaces, seed, workloads);
            Tree {
                files,
                policies,
                planted: Planted::default(),
            }
        }
        Profile::Dense => generate_dense(policies, namespaces, seed, workloads),
        Profile::DenseNca => generate_dense_nca(policies, namespaces, seed, workloads),
    }
}

/// Hands out peer nets no other rule uses: the /28 blocks of 10.0.0.0/8 in order.
struct UniqueNets(u32);

impl UniqueNets {
    fn next(&mut self) -> String {
        let k = self.0;
        self.0 += 1;
        format!(
            "10.{}.{}.{}/28",
            (k >> 12) & 0xff,
            (k >> 4) & 0xff,
            (k & 0xf) << 4
        )
    }
}

/// Shared peer nets (never inside 10.0.0.0/8, where the unique nets live).
const SHARED_NETS: [&str; 6] = [
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "198.18.0.0/15",
    "172.20.4.0/24",
    "192.168.10.0/24",
];

/// Rule peer selectors: `in`, `has`, `!has`, `&&` and `starts with`.
const PEER_SELECTORS: [&str; 10] = [
    "role in {'frontend', 'backend'}",
    "has(monitoring)",
    "team starts with 't1'",
    "app starts with 'app1' && !has(debug)",
    "role == 'batch' && has(team)",
    "tier in {'web', 'api'} && version starts with 'v2'",
    "!has(canary) && role == 'api'",
    "team starts with 't2' && role in {'db', 'cache'}",
    "app ends with '-worker'",
    "version contains 'rc'",
];

/// GlobalNetworkPolicy selectors: always a positive condition on `env`, so endpoints
/// without the label are selected by no global policy.
const GLOBAL_SELECTORS: [&str; 6] = [
    "env == 'prod'",
    "env in {'prod', 'staging'}",
    "env starts with 'pr'",
    "env == 'dev' && has(team)",
    "env starts with 'st' && !has(legacy)",
    "has(env) && role in {'frontend', 'api'}",
];

const TCP_UDP: [&str; 2] = ["TCP", "UDP"];

/// One random rule. Its peer nets include a unique /28, so no other rule of the tree
/// matches all of its packets (the rule is never shadowed, decided earlier, or in conflict,
/// whatever the rest of the tree says); ports are 1-4 entries, some ranges.
fn dense_rule(rng: &mut Rng, nets: &mut UniqueNets, ingress: bool, global: bool) -> String {
    let action = match rng.below(20) {
        0 => "Log",
        1 => "Pass",
        2..=5 => "Deny",
        _ => "Allow",
    };
    let mut peer = String::new();
    let mut peer_nets = vec![nets.next()];
    for _ in 0..rng.below(3) {
        let n = SHARED_NETS[rng.below(SHARED_NETS.len() as u64) as usize].to_string();
        if !peer_nets.contains(&n) {
            peer_nets.push(n);
        }
    }
    let _ = writeln!(peer, "        nets: [{}]", peer_nets.join(", "));
    if rng.below(2) == 0 {
        let s = PEER_SELECTORS[rng.below(PEER_SELECTORS.len() as u64) as usize];
        let _ = writeln!(peer, "        selector: \"{s}\"");
    }
    if global && rng.below(4) == 0 {
        let _ = writeln!(
            peer,
            "        namespaceSelector: \"team starts with 't{}'\"",
            rng.below(10)
        );
    }
    let mut ports = Vec::new();
    for _ in 0..=rng.below(4) {
        let lo = 1024 + rng.below(30000) as u16;
        if rng.below(3) == 0 {
            ports.push(format!("'{lo}:{}'", lo + 1 + rng.below(500) as u16));
        } else {
            ports.push(lo.to_string());
        }
    }
    let proto = TCP_UDP[rng.below(2) as usize];
    let (src, dst) = if ingress {
        (peer, format!("        ports: [{}]\n", ports.join(", ")))
    } else {
        (
            String::new(),
            format!("{peer}        ports: [{}]\n", ports.join(", ")),
        )
    };
    let mut out = format!("    - action: {action}\n      protocol: {proto}\n");
    if !src.is_empty() {
        let _ = write!(out, "      source:\n{src}");
    }
    let _ = write!(out, "      destination:\n{dst}");
    out
}

fn dense_rules(rng: &mut Rng, nets: &mut UniqueNets, global: bool) -> (String, String) {
    let mut ingress = String::new();
    for _ in 0..3 + rng.below(10) {
        ingress.push_str(&dense_rule(rng, nets, true, global));
    }
    let mut egress = String::new();
    for _ in 0..2 + rng.below(5) {
        egress.push_str(&dense_rule(rng, nets, false, global));
    }
    (ingress, egress)
}

/// A dense tree: about 10% GlobalNetworkPolicies over three tiers (`security` and
/// `platform` with `defaultAction: Pass`, and `default`), selecting by `env`; namespaced
/// policies with 3-12 ingress and 2-6 egress rules, selectors with `in`, `has`, `!has`, `&&`,
/// `starts with`, `ends with`, `contains`, 1-4 ports per rule including ranges, 1-3 nets per
/// rule, Log and Pass actions.
///
/// Findings are planted (one set per 100 policies, see [`Planted`]); nothing else is a
/// finding, by construction: every random rule's peer nets include a /28 no other rule
/// mentions, global policies' selectors need an `env` label that no namespaced policy
/// requires, tiers before `default` pass what they do not decide, and no two policies that
/// may share an endpoint have the same order outside the planted conflicts.
pub fn generate_dense(
    policies: usize,
    namespaces: usize,
    seed: u64,
    workloads: Option<usize>,
) -> Tree {
    dense_tree(policies, namespaces, seed, workloads, false)
}

/// The dense tree ([`generate_dense`], same seed, same random draws, same rules, selectors,
/// ports, nets, actions, workloads and planted findings) written so that
/// network-config-analyzer 2.1.0 (`nca --sanity`) reads it, for the side-by-side benchmark:
///
/// * no `Tier` resources and no `tier:` field (NCA rejects the field): every policy is in
///   the `default` tier, and the GlobalNetworkPolicies lose their `security.`/`platform.`
///   name prefixes;
/// * integer orders: NCA's YAML loader keeps `0.5` as the string `"0.5"`, and sorting
///   policies then fails with "'<' not supported between instances of 'str' and 'int'"
///   (exit 7). Every order is the dense tree's times four (0.25 → 1, g.5 → 4g+2,
///   100 → 400, …), which keeps every comparison and every tie between two orders.
///
/// The planted findings are the same: the `security` tier's deny (order 1) is still
/// evaluated before everything it decides. What changes with the tiers is what a `Pass`
/// rule of a former `security`/`platform` policy does: it now skips to the profiles (Calico
/// and NCA agree: the default profiles allow) instead of to the next tier.
pub fn generate_dense_nca(
    policies: usize,
    namespaces: usize,
    seed: u64,
    workloads: Option<usize>,
) -> Tree {
    dense_tree(policies, namespaces, seed, workloads, true)
}

/// How a dense tree writes its tiers and orders: as Calico allows ([`generate_dense`]) or
/// as network-config-analyzer reads ([`generate_dense_nca`]).
struct DenseStyle {
    nca: bool,
}

impl DenseStyle {
    /// An order of the dense tree, given in quarters (`4` is 1.0).
    fn order(&self, quarters: usize) -> String {
        if self.nca {
            quarters.to_string()
        } else if quarters % 4 == 0 {
            (quarters / 4).to_string()
        } else {
            format!("{}.{}", quarters / 4, [0, 25, 5, 75][quarters % 4])
        }
    }
    /// The `tier:` line of a GlobalNetworkPolicy spec (with its newline), if written.
    fn tier_line(&self, tier: &str) -> String {
        if self.nca {
            String::new()
        } else {
            format!("  tier: {tier}\n")
        }
    }
    /// A policy's name in `tier` (Calico wants non-default tiers' policies prefixed).
    fn policy_name(&self, tier: &str, name: &str) -> String {
        if self.nca || tier == "default" {
            name.to_string()
        } else {
            format!("{tier}.{name}")
        }
    }
}

fn dense_tree(
    policies: usize,
    namespaces: usize,
    seed: u64,
    workloads: Option<usize>,
    nca: bool,
) -> Tree {
    let style = DenseStyle { nca };
    let mut rng = Rng(seed);
    let mut nets = UniqueNets(0);
    let ns_count = namespaces.max(1);
    let globals = (policies / 10).max(1);
    let plants = (policies / 100).max(1);
    let mut planted = Planted::default();
    let mut files = Vec::new();
    let mut written = 0;

    if !style.nca {
        let mut cluster = String::new();
        for (name, order) in [("security", 100), ("platform", 200)] {
            let _ = write!(
                cluster,
                "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: {name}\nspec:\n  order: {order}\n  defaultAction: Pass\n---\n"
            );
        }
        files.push(("cluster/tiers.yaml".to_string(), cluster));
    }
    let mut global = String::new();
    for g in 0..globals {
        let tier = ["security", "platform", "default"][g % 3];
        let selector = GLOBAL_SELECTORS[rng.below(GLOBAL_SELECTORS.len() as u64) as usize];
        let (ingress, egress) = dense_rules(&mut rng, &mut nets, true);
        // Orders x.5 never tie with the namespaced policies' integer orders.
        let name = style.policy_name(tier, &format!("global-{g:05}"));
        let tier_line = style.tier_line(tier);
        let order = style.order(4 * g + 2);
        let _ = write!(
            global,
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: {name}\nspec:\n{tier_line}  order: {order}\n  selector: \"{selector}\"\n  types: [Ingress, Egress]\n  ingress:\n{ingress}  egress:\n{egress}---\n"
        );
        written += 1;
    }
    // The planted CAL202 decider: the security tier denies TCP from 10.255.<k>.0/24 to
    // `env == 'planted'` endpoints before anything else is evaluated.
    let _ = write!(
        global,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: {}\nspec:\n{}  order: {}\n  selector: \"env == 'planted'\"\n  types: [Ingress]\n  ingress:\n    - action: Deny\n      protocol: TCP\n      source:\n        nets: [10.255.0.0/16]\n---\n",
        style.policy_name("security", "planted-deny"),
        style.tier_line("security"),
        style.order(1),
    );
    written += 1;
    files.push(("cluster/global-policies.yaml".to_string(), global));

    let namespaced = policies.saturating_sub(written).max(ns_count);
    let per_ns = namespaced.div_ceil(ns_count);
    let per_ns_workloads = workloads.map(|w| w.div_ceil(ns_count));
    for n in 0..ns_count {
        let ns = format!("team-{n:03}");
        let mut pol = String::new();
        let mut work = String::new();
        let _ = write!(
            work,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels: {{team: t{n}}}\n---\n"
        );
        let _ = write!(
            pol,
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {ns}\nspec:\n  order: {}\n  selector: all()\n  types: [Ingress, Egress]\n---\n",
            style.order(4 * 5000)
        );
        written += 1;
        for a in 0..per_ns.saturating_sub(1) {
            if written >= policies {
                break;
            }
            let app = format!("app{a}");
            let selector = match rng.below(4) {
                0 => format!("app == '{app}'"),
                1 => format!("app == '{app}' && version in {{'v1', 'v2'}}"),
                2 => format!("app == '{app}' && !has(canary)"),
                _ => format!("app starts with '{app}-'"),
            };
            let (ingress, egress) = dense_rules(&mut rng, &mut nets, false);
            let _ = write!(
                pol,
                "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  order: {}\n  selector: \"{selector}\"\n  types: [Ingress, Egress]\n  ingress:\n{ingress}  egress:\n{egress}---\n",
                style.order(4 * (100 + a))
            );
            written += 1;
            if per_ns_workloads.is_none_or(|max| a < max) {
                let env = ["prod", "staging", "dev", "preprod"][rng.below(4) as usize];
                let role = ["frontend", "backend", "api", "db"][rng.below(4) as usize];
                let _ = write!(
                    work,
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  template:\n    metadata:\n      labels: {{app: {app}, env: {env}, role: {role}, version: v{}}}\n    spec:\n      containers:\n        - name: main\n          ports:\n            - {{name: http, containerPort: 8080}}\n---\n",
                    rng.below(3)
                );
            }
        }
        files.push((format!("{ns}/policies.yaml"), pol));
        files.push((format!("{ns}/workloads.yaml"), work));
    }

    // The planted findings, in their own namespaces (one set per 100 policies).
    let (order_100, order_200, order_300) = (
        style.order(4 * 100),
        style.order(4 * 200),
        style.order(4 * 300),
    );
    for k in 0..plants {
        let ns = format!("planted-{k:03}");
        let net = |i: u32| format!("10.255.{}.{}/28", k % 256, i * 16);
        let (n1, n2, n3) = (net(0), net(1), net(2));
        let mut pol = String::new();
        let _ = write!(
            pol,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        );
        // CAL201 (rule 1 is covered by rule 0) and CAL110 (rule 2: nets inside notNets).
        let _ = write!(
            pol,
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: shadow\n  namespace: {ns}\nspec:\n  order: {order_100}\n  selector: app == 'shadow'\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        nets: [{n1}]\n    - action: Deny\n      protocol: TCP\n      source:\n        nets: [{n1}]\n        selector: role in {{'api', 'db'}}\n      destination:\n        ports: ['8000:8100']\n    - action: Allow\n      protocol: UDP\n      source:\n        nets: [{n2}]\n        notNets: [10.255.{}.0/24]\n---\n",
            k % 256
        );
        planted.shadowed_rules += 1;
        planted.unsatisfiable_rules += 1;
        // CAL202: the security tier denies these packets first.
        let _ = write!(
            pol,
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: decided\n  namespace: {ns}\nspec:\n  order: {order_200}\n  selector: env == 'planted' && app == 'decided'\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        nets: [{n3}]\n      destination:\n        ports: [443]\n---\n"
        );
        planted.decided_before += 1;
        // CAL203: same order, same endpoints, Allow against Deny on overlapping packets
        // (the Deny's are more, so conflict-a does not decide all of them: no CAL202).
        for (name, action, nets) in [
            ("conflict-a", "Allow", net(3)),
            ("conflict-b", "Deny", format!("{}, {}", net(3), net(4))),
        ] {
            let _ = write!(
                pol,
                "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  order: {order_300}\n  selector: app == 'conflict'\n  types: [Ingress]\n  ingress:\n    - action: {action}\n      protocol: TCP\n      source:\n        nets: [{nets}]\n      destination:\n        ports: [5432]\n---\n"
            );
        }
        planted.conflicts += 1;
        written += 4;
        files.push((format!("{ns}/policies.yaml"), pol));
    }
    Tree {
        files,
        policies: written,
        planted,
    }
}
