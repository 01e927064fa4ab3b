//! The HTML graph in a real headless browser (Chromium): every label visible without
//! hovering and inside the drawing, no two labels overlapping (rotated boxes compared),
//! each group's blast radius shown, opposite edges apart, and a legend. Skipped, saying so,
//! when no Chromium is installed; `.ci/run` installs it and sets CALINT_REQUIRE_CHROMIUM=1.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<String> {
    if let Ok(path) = std::env::var("CALINT_CHROMIUM") {
        return Some(path);
    }
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .into_iter()
    .find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .map(str::to_string)
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("calint-browser-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Render `calint graph TREE --format html` in Chromium with the checker appended and
/// return the checker's report.
fn check_in_browser(browser: &str, tree: &Path, scratch: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_calint"))
        .arg("graph")
        .arg(tree)
        .args(["--format", "html"])
        .output()
        .expect("calint runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    let checker = include_str!("browser/check_graph.js");
    let page = html.replace("</body>", &format!("<script>{checker}</script></body>"));
    let file = scratch.join("graph.html");
    std::fs::write(&file, page).expect("write page");
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1600,1600",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("the browser runs");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    let start = dom
        .find("<pre id=\"calint-check\">")
        .unwrap_or_else(|| panic!("the checker did not run:\n{dom}"));
    let rest = &dom[start + "<pre id=\"calint-check\">".len()..];
    let end = rest.find("</pre>").expect("end of report");
    let text = rest[..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A tree of 36 workloads in 3 namespaces, each accepting its two neighbours on TCP 8080
/// (so most pairs have edges both ways), with long names.
fn ring_tree(dir: &Path) {
    let mut text = String::new();
    for n in 0..36 {
        let ns = format!("team-{}", n % 3);
        text.push_str(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: service-with-a-long-name-{n:02}, namespace: {ns}}}\nspec:\n  template:\n    metadata: {{labels: {{app: a{n}}}}}\n    spec: {{containers: [{{name: c, image: i}}]}}\n---\n"
        ));
        let (prev, next) = ((n + 35) % 36, (n + 1) % 36);
        text.push_str(&format!(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: a{n}}}\nspec:\n  selector: app == 'a{n}'\n  types: [Ingress]\n  ingress:\n    - action: Allow\n      protocol: TCP\n      source: {{selector: \"app in {{'a{prev}', 'a{next}'}}\"}}\n      destination: {{ports: [8080]}}\n---\n"
        ));
    }
    std::fs::write(dir.join("ring.yaml"), text).expect("write tree");
}

#[test]
fn graph_page_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CALINT_REQUIRE_CHROMIUM").is_none(),
            "CALINT_REQUIRE_CHROMIUM is set but no Chromium was found"
        );
        eprintln!(
            "SKIPPED graph_page_in_headless_chromium: no Chromium (apt-get install chromium, or set CALINT_CHROMIUM)"
        );
        return;
    };
    let scratch = Scratch::new("graph");
    let examples = check_in_browser(&browser, Path::new("examples"), &scratch.0);
    assert_eq!(examples["errors"], serde_json::json!([]), "{examples}");
    assert_eq!(examples["nodes"], 7, "{examples}");
    assert_eq!(examples["edges"], examples["edge_labels"], "{examples}");
    assert!(examples["opposite"].as_u64() >= Some(1), "{examples}");

    let ring = Scratch::new("ring");
    ring_tree(&ring.0);
    let report = check_in_browser(&browser, &ring.0, &scratch.0);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    // Nearly every label fits (the page says how many do not; the matrix shows them).
    assert!(report["edge_labels"].as_u64() >= Some(100), "{report}");
    assert_eq!(report["nodes"], 37, "{report}");
    assert!(report["opposite"].as_u64() >= Some(30), "{report}");
}
