//! Replays the fuzz regression corpus: every input in `fixtures/fuzz-regressions/<target>/`
//! goes through the same harness function as the cargo-fuzz target `<target>` (the harness is
//! shared with `fuzz/`), so a crash found by fuzzing stays fixed. See ARCHITECTURE.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new("fixtures/fuzz-regressions").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    inputs.sort();
    for path in &inputs {
        let data = std::fs::read(path).expect("readable input");
        let name = path.display().to_string();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("fuzz regression {name} fails again");
        }
    }
    inputs.len()
}

#[test]
fn selector_regressions() {
    assert!(replay("selector", harness::selector) > 0);
}

#[test]
fn yaml_lower_regressions() {
    assert!(replay("yaml_lower", harness::yaml_lower) > 0);
}

#[test]
fn check_regressions() {
    assert!(replay("check", harness::check) > 0);
}
