//! The HTML report in a real browser: headless Chromium (Debian package `chromium`, which
//! `.ci/run` installs when it is missing) loads the report with JavaScript on, and the test reads
//! the DOM it rendered. Without Chromium these tests fail: they never skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{caveat_in, scratch};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `caveat check` in `dir` with `args`, writing the HTML report to `html` and returning the
/// JSON report of the same run.
fn reports(dir: &Path, args: &[&str], html: &Path) -> serde_json::Value {
    let html_arg = html.to_str().unwrap();
    let mut with_html = vec!["check", "--today", "2020-01-01", "--format", "html", "-o"];
    with_html.push(html_arg);
    with_html.extend_from_slice(args);
    let out = caveat_in(dir, &with_html);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut with_json = vec!["check", "--today", "2020-01-01", "--format", "json"];
    with_json.extend_from_slice(args);
    let out = caveat_in(dir, &with_json);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What Chromium shows of a page: the DOM after scripts ran, and its log on stderr.
struct Rendered {
    dom: String,
    log: String,
}

/// Loads `page` (with `fragment` after `#`) in headless Chromium with JavaScript on.
fn render(page: &Path, fragment: &str, profile: &str) -> Rendered {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(profile);
    let url = format!("file://{}#{fragment}", page.display());
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "headless Chromium does not run ({e}): install the Debian package `chromium` \
                 (apt-get install -y chromium); .ci/run does"
            )
        });
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        dom.contains("<html"),
        "Chromium rendered nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Rendered {
        dom,
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The table rows of the rendered DOM, each as its opening tag.
fn rows(dom: &str) -> Vec<&str> {
    dom.match_indices("<tr data-i=")
        .map(|(at, _)| {
            let rest = &dom[at..];
            &rest[..rest.find('>').unwrap()]
        })
        .collect()
}

/// The number shown for `name` in the summary.
fn count(dom: &str, name: &str) -> u64 {
    let marker = format!("data-count=\"{name}\">");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no count {name}"))
        + marker.len();
    dom[at..][..dom[at..].find('<').unwrap()].parse().unwrap()
}

/// The page ran its script to the end and reported no error, in the page or in the console.
fn assert_no_errors(rendered: &Rendered) {
    assert!(
        rendered.dom.contains("data-ready=\"1\""),
        "the script did not finish"
    );
    let errors_at = rendered.dom.find("id=\"cv-errors\"").unwrap();
    let errors = &rendered.dom[errors_at..][..rendered.dom[errors_at..].find("</div>").unwrap()];
    assert!(errors.contains("hidden"), "errors in the page: {errors}");
    for line in rendered.log.lines() {
        assert!(
            !(line.contains("CONSOLE") || line.contains("Uncaught")),
            "console: {line}"
        );
    }
}

/// The page fetches nothing: a Content-Security-Policy that forbids it, and no URL to fetch.
fn assert_self_contained(html: &str) {
    assert!(html.contains(
        "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\""
    ));
    let remote = regex::Regex::new(r#"(?i)(src|href)\s*=\s*["']?\s*(https?:)?//"#).unwrap();
    assert!(!remote.is_match(html), "{:?}", remote.find(html));
    assert!(!html.contains("<link"), "no stylesheet is linked");
    assert!(!html.contains("@import") && !html.contains("url("));
}

fn summary_total(json: &serde_json::Value) -> u64 {
    let s = &json["summary"];
    ["deny", "warn", "note", "error", "waived"]
        .iter()
        .map(|k| s[k].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn the_example_report_matches_the_json_report_in_a_browser() {
    let out_dir = scratch("html-example", &[]);
    let html = out_dir.join("report.html");
    let json = reports(Path::new(REPO), &[], &html);
    let text = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&text);

    let all = render(&html, "", "chromium-example");
    assert_no_errors(&all);
    for name in ["records", "deny", "warn", "note", "error"] {
        assert_eq!(
            count(&all.dom, name),
            json["summary"][name].as_u64().unwrap(),
            "{name}"
        );
    }
    let findings = json["findings"].as_array().unwrap();
    let shown = rows(&all.dom);
    assert_eq!(shown.len(), findings.len());
    assert!(shown.iter().all(|row| !row.contains("hidden")));
    // The summary, written last, was moved before the findings.
    assert!(all.dom.find("id=\"summary\"").unwrap() < all.dom.find("id=\"findings\"").unwrap());
    // Charts by rule and by vendor, and the rules' sources.
    assert!(all.dom.contains("id=\"chart-rule\"") && all.dom.contains("id=\"chart-vendor\""));
    assert!(all.dom.contains("rule-src-"));
    assert!(
        all.dom.contains("<mark>DJI</mark>"),
        "the deciding value is marked"
    );
    assert!(all.dom.contains("<time datetime=\"2020-01-01\">"));
    assert_group_findings_list_their_records(&all.dom, findings);

    // A filter given in the URL's fragment hides the other rows.
    let denied = render(&html, "effect=deny", "chromium-example-deny");
    assert_no_errors(&denied);
    let deny = json["summary"]["deny"].as_u64().unwrap() as usize;
    let denied_rows = rows(&denied.dom);
    let visible: Vec<&&str> = denied_rows
        .iter()
        .filter(|r| !r.contains("hidden"))
        .collect();
    assert_eq!(visible.len(), deny);
    assert!(visible.iter().all(|r| r.contains("data-effect=\"deny\"")));
    assert!(denied.dom.contains(&format!("data-shown=\"{deny}\"")));

    let by_rule = render(&html, "rule=large-purchase&q=navy", "chromium-example-rule");
    let visible = rows(&by_rule.dom)
        .into_iter()
        .filter(|r| !r.contains("hidden"))
        .count();
    let expected = findings
        .iter()
        .filter(|f| {
            f["rule"] == "large-purchase"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("navy")
        })
        .count();
    assert!(expected > 0);
    assert_eq!(visible, expected);
}

/// Every group finding of the JSON report (policies/us-rules.policy on
/// examples/split-purchases.yaml) has its row, whose detail gives the group's keys and lists each
/// of its records with file, line and column, in the JSON report's order.
fn assert_group_findings_list_their_records(dom: &str, findings: &[serde_json::Value]) {
    let groups: Vec<(usize, &serde_json::Value)> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.get("group").is_some())
        .collect();
    assert!(!groups.is_empty(), "the example has group findings");
    for (i, finding) in groups {
        let marker = format!("<tr data-i=\"{i}\" ");
        let at = dom.find(&marker).unwrap_or_else(|| panic!("no row {i}"));
        let row = &dom[at..][..dom[at..].find("</tr>").unwrap()];
        assert!(row.contains(&format!(
            "data-rule=\"{}\"",
            finding["rule"].as_str().unwrap()
        )));
        // Found once every record was read: its vendor is its group's, not the last record's.
        if let Some(vendor) = finding["group"]["key"]["vendor"].as_str() {
            assert!(row.contains(&format!("data-vendor=\"{vendor}\"")), "{row}");
        }
        for (key, value) in finding["group"]["key"].as_object().unwrap() {
            assert!(
                row.contains(&format!(
                    "<code>{key}</code> = <code>{}</code>",
                    value.as_str().unwrap()
                )),
                "key {key} in {row}"
            );
        }
        let records = finding["group"]["records"].as_array().unwrap();
        assert!(
            row.contains(&format!("The group's {} records", records.len())),
            "{row}"
        );
        let list = &row[row.find("<ol class=\"members\">").unwrap()..];
        let mut from = 0;
        for member in records {
            let item = format!(
                "<li><code>{}</code> <span class=\"mono muted\">{}:{}:{}</span></li>",
                member["record"].as_str().unwrap(),
                member["file"].as_str().unwrap(),
                member["line"],
                member["column"]
            );
            let found = list[from..]
                .find(&item)
                .unwrap_or_else(|| panic!("{item} in {list}"));
            from += found + item.len();
        }
        // The group's first record: its line, with its line number and the key's value marked.
        let first = &records[0];
        assert!(row.contains(&format!(
            "The group's first record, <code>{}</code>",
            first["record"].as_str().unwrap()
        )));
        assert!(
            row.contains(&format!("<span class=\"ln\">{}</span>", first["line"])),
            "{row}"
        );
        assert!(row.contains("<mark>"), "{row}");
    }
}

/// Records whose values try to break out of the page.
const HOSTILE: &str = r#"- id: "</script><script>document.body.dataset.pwned = 1</script>"
  vendor: "<img src=x onerror=\"document.body.dataset.pwned=1\"> bell \u0007 escape \u001b[31m"
  date: 2020-01-01
- id: plain
  vendor: "Acme & Sons \"quoted\" 'single'"
  date: 2020-01-01
"#;

#[test]
fn hostile_record_values_do_not_inject_markup() {
    let dir = scratch(
        "html-hostile",
        &[
            (
                "p.policy",
                "rule all { deny when vendor exists message \"{vendor} on {id}\" cite \"<b>not bold</b>\" }\n",
            ),
            ("data.yaml", HOSTILE),
        ],
    );
    let html = dir.join("report.html");
    let json = reports(&dir, &["p.policy", "data.yaml"], &html);
    assert_eq!(json["summary"]["deny"], 2);
    let text = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&text);
    assert!(!text.contains("<img src=x"));
    assert!(!text.contains("<script>document"));
    assert!(!text.contains("<b>not bold"));
    assert!(!text.contains('\u{7}') && !text.contains('\u{1b}'));
    assert!(text.contains("\\u{1b}"));
    let rendered = render(&html, "", "chromium-hostile");
    assert_no_errors(&rendered);
    let body_at = rendered.dom.find("<body").unwrap();
    let body_tag = &rendered.dom[body_at..][..rendered.dom[body_at..].find('>').unwrap()];
    assert!(!body_tag.contains("pwned"), "a record value ran as script");
    assert!(!rendered.dom.contains("<img"));
    assert!(rendered.dom.contains("&lt;img src=x"), "shown as text");
    assert_eq!(rows(&rendered.dom).len(), 2);
}

/// A policy and `n` records, a third of which a rule denies.
fn large_run(n: usize) -> PathBuf {
    let mut data = String::with_capacity(n * 80);
    let vendors = ["DJI", "Autel", "Parrot", "Skydio", "Yuneec"];
    for i in 0..n {
        data.push_str(&format!(
            "- {{id: R-{i}, vendor: {}, amount: {}, date: 2019-0{}-1{}}}\n",
            vendors[i % vendors.len()],
            i % 1000,
            1 + i % 9,
            i % 10
        ));
    }
    scratch(
        "html-large",
        &[
            (
                "p.policy",
                "rule chinese { deny vendor in [DJI, Autel] }\nrule big { warn when amount > 500 }\n",
            ),
            ("data.yaml", &data),
        ],
    )
}

#[test]
fn a_large_run_caps_the_table_and_still_counts_everything() {
    let dir = large_run(20_000);
    let html = dir.join("report.html");
    let json = reports(&dir, &["p.policy", "data.yaml"], &html);
    let total = summary_total(&json);
    assert!(total > 10_000, "{total}");
    let rendered = render(&html, "effect=warn", "chromium-large");
    assert_no_errors(&rendered);
    assert_eq!(count(&rendered.dom, "records"), 20_000);
    assert_eq!(
        count(&rendered.dom, "deny"),
        json["summary"]["deny"].as_u64().unwrap()
    );
    assert_eq!(rows(&rendered.dom).len(), 10_000);
    assert!(rendered.dom.contains(&format!("data-total=\"{total}\"")));
    assert!(rendered.dom.contains("--format json"));
    let warn_rows = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .take(10_000)
        .filter(|f| f["effect"] == "warn")
        .count();
    assert!(
        rendered
            .dom
            .contains(&format!("data-shown=\"{warn_rows}\""))
    );
}
