use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "calint-walk-{name}-{}-{n}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn write(&self, rel: &str) -> &Self {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "kind: Tier\n").unwrap();
        self
    }

    fn write_text(&self, rel: &str, text: &str) -> &Self {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    /// Found files as paths relative to the scratch dir, with `/` separators.
    fn rel(&self, found: &Discovered) -> Vec<String> {
        found
            .files
            .iter()
            .map(|p| {
                p.strip_prefix(&self.0)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    fn discover(&self, opts: &WalkOptions) -> Discovered {
        discover(std::slice::from_ref(&self.0), opts).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn excluding(patterns: &[&str]) -> WalkOptions {
    WalkOptions {
        excludes: patterns.iter().map(|p| p.to_string()).collect(),
        follow_symlinks: false,
    }
}

#[test]
fn collects_manifest_extensions_sorted() {
    let s = Scratch::new("ext");
    s.write("b.yaml")
        .write("a.yml")
        .write("c.json")
        .write("D.YAML")
        .write("notes.txt")
        .write("yaml")
        .write("sub/deep/e.yaml");
    let found = s.discover(&WalkOptions::default());
    assert_eq!(
        s.rel(&found),
        ["D.YAML", "a.yml", "b.yaml", "c.json", "sub/deep/e.yaml"]
    );
    assert_eq!(found.helm_templates_skipped, 0);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
}

#[test]
fn gitignore_is_honoured_without_a_git_repository() {
    let s = Scratch::new("gitignore");
    s.write_text(".gitignore", "ignored/\n*.skip.yaml\n")
        .write_text("sub/.gitignore", "local.yaml\n")
        .write("ignored/a.yaml")
        .write("x.skip.yaml")
        .write("keep.yaml")
        .write("sub/local.yaml")
        .write("sub/kept.yaml");
    assert!(!s.path(".git").exists());
    let found = s.discover(&WalkOptions::default());
    assert_eq!(s.rel(&found), ["keep.yaml", "sub/kept.yaml"]);
}

#[test]
fn hidden_entries_and_target_dirs_are_skipped() {
    let s = Scratch::new("hidden");
    s.write(".hidden/a.yaml")
        .write(".b.yaml")
        .write("target/debug/c.yaml")
        .write("nested/target/d.yaml")
        .write("target.yaml")
        .write("visible/e.yaml");
    let found = s.discover(&WalkOptions::default());
    assert_eq!(s.rel(&found), ["target.yaml", "visible/e.yaml"]);
}

#[test]
fn a_hidden_root_is_still_walked() {
    let s = Scratch::new("hiddenroot");
    s.write(".config/a.yaml");
    let found = discover(&[s.path(".config")], &WalkOptions::default()).unwrap();
    assert_eq!(s.rel(&found), [".config/a.yaml"]);
}

#[test]
fn exclude_globs_are_relative_to_the_root() {
    let s = Scratch::new("exclude");
    s.write("vendor/a.yaml")
        .write("deep/vendor/b.yaml")
        .write("deploy/old/c.yaml")
        .write("deploy/new/d.yaml")
        .write("other/deploy/old/e.yaml")
        .write("f.gen.yaml")
        .write("sub/g.gen.yaml")
        .write("h.yaml");
    let found = s.discover(&excluding(&["vendor", "deploy/old/**", "*.gen.yaml"]));
    assert_eq!(
        s.rel(&found),
        ["deploy/new/d.yaml", "h.yaml", "other/deploy/old/e.yaml"]
    );
}

#[test]
fn invalid_exclude_is_an_error() {
    let s = Scratch::new("badglob");
    s.write("a.yaml");
    let err = discover(std::slice::from_ref(&s.0), &excluding(&["a[b"])).unwrap_err();
    assert!(
        matches!(&err, WalkError::InvalidExclude { pattern, .. } if pattern == "a[b"),
        "{err}"
    );
}

#[test]
fn helm_templates_are_skipped_and_counted() {
    let s = Scratch::new("helm");
    s.write("chart/Chart.yaml")
        .write("chart/values.yaml")
        .write_text("chart/templates/np.yaml", "kind: {{ .Values.kind }}\n")
        .write("chart/templates/sub/gnp.yml")
        .write("chart/templates/_helpers.tpl")
        .write("chart/charts/dep/Chart.yaml")
        .write("chart/charts/dep/templates/c.json")
        .write("plain/templates/kept.yaml");
    let found = s.discover(&WalkOptions::default());
    assert_eq!(
        s.rel(&found),
        [
            "chart/Chart.yaml",
            "chart/charts/dep/Chart.yaml",
            "chart/values.yaml",
            "plain/templates/kept.yaml"
        ]
    );
    assert_eq!(found.helm_templates_skipped, 3);

    // The chart directory may sit above the root.
    let found = discover(&[s.path("chart/templates")], &WalkOptions::default()).unwrap();
    assert!(found.files.is_empty(), "{:?}", found.files);
    assert_eq!(found.helm_templates_skipped, 2);
}

#[test]
fn explicit_file_roots_are_taken_as_is() {
    let s = Scratch::new("fileroot");
    s.write(".hidden.txt")
        .write("ignored.yaml")
        .write("dir/a.yaml");
    s.write_text(".gitignore", "ignored.yaml\n");
    let roots = [
        s.path(".hidden.txt"),
        s.path("ignored.yaml"),
        s.0.clone(),
        s.path("dir/a.yaml"),
    ];
    let found = discover(&roots, &excluding(&["*.txt", "ignored.yaml"])).unwrap();
    // dir/a.yaml is reached twice but listed once.
    assert_eq!(s.rel(&found), [".hidden.txt", "dir/a.yaml", "ignored.yaml"]);
}

#[test]
fn overlapping_roots_are_deduplicated() {
    let s = Scratch::new("overlap");
    s.write("a/b/c.yaml").write("a/d.yaml");
    let roots = [s.path("a/b"), s.0.clone(), s.path("a")];
    let found = discover(&roots, &WalkOptions::default()).unwrap();
    assert_eq!(s.rel(&found), ["a/b/c.yaml", "a/d.yaml"]);
}

#[test]
fn missing_root_is_an_error() {
    let s = Scratch::new("missing");
    let missing = s.path("nope");
    let err = discover(&[s.0.clone(), missing.clone()], &WalkOptions::default()).unwrap_err();
    assert_eq!(err, WalkError::NotFound { path: missing });
    assert!(!err.to_string().contains("did you mean"), "{err}");
    // A typo in a path: the closest entry beside it is suggested.
    s.write("policies/a.yaml");
    let typo = s.path("polices");
    let err = discover(&[typo], &WalkOptions::default()).unwrap_err();
    let near = s.path("policies");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no such file or directory (did you mean `{}`?)",
            s.path("polices").display(),
            near.display()
        )
    );
    assert!(err.to_string().contains("no such file"));
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_default() {
    use std::os::unix::fs::symlink;
    let s = Scratch::new("links");
    s.write("real/a.yaml");
    symlink(s.path("real"), s.path("linked-dir")).unwrap();
    symlink(s.path("real/a.yaml"), s.path("linked.yaml")).unwrap();
    let found = s.discover(&WalkOptions::default());
    assert_eq!(s.rel(&found), ["real/a.yaml"]);
    assert!(found.problems.is_empty());

    // When following, each file is still listed once.
    let follow = WalkOptions {
        follow_symlinks: true,
        ..WalkOptions::default()
    };
    let found = s.discover(&follow);
    assert_eq!(s.rel(&found), ["linked-dir/a.yaml"]);
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_not_fatal() {
    use std::os::unix::fs::symlink;
    let s = Scratch::new("loop");
    s.write("dir/a.yaml").write("b.yaml");
    symlink(s.path("dir"), s.path("dir/back")).unwrap();
    symlink(&s.0, s.path("dir/up")).unwrap();
    let follow = WalkOptions {
        follow_symlinks: true,
        ..WalkOptions::default()
    };
    let found = s.discover(&follow);
    assert_eq!(s.rel(&found), ["b.yaml", "dir/a.yaml"]);
    assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
    for p in &found.problems {
        assert!(p.message.contains("loop"), "{p:?}");
        assert!(p.path.starts_with(&s.0), "{p:?}");
    }
    // Not following: the links are simply skipped.
    let found = s.discover(&WalkOptions::default());
    assert_eq!(s.rel(&found), ["b.yaml", "dir/a.yaml"]);
    assert!(found.problems.is_empty());
}

#[cfg(unix)]
#[test]
fn links_out_of_the_root_are_reported_and_never_followed() {
    use std::os::unix::fs::symlink;
    let outside = Scratch::new("outside");
    outside
        .write("secret.yaml")
        .write("dir/x.yaml")
        .write("notes.txt");
    let s = Scratch::new("escape");
    s.write("ok.yaml");
    symlink(outside.path("secret.yaml"), s.path("secret.yaml")).unwrap();
    symlink(outside.path("dir"), s.path("linked-dir")).unwrap();
    // Not a manifest and not a directory: irrelevant, not reported.
    symlink(outside.path("notes.txt"), s.path("notes")).unwrap();
    // Inside the root: silent.
    symlink(s.path("ok.yaml"), s.path("alias.yaml")).unwrap();
    for follow in [false, true] {
        let opts = WalkOptions {
            follow_symlinks: follow,
            ..WalkOptions::default()
        };
        let found = s.discover(&opts);
        let expected: &[&str] = if follow {
            &["alias.yaml"]
        } else {
            &["ok.yaml"]
        };
        assert_eq!(s.rel(&found), expected, "follow={follow}");
        let paths: Vec<&Path> = found.problems.iter().map(|p| p.path.as_path()).collect();
        assert_eq!(
            paths,
            [s.path("linked-dir"), s.path("secret.yaml")],
            "follow={follow}: {:?}",
            found.problems
        );
        for p in &found.problems {
            assert!(p.message.contains("outside the checked tree"), "{p:?}");
            assert!(p.message.contains(&*outside.0.to_string_lossy()), "{p:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn link_loops_and_broken_links_are_reported_without_following() {
    use std::os::unix::fs::symlink;
    let s = Scratch::new("linkloop");
    s.write("ok.yaml");
    symlink(s.path("self.yaml"), s.path("self.yaml")).unwrap();
    symlink(s.path("b.yaml"), s.path("a.yaml")).unwrap();
    symlink(s.path("a.yaml"), s.path("b.yaml")).unwrap();
    symlink(s.path("missing.yaml"), s.path("broken.yaml")).unwrap();
    symlink(s.path("missing"), s.path("broken-other")).unwrap();
    let found = s.discover(&WalkOptions::default());
    assert_eq!(s.rel(&found), ["ok.yaml"]);
    let summary: Vec<(String, bool)> = found
        .problems
        .iter()
        .map(|p| {
            let name = p.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.message.starts_with("symbolic link loop"))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a.yaml".to_string(), true),
            ("b.yaml".to_string(), true),
            ("broken.yaml".to_string(), false),
            ("self.yaml".to_string(), true),
        ],
        "{:?}",
        found.problems
    );
    assert!(found.problems[2].message.contains("does not exist"));
}

#[cfg(unix)]
#[test]
fn unreadable_directories_are_problems() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("perm");
    s.write("locked/a.yaml").write("open/b.yaml");
    let locked = s.path("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Permissions do not bind root (as in some containers): then there is nothing to test.
    let enforced = fs::read_dir(&locked).is_err();
    let found = s.discover(&WalkOptions::default());
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    if enforced {
        assert_eq!(s.rel(&found), ["open/b.yaml"]);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].path, locked);
        assert!(found.problems[0].message.contains("ermission denied"));
        // An unreadable root is fatal.
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let err = discover(std::slice::from_ref(&locked), &WalkOptions::default());
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(err, Err(WalkError::Unreadable { .. })), "{err:?}");
    } else {
        assert_eq!(s.rel(&found), ["locked/a.yaml", "open/b.yaml"]);
    }
}
