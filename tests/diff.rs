//! `calint diff` end to end: git repositories built in temporary directories, one change
//! each, and the report's reachability changes and findings checked.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const APPS: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: frontend
  namespace: shop
  labels: {app: frontend}
spec:
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: backend
  namespace: shop
  labels: {app: backend}
spec:
  containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: shop
  labels: {app: db}
spec:
  containers: [{name: c, image: x}]
";

/// The database accepts the backend on `ports`; everything else to it is denied.
fn db_policy(name: &str, sources: &str, ports: &str) -> String {
    format!(
        "\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: shop
spec:
  order: 100
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: {sources}
      destination:
        ports: {ports}
"
    )
}

fn tiers(first: u32, second: u32) -> String {
    format!(
        "\
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: first
spec:
  order: {first}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: second
spec:
  order: {second}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: first.allow-fe
spec:
  tier: first
  order: 10
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: app == 'frontend'
      destination:
        ports: [8080]
    - action: Pass
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: second.deny-fe
spec:
  tier: second
  order: 10
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Deny
      source:
        selector: app == 'frontend'
    - action: Pass
"
    )
}

struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let dir = std::env::temp_dir().join(format!("calint-diff-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let r = Repo { dir };
        r.git(&["init", "-q"]);
        r
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .current_dir(&self.dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .args([
                "-c",
                "user.name=calint",
                "-c",
                "user.email=calint@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.join(path)).expect("remove");
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Run `calint diff ARGS --format json` in the repository: (exit code, report).
    fn diff(&self, args: &[&str]) -> (i32, Value) {
        let out = self.run(args, "json");
        let v: Value = serde_json::from_str(&out.1)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out.1, out.2));
        (out.0, v)
    }

    fn run(&self, args: &[&str], format: &str) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_calint"))
            .current_dir(&self.dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .arg("diff")
            .args(args)
            .args(["--format", format])
            .output()
            .expect("calint runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A repository whose first commit holds the apps and the database policy.
fn base_repo(name: &str) -> Repo {
    let r = Repo::new(name);
    r.write("apps.yaml", APPS);
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'backend'", "[5432]"),
    );
    r.commit("base");
    r
}

/// (from, to, change, before, after) of every reachability change.
fn changes(v: &Value) -> Vec<(String, String, String, String, String)> {
    let s = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    v["reachability"]
        .as_array()
        .expect("reachability list")
        .iter()
        .map(|c| {
            (
                s(c, "from"),
                s(c, "to"),
                s(c, "change"),
                s(c, "before"),
                s(c, "after"),
            )
        })
        .collect()
}

fn row(
    from: &str,
    to: &str,
    change: &str,
    before: &str,
    after: &str,
) -> (String, String, String, String, String) {
    (
        from.into(),
        to.into(),
        change.into(),
        before.into(),
        after.into(),
    )
}

/// The deciding actions of one side of the first change, as "direction action" strings.
fn decided(v: &Value, side: &str) -> Vec<String> {
    v["reachability"][0]["decided_by"][side]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["direction"].as_str().unwrap_or(""),
                d["action"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn unchanged_tree_reports_nothing() {
    let r = base_repo("same");
    let (code, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 1);
    assert_eq!(v["base"], "HEAD");
    assert_eq!(v["head"], "worktree");
    assert!(changes(&v).is_empty());
    assert_eq!(
        v["summary"]["pairs_solved"], 0,
        "nothing changed, nothing solved"
    );
}

/// Only pairs a changed rule may match are solved: widening the backend's rule on the
/// database re-solves backend -> db, not frontend -> db or world -> db (the rule's source
/// selector matches neither).
#[test]
fn only_pairs_a_changed_rule_may_match_are_solved() {
    let r = base_repo("relevant");
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'backend'", "[5432, 5433]"),
    );
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432",
            "TCP 5432-5433"
        )]
    );
    assert_eq!(v["summary"]["pairs_solved"], 1, "{v}");
}

#[test]
fn policy_added_opens_a_connection() {
    let r = base_repo("added");
    r.write(
        "policies/db-frontend.yaml",
        &db_policy("db-frontend", "app == 'frontend'", "[5432]"),
    );
    let (code, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        changes(&v),
        vec![row("shop/frontend", "shop/db", "opened", "", "TCP 5432")]
    );
    assert_eq!(v["summary"]["opened"], 1);
    assert_eq!(v["summary"]["closed"], 0);
    // The witness is a TCP packet to 5432; before it was denied at the database's end by
    // the tier's end, after it is allowed by the new policy's rule.
    let example = v["reachability"][0]["example"].as_str().expect("example");
    assert!(
        example.starts_with("TCP ") && example.ends_with(":5432"),
        "{example}"
    );
    assert_eq!(
        decided(&v, "before"),
        ["egress no-policy-allow", "ingress end-of-tier-deny"]
    );
    assert_eq!(
        decided(&v, "after"),
        ["egress no-policy-allow", "ingress Allow"]
    );
    let after = &v["reachability"][0]["decided_by"]["after"][1];
    assert_eq!(after["resource"]["name"], "db-frontend");
    assert_eq!(after["pointer"], "/spec/ingress/0");
    // --fail-on-opened turns the opened connection into exit code 1.
    let (code, _) = r.diff(&["--base", "HEAD", "--fail-on-opened"]);
    assert_eq!(code, 1);
}

#[test]
fn rule_widened_and_narrowed() {
    let r = base_repo("widened");
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'backend'", "[5432, 6432]"),
    );
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432",
            "TCP 5432,6432"
        )]
    );
    let example = v["reachability"][0]["example"].as_str().expect("example");
    assert!(example.ends_with(":6432"), "{example}");
    r.commit("widen");
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'backend'", "[6432]"),
    );
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432,6432",
            "TCP 6432"
        )]
    );
    // Against the first commit, with --head naming the second: both trees from git.
    let (_, v) = r.diff(&["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(v["head"], "HEAD");
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432",
            "TCP 5432,6432"
        )]
    );
    // Narrowed to nothing: closed.
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'nobody'", "[6432]"),
    );
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "closed",
            "TCP 5432,6432",
            ""
        )]
    );
}

#[test]
fn tier_reordered() {
    let r = base_repo("tiers");
    r.write("tiers.yaml", &tiers(100, 200));
    r.commit("tiers");
    // The allowing tier first: frontend reaches the database on 8080.
    r.write("tiers.yaml", &tiers(300, 200));
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row("shop/frontend", "shop/db", "closed", "TCP 8080", "")]
    );
    assert_eq!(
        decided(&v, "before"),
        ["egress no-policy-allow", "ingress Allow"]
    );
    assert_eq!(
        decided(&v, "after"),
        ["egress no-policy-allow", "ingress Deny"]
    );
    assert_eq!(
        v["reachability"][0]["decided_by"]["after"][1]["resource"]["name"],
        "second.deny-fe"
    );
}

#[test]
fn name_tie_break_of_equal_orders() {
    let deny = "\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: b-deny
  namespace: shop
spec:
  order: 50
  selector: app == 'db'
  types: [Ingress]
  ingress:
    - action: Deny
      source:
        selector: app == 'frontend'
";
    let r = base_repo("tiebreak");
    r.write("policies/b-deny.yaml", deny);
    let allow = |name: &str| {
        db_policy(name, "app == 'frontend'", "[7000]").replace("order: 100", "order: 50")
    };
    r.write("policies/allow.yaml", &allow("a-allow"));
    r.commit("equal orders");
    // Same order, same rules: only the name changes, and with it who comes first.
    r.write("policies/allow.yaml", &allow("c-allow"));
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(
        changes(&v),
        vec![row("shop/frontend", "shop/db", "closed", "TCP 7000", "")]
    );
    assert_eq!(
        decided(&v, "after"),
        ["egress no-policy-allow", "ingress Deny"]
    );
}

#[test]
fn moved_file_and_renamed_resource_are_no_change() {
    let r = base_repo("moved");
    // A policy with a finding (the second rule is covered by the first: CAL204).
    let shadowed = db_policy("db-fe", "app == 'frontend'", "[9000]")
        + "    - action: Allow\n      protocol: TCP\n      source:\n        selector: app == 'frontend'\n      destination:\n        ports: [9000]\n";
    r.write("policies/fe.yaml", &shadowed);
    // A file-level finding (no resource): a YAML syntax error.
    let broken = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n";
    r.write("policies/broken.yaml", broken);
    r.commit("with a finding");
    r.remove("policies/broken.yaml");
    r.write("elsewhere/renamed.yaml", &format!("# moved\n{broken}"));
    // Move both files; rename the database policy (its only neighbour at order 100 is
    // db-fe, whose rules never match what db's match, so the order does not matter); add
    // lines above the finding.
    r.remove("policies/fe.yaml");
    r.write(
        "moved/deeper/fe.yaml",
        &format!("# moved\n# here\n{shadowed}"),
    );
    r.remove("policies/db.yaml");
    r.write(
        "moved/database.yaml",
        &db_policy("database", "app == 'backend'", "[5432]"),
    );
    let (code, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(code, 0, "{v}");
    assert!(changes(&v).is_empty(), "{v}");
    assert_eq!(v["summary"]["findings_added"], 0, "{v}");
    assert_eq!(v["summary"]["findings_removed"], 0, "{v}");
    // A renamed resource that keeps a finding keeps the finding too.
    r.write(
        "moved/deeper/fe.yaml",
        &shadowed.replace("name: db-fe", "name: db-frontend"),
    );
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert!(changes(&v).is_empty(), "{v}");
    assert_eq!(v["summary"]["findings_added"], 0, "{v}");
    assert_eq!(v["summary"]["findings_removed"], 0, "{v}");
}

#[test]
fn findings_added_and_removed() {
    let r = base_repo("findings");
    // The second rule denies what the first allows: shadowed (CAL201, a warning).
    let shadowed = db_policy("db-fe", "app == 'frontend'", "[9000]")
        + "    - action: Deny\n      protocol: TCP\n      source:\n        selector: app == 'frontend'\n      destination:\n        ports: [9000]\n";
    r.write("policies/fe.yaml", &shadowed);
    let (code, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(code, 1, "a new warning fails as in check: {v}");
    assert_eq!(v["summary"]["findings_added"], 1);
    assert_eq!(v["findings_added"][0]["code"], "CAL201");
    assert_eq!(v["findings_added"][0]["pointer"], "/spec/ingress/1");
    assert_eq!(
        v["findings_added"][0]["location"]["file"],
        "policies/fe.yaml"
    );
    let (code, _) = r.diff(&["--base", "HEAD", "--fail-on", "error"]);
    assert_eq!(code, 0);
    r.commit("finding");
    r.remove("policies/fe.yaml");
    let (code, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["findings_removed"], 1);
    assert_eq!(v["findings_removed"][0]["code"], "CAL201");
    assert_eq!(
        changes(&v),
        vec![row("shop/frontend", "shop/db", "closed", "TCP 9000", "")]
    );
}

#[test]
fn staged_set_and_delete_are_promoted() {
    let r = base_repo("staged");
    // Set: a staged version of `db` that also admits the frontend.
    let set = db_policy("db", "app in {'backend', 'frontend'}", "[5432]")
        .replace("kind: NetworkPolicy", "kind: StagedNetworkPolicy")
        .replace("spec:\n", "spec:\n  stagedAction: Set\n");
    r.write("staged.yaml", &set);
    let (code, v) = r.diff(&["--staged"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["head"], "staged promoted");
    assert_eq!(
        changes(&v),
        vec![row("shop/frontend", "shop/db", "opened", "", "TCP 5432")]
    );
    // Delete: removing `db` leaves the database unprotected (no policy: allowed).
    r.write(
        "staged.yaml",
        "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  stagedAction: Delete\n",
    );
    let (_, v) = r.diff(&["--staged"]);
    // Delete: removing `db` leaves the database open to everyone, the world included.
    let all = "TCP 0-65535; UDP 0-65535; SCTP 0-65535; ICMP; ICMPv6; other protocols";
    assert_eq!(
        changes(&v),
        vec![
            row("shop/backend", "shop/db", "changed", "TCP 5432", all),
            row("shop/frontend", "shop/db", "opened", "", all),
            row("world", "shop/db", "opened", "", all),
        ]
    );
    // Promoted, the Delete leaves the database without an ingress policy (CAL310), and the
    // staged resource itself, with its "never enforced" note (CAL138), is gone.
    let codes = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| a.iter().map(|f| f["code"].to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(codes("findings_added"), ["\"CAL310\""], "{v}");
    assert_eq!(v["findings_added"][0]["resource"]["name"], "db", "{v}");
    assert_eq!(codes("findings_removed"), ["\"CAL138\""], "{v}");
}

#[test]
fn diff_against_a_directory() {
    let r = Repo::new("dirs");
    r.write("old/apps.yaml", APPS);
    r.write(
        "old/db.yaml",
        &db_policy("db", "app == 'backend'", "[5432]"),
    );
    r.write("new/apps.yaml", APPS);
    r.write(
        "new/db.yaml",
        &db_policy("db", "app == 'backend'", "[5433]"),
    );
    let (code, v) = r.diff(&["--base", "old", "new"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["base"], "old");
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432",
            "TCP 5433"
        )]
    );
    // Neither a directory nor a revision: a usage error.
    let (code, _, err) = r.run(&["--base", "no-such-thing"], "json");
    assert_eq!(code, 2);
    assert!(
        err.contains("neither a directory nor a git revision"),
        "{err}"
    );
    assert!(r.path().is_dir());
}

#[test]
fn markdown_comment() {
    let r = base_repo("markdown");
    r.write(
        "policies/db-frontend.yaml",
        &db_policy("db-frontend", "app == 'frontend'", "[5432]"),
    );
    let (code, md, _) = r.run(
        &[
            "--base",
            "HEAD",
            "--link-base",
            "https://github.com/o/r/blob/abc/",
        ],
        "markdown",
    );
    assert_eq!(code, 0);
    assert!(
        md.starts_with("## calint diff\n\n**opens 1 connection** (`HEAD` → `worktree`)\n"),
        "{md}"
    );
    assert!(
        md.contains("| opened | shop/frontend | shop/db | — | TCP 5432 |"),
        "{md}"
    );
    assert!(
        md.contains("(https://github.com/o/r/blob/abc/policies/db-frontend.yaml#L11)"),
        "{md}"
    );
    insta::assert_snapshot!("diff_markdown_comment", md);
}

/// Copy `from` (a directory of the repository) into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The README shows the comment for the example tree after a change; it must be exactly what
/// calint prints for that change.
#[test]
fn readme_shows_the_real_comment() {
    let r = Repo::new("readme");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["apps", "cluster", "policies"] {
        copy_dir(&root.join("examples").join(dir), &r.path().join(dir));
    }
    r.commit("examples");
    let edit = |path: &str, old: &str, new: &str| {
        let p = r.path().join(path);
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(text.contains(old), "{path} no longer contains {old:?}");
        std::fs::write(&p, text.replacen(old, new, 1)).expect("write");
    };
    edit(
        "policies/shop/frontend.yaml",
        "  egress:\n",
        "  egress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        selector: app == 'database'\n        ports: [5432]\n",
    );
    let rule = |selector: &str| {
        format!(
            "    - action: Allow\n      protocol: TCP\n      source:\n        selector: {selector}\n      destination:\n        ports: [5432]\n"
        )
    };
    edit(
        "policies/shop/database.yaml",
        "    - action: Deny\n",
        &format!(
            "{}{}    - action: Deny\n",
            rule("app == 'frontend'"),
            rule("app == 'frontend' && role == 'web'").replace("Allow", "Deny")
        ),
    );
    let (code, md, err) = r.run(
        &[
            "--base",
            "HEAD",
            "--link-base",
            "https://github.com/OWNER/REPO/blob/SHA/",
        ],
        "markdown",
    );
    assert_eq!(code, 1, "a new warning: {err}");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let start = readme
        .find("<!-- diff-comment -->\n````markdown\n")
        .expect("README has the comment")
        + "<!-- diff-comment -->\n````markdown\n".len();
    let end = readme
        .find("````\n<!-- /diff-comment -->")
        .expect("end marker");
    assert_eq!(readme.get(start..end), Some(md.as_str()));
}

/// Many changes: the comment groups them by source and stays short; the JSON report is the
/// same whatever the thread count.
#[test]
fn big_change_is_grouped_and_deterministic() {
    let r = Repo::new("big");
    let mut pods = String::new();
    for i in 0..8 {
        pods.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i:02}\n  namespace: shop\n  labels: {{app: p{i:02}}}\nspec:\n  containers: [{{name: c, image: x}}]\n"
        ));
    }
    r.write("pods.yaml", &pods);
    r.write(
        "deny.yaml",
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: deny-all\nspec:\n  selector: all()\n  types: [Ingress]\n  ingress: [{action: Deny}]\n",
    );
    r.commit("deny all");
    r.remove("deny.yaml");
    let (code, md, _) = r.run(&["--base", "HEAD"], "markdown");
    // Without the deny-all no policy selects the pods: 8 new CAL310 warnings fail the diff.
    assert_eq!(code, 1, "{md}");
    // 8 pods reach each other (56 pairs) and the world reaches each (8): 64 opened.
    assert!(
        md.contains("**opens 64 connections, adds 8 warnings**"),
        "{md}"
    );
    assert!(md.contains("64 pairs changed; grouped by source."), "{md}");
    assert!(md.contains("| opened | shop/p00 | shop/p01, shop/p02, shop/p03, shop/p04, shop/p05 (7 groups) and 2 more |"), "{md}");
    assert!(md.contains("| opened | world |"), "{md}");
    assert!(md.len() < 65_536);
    let json = |threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_calint"))
            .current_dir(r.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(["diff", "--base", "HEAD", "--format", "json"])
            .output()
            .expect("calint runs");
        out.stdout
    };
    let one = json("1");
    assert!(!one.is_empty());
    assert_eq!(one, json("4"));
}

/// The groups of `.calint.yaml` replace the discovered ones; SARIF and human output.
#[test]
fn configured_groups_sarif_and_human() {
    let r = base_repo("groups");
    r.write(
        ".calint.yaml",
        "groups:\n  fe: \"shop/app == 'frontend'\"\n  db: \"shop/app == 'db'\"\n",
    );
    r.commit("groups");
    let shadowed = db_policy("db-fe", "app == 'frontend'", "[5432]")
        + "    - action: Deny\n      protocol: TCP\n      source:\n        selector: app == 'frontend'\n      destination:\n        ports: [5432]\n";
    r.write("policies/fe.yaml", &shadowed);
    let (_, v) = r.diff(&["--base", "HEAD"]);
    assert_eq!(v["summary"]["groups"], 2);
    assert_eq!(changes(&v), vec![row("fe", "db", "opened", "", "TCP 5432")]);
    let (code, sarif, _) = r.run(&["--base", "HEAD"], "sarif");
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "CAL201");
    let (_, human, _) = r.run(&["--base", "HEAD"], "human");
    assert!(
        human.starts_with(
            "calint diff: HEAD -> worktree\n  opened  fe -> db: nothing => TCP 5432\n"
        ),
        "{human}"
    );
    assert!(
        human.contains("  findings added:\n    warning CAL201 policies/fe.yaml:17: "),
        "{human}"
    );
    assert!(
        human.ends_with("opens 1 connection, adds 1 warning\n"),
        "{human}"
    );
}

/// Run from outside any repository, `calint diff --base REV PATH` reads the revision from
/// the repository holding PATH, and names its files as `check` names the working tree's, so
/// findings and groups match across the sides.
#[test]
fn a_revision_is_read_from_the_repository_of_the_path() {
    let r = base_repo("outside");
    r.write(
        "policies/db.yaml",
        &db_policy("db", "app == 'backend'", "[5432, 5433]"),
    );
    let elsewhere = std::env::temp_dir().join(format!("calint-not-a-repo-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).expect("scratch dir");
    let run = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_calint"))
            .current_dir(&elsewhere)
            // Never find a repository above the scratch directory.
            .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .args(["diff", "--base", "HEAD", "--format", "json"])
            .arg(path)
            .output()
            .expect("calint runs")
    };
    let out = run(r.path());
    let sub = run(&r.path().join("policies"));
    let nowhere = run(&elsewhere);
    let _ = std::fs::remove_dir_all(&elsewhere);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        changes(&v),
        vec![row(
            "shop/backend",
            "shop/db",
            "changed",
            "TCP 5432",
            "TCP 5432-5433"
        )],
        "{v}"
    );
    assert_eq!(v["findings_added"], serde_json::json!([]), "{v}");
    assert_eq!(v["findings_removed"], serde_json::json!([]), "{v}");
    // A directory inside the repository works too (only its files on both sides).
    assert_eq!(
        sub.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sub.stderr)
    );
    // Neither the working directory nor the PATH in a repository: say so.
    let err = String::from_utf8_lossy(&nowhere.stderr);
    assert_eq!(nowhere.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nor") && err.contains("inside a git repository"),
        "{err}"
    );
}
