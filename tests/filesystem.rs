//! Hostile and broken filesystems: links out of the tree, link loops, unreadable files, files
//! that vanish between discovery and reading, special files. Each is reported as a CAL001
//! finding on its path, none is fatal, and the rest of the tree is still analyzed.
//!
//! The tests run as root in CI containers, where file permissions are not enforced: the
//! permission test then checks that the file is simply read, and a read *error* is produced
//! instead through `/proc/self/mem` (on Linux, reading it at offset 0 fails with EIO).

#![cfg(unix)]

use calint::check::{CheckOptions, check, load_discovered};
use calint::finding::Finding;
use calint::load::walk::{WalkOptions, discover};
use calint::project::Project;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "calint-fs-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).expect("mkdir");
        }
        fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A valid policy with one CAL101 finding: proof that the rest of the tree is analyzed.
const GOOD: &str = "apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: good, namespace: shop}
spec:
  selector: app == 'web'
  ingress:
    - action: Allow
";

fn opts(paths: Vec<PathBuf>) -> CheckOptions {
    CheckOptions {
        paths,
        analysis: None,
        ..CheckOptions::default()
    }
}

/// (file name relative to `root`, code, message) of every finding.
fn listing(project: &Project, findings: &[Finding], root: &Path) -> Vec<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            let path = project
                .sources
                .get(f.location.file)
                .map(|s| s.path.clone())
                .unwrap_or_default();
            let rel = path.strip_prefix(root).unwrap_or(&path);
            (
                rel.to_string_lossy().into_owned(),
                f.code.to_string(),
                f.message.clone(),
            )
        })
        .collect()
}

fn assert_has(list: &[(String, String, String)], file: &str, code: &str, needle: &str) {
    assert!(
        list.iter()
            .any(|(f, c, m)| f == file && c == code && m.contains(needle)),
        "expected {code} on {file} containing {needle:?} in {list:#?}"
    );
}

#[test]
fn links_loops_and_escapes_are_reported_and_the_tree_still_checked() {
    let outside = Scratch::new("outside");
    let secret = outside.write("secret.yaml", "apiVersion: v1\nkind: Secret\n");
    outside.write("dir/more.yaml", GOOD);
    let s = Scratch::new("links");
    s.write("good.yaml", GOOD);
    symlink(&secret, s.path("secret.yaml")).expect("link");
    symlink(outside.path("dir"), s.path("escape")).expect("link");
    symlink(s.path("loop.yaml"), s.path("loop.yaml")).expect("link");
    symlink(s.path("nowhere.yaml"), s.path("dangling.yaml")).expect("link");
    symlink(s.path("good.yaml"), s.path("inside.yaml")).expect("link");

    for follow in [false, true] {
        let (project, findings) = check(&CheckOptions {
            follow_symlinks: follow,
            ..opts(vec![s.0.clone()])
        })
        .expect("never fatal");
        let list = listing(&project, &findings, &s.0);
        assert_has(&list, "secret.yaml", "CAL001", "outside the checked tree");
        assert_has(&list, "escape", "CAL001", "outside the checked tree");
        assert_has(&list, "loop.yaml", "CAL001", "symbolic link loop");
        // The rest of the tree is analyzed (when following links, `inside.yaml` and
        // `good.yaml` are one file, listed under the first path).
        assert_has(&list, "good.yaml", "CAL101", "`types` is not set");
        assert_eq!(project.resources.len(), 1, "{list:#?}");
        // Nothing outside the root was read.
        assert!(
            (0..project.sources.len())
                .filter_map(|i| project.sources.get(calint::source::FileId(i)))
                .all(|src| !src.text.contains("kind: Secret")),
            "a file outside the tree was read"
        );
        assert_has(&list, "dangling.yaml", "CAL001", "does not exist");
    }
}

#[test]
fn a_file_that_vanishes_after_discovery_is_reported() {
    let s = Scratch::new("vanish");
    s.write("a.yaml", GOOD);
    let gone = s.write("b.yaml", GOOD);
    s.write("c.yaml", GOOD);
    let discovered = discover(std::slice::from_ref(&s.0), &WalkOptions::default()).expect("walk");
    assert_eq!(discovered.files.len(), 3);
    fs::remove_file(&gone).expect("rm");
    let o = opts(vec![s.0.clone()]);
    let project = load_discovered(discovered, &o);
    let findings = calint::lints::run(&project, &o.lints);
    let list = listing(&project, &findings, &s.0);
    assert_has(&list, "b.yaml", "CAL001", "no longer exists");
    assert_has(&list, "a.yaml", "CAL101", "`types` is not set");
    assert_has(&list, "c.yaml", "CAL101", "`types` is not set");
    assert_eq!(project.resources.len(), 2);
}

#[test]
fn unreadable_files_are_reported_or_read_when_running_as_root() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("perm");
    s.write("good.yaml", GOOD);
    let locked = s.write("locked.yaml", GOOD);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    let enforced = fs::read(&locked).is_err();
    let result = check(&opts(vec![s.0.clone()]));
    let _ = fs::set_permissions(&locked, fs::Permissions::from_mode(0o644));
    let (project, findings) = result.expect("never fatal");
    let list = listing(&project, &findings, &s.0);
    assert_has(&list, "good.yaml", "CAL101", "`types` is not set");
    if enforced {
        assert_has(&list, "locked.yaml", "CAL001", "Permission denied");
    } else {
        // Root reads it anyway: it is linted like any other file.
        assert_has(&list, "locked.yaml", "CAL101", "`types` is not set");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn read_errors_and_special_files_are_reported() {
    let s = Scratch::new("special");
    s.write("good.yaml", GOOD);
    let mut paths = vec![s.0.clone()];
    let mem = PathBuf::from("/proc/self/mem");
    let zero = PathBuf::from("/dev/zero");
    paths.extend(
        [mem.clone(), zero.clone()]
            .into_iter()
            .filter(|p| p.exists()),
    );
    // A named pipe in the tree is not a regular file: the walker skips it. Given as a root,
    // it is reported without being opened (opening it would block).
    let fifo = s.path("pipe.yaml");
    let fifo_made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success());
    if fifo_made {
        paths.push(fifo.clone());
    }
    let (project, findings) = check(&opts(paths)).expect("never fatal");
    let list = listing(&project, &findings, &s.0);
    assert_has(&list, "good.yaml", "CAL101", "`types` is not set");
    if mem.exists() {
        assert_has(&list, "/proc/self/mem", "CAL001", "cannot read file");
    }
    if zero.exists() {
        assert_has(&list, "/dev/zero", "CAL001", "not a regular file");
    }
    if fifo_made {
        assert_has(&list, "pipe.yaml", "CAL001", "not a regular file");
        assert_eq!(
            list.iter().filter(|(f, _, _)| f == "pipe.yaml").count(),
            1,
            "{list:#?}"
        );
    }
}
