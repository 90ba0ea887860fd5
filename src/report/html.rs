//! The HTML report: one self-contained page (inline CSS, JavaScript and SVG; nothing is fetched)
//! for people who read results rather than run them.
//!
//! It streams: the page's head and the table's header are written when the run starts, each
//! finding as a table row when it arrives (the first `TABLE_CAP` of them; the rest are counted,
//! and the page points at `--format json` for them), and the counts, the charts, waived findings,
//! data errors, warnings and the rules' sources when the run ends. The script only sorts, filters
//! and moves the summary (written last) to the top; without it the page still reads in order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use super::finding::Vendors;
use super::{CheckedRecord, Report, Reported, RunResult, Sink, Summary};
use crate::compile::Program;
use crate::diagnostic::{Diag, Severity};
use crate::eval::across::GroupNote;
use crate::source::{Location, Span};

/// How many findings the table shows; the rest are only counted.
pub(crate) const TABLE_CAP: usize = 10_000;

/// How many lines of a record a finding shows around the deciding value.
const EXCERPT_LINES: usize = 24;

/// Lines longer than this many bytes are shown as a window around the deciding value.
const LONG_LINE: usize = 400;

/// How many bars a chart shows.
const CHART_BARS: usize = 12;

/// How many records of a group a finding lists; the rest are counted (the JSON report lists
/// every one).
const GROUP_LISTED: usize = 1_000;

/// What a run read, for the page's header: known before the first finding.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The date the run took as today (`--today`, or the current date).
    pub today: Option<jiff::civil::Date>,
    /// The policy files read.
    pub policies: Vec<String>,
    /// The data files read.
    pub data: Vec<String>,
    /// Lint warnings about the policies.
    pub lints: Vec<Diag>,
}

/// A rule as the page shows it.
struct RuleView {
    id: Arc<str>,
    place: String,
    /// The rule's lines, rendered.
    source: String,
}

/// A finding's record, as a list of lines with the deciding value marked: the part of a row that
/// expands.
struct RecordExcerpt {
    /// Rendered HTML of the lines.
    html: String,
}

/// One finding, as the table shows it.
struct FindingView<'a> {
    finding: &'a Reported,
    vendor: &'a str,
    /// The record the finding is about: for a group finding, the line of its first record.
    record: Option<RecordExcerpt>,
    /// For a group finding: its keys and records, listed under the record.
    group: Option<&'a GroupNote>,
}

/// A waived finding, kept for the waived section.
struct WaivedRow {
    rule: Arc<str>,
    record: Arc<str>,
    waived: &'static str,
    reason: Arc<str>,
    owner: Option<Arc<str>>,
    until: String,
    place: String,
}

/// Writes the HTML report as findings arrive.
pub(crate) struct HtmlWriter<W: Write> {
    out: W,
    rules: Vec<RuleView>,
    record: Option<CheckedRecord>,
    /// The vendor of each finding.
    vendors: Vendors,
    written: usize,
    total: usize,
    by_rule: BTreeMap<Arc<str>, Summary>,
    by_vendor: BTreeMap<Arc<str>, Summary>,
    waived: Vec<WaivedRow>,
    files: BTreeSet<Arc<str>>,
    lints: Vec<Diag>,
}

impl<W: Write> HtmlWriter<W> {
    /// Starts the page: head, header and the table's header.
    pub fn new(mut out: W, program: &Program, info: RunInfo) -> std::io::Result<Self> {
        let rules = program
            .rules
            .iter()
            .map(|rule| {
                let at = Location {
                    source: rule.source.clone(),
                    span: rule.span,
                };
                let (file, line, column) = at.place();
                RuleView {
                    id: rule.id.clone(),
                    place: format!("{file}:{line}:{column}"),
                    source: excerpt(&at, None),
                }
            })
            .collect();
        out.write_all(head(&info).as_bytes())?;
        Ok(HtmlWriter {
            out,
            rules,
            record: None,
            vendors: Vendors::default(),
            written: 0,
            total: 0,
            by_rule: BTreeMap::new(),
            by_vendor: BTreeMap::new(),
            waived: Vec::new(),
            files: BTreeSet::new(),
            lints: info.lints,
        })
    }
}

/// The page up to the first row of the findings table.
fn head(info: &RunInfo) -> String {
    let mut page = String::with_capacity(16 * 1024);
    page.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"generator\" content=\"caveat\">\n<title>caveat report</title>\n<style>\n",
    ));
    page.push_str(include_str!("html.css"));
    page.push_str(
        "</style>\n</head>\n<body>\n<header class=\"page\">\n<h1>caveat report</h1>\n<dl>\n",
    );
    let today = info
        .today
        .map_or_else(|| "not given".to_string(), |d| d.to_string());
    let _ = writeln!(
        page,
        "<dt>Date used</dt><dd id=\"today\"><time datetime=\"{today}\">{today}</time></dd>"
    );
    for (what, files) in [("Policies", &info.policies), ("Data", &info.data)] {
        let _ = write!(page, "<dt>{what} ({})</dt><dd>", files.len());
        let shown: Vec<String> = files
            .iter()
            .map(|f| format!("<code>{}</code>", escape(f)))
            .collect();
        page.push_str(&shown.join(", "));
        page.push_str("</dd>\n");
    }
    page.push_str(concat!(
        "</dl>\n</header>\n<main>\n",
        "<div id=\"cv-errors\" role=\"alert\" hidden></div>\n",
        "<section id=\"findings\" aria-labelledby=\"findings-h\">\n",
        "<h2 id=\"findings-h\">Findings</h2>\n",
        "<form id=\"filters\" class=\"filters\" role=\"search\" aria-label=\"Filter the findings\" hidden>\n",
        "<label for=\"f-effect\">Effect<select id=\"f-effect\"><option value=\"\">all</option></select></label>\n",
        "<label for=\"f-rule\">Rule<select id=\"f-rule\"><option value=\"\">all</option></select></label>\n",
        "<label for=\"f-vendor\">Vendor<select id=\"f-vendor\"><option value=\"\">all</option></select></label>\n",
        "<label for=\"f-file\">File<select id=\"f-file\"><option value=\"\">all</option></select></label>\n",
        "<label for=\"f-q\">Text<input id=\"f-q\" type=\"search\" placeholder=\"record, message, value…\"></label>\n",
        "<button type=\"button\" id=\"f-clear\">Clear filters</button>\n",
        "</form>\n<p id=\"shown\" aria-live=\"polite\"></p>\n",
        "<div class=\"table-wrap\">\n<table>\n",
        "<caption>Findings in output order; expand a message for the record, the rule and its citation</caption>\n",
        "<thead><tr>",
        "<th scope=\"col\" data-sort=\"effect\"><button type=\"button\">Effect</button></th>",
        "<th scope=\"col\" data-sort=\"rule\"><button type=\"button\">Rule</button></th>",
        "<th scope=\"col\" data-sort=\"record\"><button type=\"button\">Record</button></th>",
        "<th scope=\"col\" data-sort=\"vendor\"><button type=\"button\">Vendor</button></th>",
        "<th scope=\"col\" data-sort=\"i\"><button type=\"button\">Place</button></th>",
        "<th scope=\"col\">Message</th>",
        "</tr></thead>\n<tbody id=\"rows\">\n",
    ));
    page
}

impl<W: Write> Sink for HtmlWriter<W> {
    fn finding(&mut self, f: &Reported) -> std::io::Result<()> {
        let vendor = self.vendors.of(f).unwrap_or_else(|| "(no vendor)".into());
        self.total += 1;
        self.by_rule
            .entry(f.rule_id.clone())
            .or_default()
            .count(f.outcome);
        self.by_vendor
            .entry(vendor.clone())
            .or_default()
            .count(f.outcome);
        if let Some(waiver) = &f.waiver {
            let (file, line, _) = waiver.at.place();
            self.waived.push(WaivedRow {
                rule: f.rule_id.clone(),
                record: f.record.clone(),
                waived: waiver.waived.name(),
                reason: waiver.reason.clone(),
                owner: waiver.owner.clone(),
                until: waiver.until.to_string(),
                place: format!("{file}:{line}"),
            });
        }
        if self.written >= TABLE_CAP {
            return Ok(());
        }
        let record = self
            .record
            .as_ref()
            .filter(|r| !f.across && std::sync::Arc::ptr_eq(&r.at.source, &f.at.source))
            .map(|r| RecordExcerpt {
                html: excerpt(&r.at, Some(f.at.span)),
            })
            .or_else(|| {
                Some(RecordExcerpt {
                    html: excerpt(&f.at, Some(f.at.span)),
                })
            });
        let view = FindingView {
            finding: f,
            vendor: &vendor,
            record,
            group: f.group.as_deref(),
        };
        let row = row(&view, self.written, &self.rules);
        self.files.insert(f.at.source.name().into());
        self.written += 1;
        self.out.write_all(row.as_bytes())
    }

    fn wants_records(&self) -> bool {
        true
    }

    fn record(&mut self, record: &CheckedRecord) -> std::io::Result<()> {
        self.vendors.record(record);
        self.record = Some(record.clone());
        Ok(())
    }
}

/// One table row.
fn row(view: &FindingView<'_>, index: usize, rules: &[RuleView]) -> String {
    let f = view.finding;
    let (file, line, column) = f.at.place();
    let effect = f.outcome.name();
    let mut html = String::with_capacity(2048);
    let _ = write!(
        html,
        "<tr data-i=\"{index}\" data-effect=\"{effect}\" data-rule=\"{rule}\" data-record=\"{record}\" data-vendor=\"{vendor}\" data-file=\"{file_attr}\">",
        rule = escape_attr(&f.rule_id),
        record = escape_attr(&f.record),
        vendor = escape_attr(view.vendor),
        file_attr = escape_attr(file),
    );
    let _ = write!(
        html,
        "<td><span class=\"badge {effect}\">{effect}</span></td><td class=\"rule\"><code>{}</code></td><td class=\"record\">{}</td><td>{}</td><td class=\"place mono\">{}:{line}:{column}</td>",
        escape(&f.rule_id),
        escape(&f.record),
        escape(view.vendor),
        escape(file),
    );
    let rule_index = f
        .rule
        .filter(|&i| i < rules.len())
        .map(|i| format!(" data-rule-index=\"{i}\""))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<td><details{rule_index}><summary>{}</summary><div class=\"detail\"><dl>",
        escape(&f.message)
    );
    if let Some(field) = &f.field {
        let value = f.at.source.slice(f.at.span);
        let _ = write!(
            html,
            "<dt>Deciding value</dt><dd><code>{}</code> = <code>{}</code></dd>",
            escape(field),
            escape(&shorten(value, 200))
        );
    }
    if let Some(cite) = &f.cite {
        let _ = write!(html, "<dt>Cite</dt><dd>{}</dd>", escape(cite));
    }
    let (policy_file, policy_line, policy_column) = f.policy.place();
    let policy = format!("{}:{policy_line}:{policy_column}", escape(policy_file));
    match f.rule {
        Some(i) => {
            let _ = write!(
                html,
                "<dt>Rule at</dt><dd class=\"mono\"><a href=\"#rule-{i}\">{policy}</a></dd>"
            );
        }
        None => {
            let _ = write!(html, "<dt>Declared at</dt><dd class=\"mono\">{policy}</dd>");
        }
    }
    if let Some(waiver) = &f.waiver {
        let (wfile, wline, _) = waiver.at.place();
        let _ = write!(
            html,
            "<dt>Waived</dt><dd>would be <strong>{}</strong>; {}{}; until {} (<span class=\"mono\">{}:{wline}</span>)</dd>",
            waiver.waived.name(),
            escape(&waiver.reason),
            waiver
                .owner
                .as_ref()
                .map(|o| format!(", by {}", escape(o)))
                .unwrap_or_default(),
            waiver.until,
            escape(wfile),
        );
    }
    if let Some(group) = view.group {
        html.push_str("<dt>Group</dt><dd>");
        for (n, (key, value)) in group.keys.iter().enumerate() {
            if n > 0 {
                html.push_str(", ");
            }
            let _ = write!(
                html,
                "<code>{}</code> = <code>{}</code>",
                escape(key),
                escape(value)
            );
        }
        html.push_str("</dd>");
    }
    html.push_str("</dl>");
    if let Some(record) = &view.record {
        match view.group {
            Some(group) => {
                let first = group.records.first().map_or("", |m| &*m.record);
                let _ = write!(
                    html,
                    "<div><h3>The group's first record, <code>{}</code></h3>{}</div>",
                    escape(first),
                    record.html
                );
            }
            None => {
                let _ = write!(
                    html,
                    "<div><h3>Record <code>{}</code></h3>{}</div>",
                    escape(&f.record),
                    record.html
                );
            }
        }
    }
    if let Some(group) = view.group {
        html.push_str(&group_list(group));
    }
    if f.rule.is_some_and(|i| i < rules.len()) {
        html.push_str("<div><h3>Rule</h3><div class=\"rule-src\"></div></div>");
    }
    html.push_str("</div></details></td></tr>\n");
    html
}

/// The records of a group finding: each record's name and where it is, the first
/// [`GROUP_LISTED`] of them.
fn group_list(group: &GroupNote) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<div class=\"group\"><h3>The group's {} record{}</h3><ol class=\"members\">",
        group.records.len(),
        if group.records.len() == 1 { "" } else { "s" }
    );
    for member in group.records.iter().take(GROUP_LISTED) {
        let _ = write!(
            html,
            "<li><code>{}</code> <span class=\"mono muted\">{}:{}:{}</span></li>",
            escape(&member.record),
            escape(&member.file),
            member.line,
            member.column
        );
    }
    html.push_str("</ol>");
    if group.records.len() > GROUP_LISTED {
        let _ = write!(
            html,
            "<p class=\"muted\">and {} more (the JSON report lists every record)</p>",
            group.records.len() - GROUP_LISTED
        );
    }
    html.push_str("</div>");
    html
}

impl<W: Write> Report for HtmlWriter<W> {
    fn finish(&mut self, result: &RunResult) -> std::io::Result<()> {
        let mut page = String::with_capacity(64 * 1024);
        page.push_str("</tbody>\n</table>\n</div>\n");
        if self.total > self.written {
            let _ = writeln!(
                page,
                "<p class=\"notice\" id=\"capped\" data-total=\"{}\" data-shown=\"{}\">The table shows the first {} of {} findings. The counts and charts above include all of them; run <code>caveat check --format json</code> for every finding.</p>",
                self.total, self.written, self.written, self.total
            );
        }
        page.push_str("</section>\n");
        self.summary(&mut page, &result.summary);
        self.waived_section(&mut page);
        diag_section(
            &mut page,
            "data-errors",
            "Data errors",
            "records and files that could not be read",
            &result.data_errors,
        );
        let mut warnings: Vec<&Diag> = self.lints.iter().collect();
        warnings.extend(result.policy_warnings.iter());
        let warnings: Vec<Diag> = warnings.into_iter().cloned().collect();
        diag_section(
            &mut page,
            "warnings",
            "Warnings about the policies",
            "lint warnings, and waivers expired, expiring or stale",
            &warnings,
        );
        self.rules_section(&mut page);
        page.push_str("</main>\n<script>\n");
        page.push_str(include_str!("html.js"));
        page.push_str("</script>\n</body>\n</html>\n");
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }
}

impl<W: Write> HtmlWriter<W> {
    /// Counts by effect and the charts.
    fn summary(&self, page: &mut String, summary: &Summary) {
        page.push_str(
            "<section id=\"summary\" aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n<ul class=\"counts\">\n",
        );
        let _ = writeln!(
            page,
            "<li><span class=\"n\" data-count=\"records\">{}</span> records</li>",
            summary.records
        );
        for (name, n) in [
            ("deny", summary.deny),
            ("warn", summary.warn),
            ("note", summary.note),
            ("error", summary.error),
            ("waived", summary.waived),
        ] {
            let _ = writeln!(
                page,
                "<li class=\"{name}\"><span class=\"n\" data-count=\"{name}\">{n}</span> {name}</li>"
            );
        }
        page.push_str("</ul>\n<div class=\"charts\">\n");
        chart(page, "chart-rule", "Findings by rule", &self.by_rule);
        chart(page, "chart-vendor", "Findings by vendor", &self.by_vendor);
        page.push_str("</div>\n</section>\n");
    }

    /// The waived findings with their waivers.
    fn waived_section(&self, page: &mut String) {
        if self.waived.is_empty() {
            return;
        }
        page.push_str(concat!(
            "<section id=\"waived\" aria-labelledby=\"waived-h\">\n<h2 id=\"waived-h\">Waived findings</h2>\n",
            "<div class=\"table-wrap\"><table class=\"plain\"><caption>Findings a waiver covers, with its reason, owner and expiry</caption>\n",
            "<thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Record</th><th scope=\"col\">Would be</th>",
            "<th scope=\"col\">Reason</th><th scope=\"col\">Owner</th><th scope=\"col\">Until</th><th scope=\"col\">Waiver</th></tr></thead>\n<tbody>\n",
        ));
        for w in self.waived.iter().take(TABLE_CAP) {
            let _ = writeln!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}</td><td>{}</td><td><time>{}</time></td><td class=\"mono\">{}</td></tr>",
                escape(&w.rule),
                escape(&w.record),
                w.waived,
                w.waived,
                escape(&w.reason),
                w.owner.as_deref().map_or_else(|| "—".to_string(), escape),
                w.until,
                escape(&w.place),
            );
        }
        page.push_str("</tbody></table></div>\n</section>\n");
    }

    /// Every rule's source, once, for the findings to show.
    fn rules_section(&self, page: &mut String) {
        page.push_str(
            "<section id=\"rules\" aria-labelledby=\"rules-h\">\n<h2 id=\"rules-h\">Rules</h2>\n",
        );
        let fired: BTreeSet<&str> = self.by_rule.keys().map(|k| k.as_ref()).collect();
        let mut any = false;
        for (i, rule) in self.rules.iter().enumerate() {
            if !fired.contains(rule.id.as_ref()) {
                continue;
            }
            any = true;
            let _ = writeln!(
                page,
                "<div id=\"rule-{i}\"><h3><code>{}</code> <span class=\"muted mono\">{}</span></h3><div id=\"rule-src-{i}\">{}</div></div>",
                escape(&rule.id),
                escape(&rule.place),
                rule.source
            );
        }
        if !any {
            page.push_str("<p>No rule fired.</p>\n");
        }
        page.push_str("</section>\n");
    }
}

/// A section listing diagnostics, left out when there are none.
fn diag_section(page: &mut String, id: &str, title: &str, what: &str, diags: &[Diag]) {
    if diags.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{title} ({})</h2>\n<p class=\"muted\">{what}</p>\n<ul class=\"diags\">\n",
        diags.len()
    );
    for diag in diags {
        let level = match diag.severity {
            Severity::Error => "error",
            Severity::Warning => "warn",
            Severity::Advice => "note",
        };
        let place = diag
            .place()
            .map(|(file, line, column)| {
                format!(
                    " <span class=\"mono\">{}:{line}:{column}</span>",
                    escape(file)
                )
            })
            .unwrap_or_default();
        let help = diag
            .help
            .as_ref()
            .map(|h| format!("<br><span class=\"muted\">help: {}</span>", escape(h)))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<li><span class=\"badge {level}\">{level}</span> <code>{}</code> {}{place}{help}</li>",
            diag.code,
            escape(&diag.message)
        );
    }
    page.push_str("</ul>\n</section>\n");
}

/// The colours of the effects in charts (the same as the badges' text colours).
const EFFECT_COLOURS: [(&str, &str); 5] = [
    ("deny", "#a4161a"),
    ("warn", "#c27c00"),
    ("note", "#0b4fa8"),
    ("error", "#5b2a9e"),
    ("waived", "#7b8794"),
];

/// A horizontal bar chart of the rows with the most findings, stacked by effect, as inline SVG.
fn chart(page: &mut String, id: &str, title: &str, rows: &BTreeMap<Arc<str>, Summary>) {
    let total = |c: &Summary| c.deny + c.warn + c.note + c.error + c.waived;
    let mut sorted: Vec<(&Arc<str>, &Summary)> = rows.iter().collect();
    sorted.sort_by_key(|(name, counts)| (std::cmp::Reverse(total(counts)), *name));
    let more = sorted.len().saturating_sub(CHART_BARS);
    sorted.truncate(CHART_BARS);
    let max = sorted
        .iter()
        .map(|(_, c)| total(c))
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_width, bar_width, row_height) = (190.0_f64, 300.0_f64, 24.0_f64);
    let height = (sorted.len().max(1) as f64) * row_height + 8.0;
    let width = label_width + bar_width + 60.0;
    let _ = write!(
        page,
        "<figure class=\"chart\" id=\"{id}\"><figcaption id=\"{id}-t\">{title}</figcaption>\
         <svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\">\
         <desc id=\"{id}-d\">{}</desc>",
        escape_attr(
            &sorted
                .iter()
                .map(|(name, c)| format!("{name}: {}", total(c)))
                .collect::<Vec<_>>()
                .join("; ")
        )
    );
    if sorted.is_empty() {
        page.push_str(
            "<text x=\"4\" y=\"20\" font-size=\"13\" fill=\"#4a535d\">no findings</text>",
        );
    }
    for (i, (name, counts)) in sorted.iter().enumerate() {
        let y = i as f64 * row_height + 4.0;
        let _ = write!(
            page,
            "<g><title>{}: {} deny, {} warn, {} note, {} error, {} waived</title>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1b1f24\">{}</text>",
            escape_attr(name),
            counts.deny,
            counts.warn,
            counts.note,
            counts.error,
            counts.waived,
            label_width - 8.0,
            y + 15.0,
            escape_attr(&shorten(name, 26))
        );
        let mut x = label_width;
        for ((_, colour), n) in EFFECT_COLOURS.iter().zip([
            counts.deny,
            counts.warn,
            counts.note,
            counts.error,
            counts.waived,
        ]) {
            if n == 0 {
                continue;
            }
            let w = (n as f64 / max as f64 * bar_width).max(2.0);
            let _ = write!(
                page,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>",
                y + 2.0,
                row_height - 8.0
            );
            x += w;
        }
        let _ = write!(
            page,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#1b1f24\">{}</text></g>",
            x + 6.0,
            y + 15.0,
            total(counts)
        );
    }
    page.push_str("</svg><div class=\"legend\" aria-hidden=\"true\">");
    for (name, colour) in EFFECT_COLOURS {
        let _ = write!(page, "<span style=\"color:{colour}\">{name}</span>");
    }
    page.push_str("</div>");
    if more > 0 {
        let _ = write!(
            page,
            "<p class=\"muted\">and {more} more (the JSON report lists every finding)</p>"
        );
    }
    page.push_str("</figure>\n");
}

/// The lines of `at` (a record, or a rule) with line numbers, the part `mark` covers
/// highlighted; at most [`EXCERPT_LINES`] lines, around the mark.
fn excerpt(at: &Location, mark: Option<Span>) -> String {
    let source = &at.source;
    let text = source.text();
    let span = source.clamp(at.span);
    let start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| span.end + i);
    let mark = mark.map(|m| source.clamp(m));
    let (first_line, _) = source.line_col(start);
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut offset = start;
    for line in text.get(start..end).unwrap_or("").split('\n') {
        lines.push((offset, offset + line.len()));
        offset += line.len() + 1;
    }
    // Trailing blank lines of a record add nothing.
    while lines.len() > 1
        && lines
            .last()
            .is_some_and(|(a, b)| text.get(*a..*b).is_some_and(|l| l.trim().is_empty()))
    {
        lines.pop();
    }
    let marked_line = mark
        .and_then(|m| {
            lines
                .iter()
                .position(|(a, b)| m.start >= *a && m.start <= *b)
        })
        .unwrap_or(0);
    let from = marked_line
        .saturating_sub(EXCERPT_LINES / 2)
        .min(lines.len().saturating_sub(EXCERPT_LINES));
    let mut html = String::from("<pre class=\"src\">");
    if from > 0 {
        html.push_str("<span class=\"muted\">…</span>\n");
    }
    for (n, (a, b)) in lines.iter().enumerate().skip(from).take(EXCERPT_LINES) {
        let _ = write!(html, "<span class=\"ln\">{}</span>", first_line + n);
        let line = text.get(*a..*b).unwrap_or("").trim_end_matches('\r');
        let b = a + line.len();
        let (from_byte, to_byte) = if line.len() > LONG_LINE {
            let centre = mark.map_or(*a, |m| m.start.clamp(*a, b));
            let window = source.clamp(Span::new(
                centre.saturating_sub(LONG_LINE / 2).max(*a),
                (centre + LONG_LINE / 2).min(b),
            ));
            (window.start, window.end)
        } else {
            (*a, b)
        };
        if from_byte > *a {
            html.push('…');
        }
        match mark.filter(|m| {
            m.end > from_byte && m.start < to_byte
                || (m.start == m.end && m.start >= from_byte && m.start < to_byte)
        }) {
            Some(m) => {
                let m_start = m.start.max(from_byte);
                let m_end = m.end.min(to_byte);
                html.push_str(&escape(text.get(from_byte..m_start).unwrap_or("")));
                html.push_str("<mark>");
                html.push_str(&escape(text.get(m_start..m_end).unwrap_or("")));
                html.push_str("</mark>");
                html.push_str(&escape(text.get(m_end..to_byte).unwrap_or("")));
            }
            None => html.push_str(&escape(text.get(from_byte..to_byte).unwrap_or(""))),
        }
        if to_byte < b {
            html.push('…');
        }
        html.push('\n');
    }
    if from + EXCERPT_LINES < lines.len() {
        html.push_str("<span class=\"muted\">…</span>\n");
    }
    html.push_str("</pre>");
    html
}

/// At most `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// `text` safe in HTML text: markup characters as entities, the characters every text report
/// escapes ([`super::text::hidden`]: control characters other than tab and line feed, and the
/// bidirectional controls) shown, marked, as `\u{…}`, never passed through.
pub(crate) fn escape(text: &str) -> String {
    escape_as(text, true)
}

/// `text` safe in a quoted attribute and in SVG text: as [`escape`], the control characters
/// written as `\u{…}` without markup.
pub(crate) fn escape_attr(text: &str) -> String {
    escape_as(text, false)
}

fn escape_as(text: &str, marked: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // The same characters every text report escapes (`super::text`), written the same way.
            c if super::text::hidden(c) && marked => {
                out.push_str("<span class=\"ctl\">");
                super::text::push_escaped(c, &mut out);
                out.push_str("</span>");
            }
            c if super::text::hidden(c) => super::text::push_escaped(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_attr};

    #[test]
    fn escape_leaves_no_markup_and_no_control_characters() {
        let hostile = "</script><img src=x onerror=alert(1)>\"'&\u{0}\u{1b}[31m\r";
        let escaped = escape(hostile);
        assert!(!escaped.contains("</script"));
        assert!(!escaped.contains("<img"));
        assert!(
            !escaped.contains('\u{0}') && !escaped.contains('\u{1b}') && !escaped.contains('\r')
        );
        assert!(escaped.contains("&lt;/script&gt;"));
        assert!(escaped.contains("\\u{1b}"));
        let attr = escape_attr(hostile);
        assert!(!attr.contains('<') && !attr.contains('"') && !attr.contains('\u{1b}'));
    }

    #[test]
    fn escape_shows_what_every_text_report_shows() {
        // The characters of `report::text`: bidirectional overrides too, written the same way.
        let text = "a\u{202e}b\u{9b}c\td\ne";
        assert_eq!(
            escape(text),
            "a<span class=\"ctl\">\\u{202e}</span>b<span class=\"ctl\">\\u{9b}</span>c\td\ne"
        );
        assert_eq!(escape_attr(text), crate::report::text::visible(text));
    }
}
