//! Synthetic GitOps tree generator for benchmarks: `cargo run --release --example gen-tree --
//! --policies 1000 --namespaces 50 --out /tmp/tree`.
//!
//! The tree looks like a real multi-team cluster: a security tier with global deny lists and
//! a Pass, a platform tier with DNS and monitoring, and per namespace a default deny, one
//! policy per app (ingress from the app in front of it, egress to the one behind it, some
//! cross-namespace access), Kubernetes NetworkPolicies, network sets and Deployments.
//! Output is deterministic for given arguments.

use std::fmt::Write as _;
use std::path::PathBuf;

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

struct Args {
    policies: usize,
    namespaces: usize,
    out: PathBuf,
    seed: u64,
    /// Write at most this many Deployments (reachability groups), spread over namespaces.
    workloads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        policies: 1000,
        namespaces: 50,
        out: PathBuf::from("generated-tree"),
        seed: 1,
        workloads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--policies" => a.policies = value.parse().map_err(|e| format!("--policies: {e}"))?,
            "--namespaces" => {
                a.namespaces = value.parse().map_err(|e| format!("--namespaces: {e}"))?
            }
            "--out" => a.out = PathBuf::from(value),
            "--seed" => a.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--workloads" => {
                a.workloads = Some(value.parse().map_err(|e| format!("--workloads: {e}"))?)
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

const PORTS: [u16; 8] = [80, 443, 5432, 6379, 8080, 8443, 9090, 3000];

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let mut rng = Rng(args.seed);
    let ns_count = args.namespaces.max(1);
    let io = |e: std::io::Error| e.to_string();
    std::fs::create_dir_all(args.out.join("cluster")).map_err(io)?;

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
    std::fs::write(args.out.join("cluster/base.yaml"), cluster).map_err(io)?;

    let per_ns = args.policies.saturating_sub(2).div_ceil(ns_count).max(2);
    let mut written = 2;
    let per_ns_workloads = args.workloads.map(|w| w.div_ceil(ns_count));
    for n in 0..ns_count {
        let ns = format!("team-{n:03}");
        let dir = args.out.join(&ns);
        std::fs::create_dir_all(&dir).map_err(io)?;
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
            if written >= args.policies {
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
        std::fs::write(dir.join("policies.yaml"), pol).map_err(io)?;
        std::fs::write(dir.join("workloads.yaml"), work).map_err(io)?;
    }
    eprintln!(
        "wrote {written} policies in {ns_count} namespaces to {}",
        args.out.display()
    );
    Ok(())
}
