//! `caveat lsp` driven as an editor drives it: a scripted client spawns the real binary and
//! speaks JSON-RPC with `Content-Length` framing over its stdin and stdout.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long the client waits for an answer before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// A client speaking to a `caveat lsp` process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: mpsc::Receiver<Value>,
    /// Notifications and server requests read while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
    /// `workspace/codeLens/refresh` requests the server sent.
    refreshes: usize,
}

impl Client {
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_caveat"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            pending: Vec::new(),
            next_id: 0,
            refreshes: 0,
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message from the server; answers its requests on the way.
    fn next(&mut self) -> Value {
        let message = self
            .messages
            .recv_timeout(PATIENCE)
            .expect("the server answered in time");
        if message.get("method").is_some() && message.get("id").is_some() {
            if message["method"] == "workspace/codeLens/refresh" {
                self.refreshes += 1;
            }
            let id = message["id"].clone();
            self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
        }
        message
    }

    /// Sends a request and waits for its response (the whole response object).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.next();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
            self.pending.push(message);
        }
    }

    /// The result of a request, which must succeed.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri` (already read ones first).
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_ours = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(at) = self.pending.iter().position(is_ours) {
            let message = self.pending.remove(at);
            return message["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let message = self.next();
            if is_ours(&message) {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.pending.push(message);
        }
    }

    /// Forgets what was published so far.
    fn drain(&mut self) {
        while let Ok(message) = self.messages.recv_timeout(Duration::from_millis(200)) {
            if message.get("id").is_some() && message.get("method").is_some() {
                let id = message["id"].clone();
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
            }
        }
        self.pending.clear();
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "caveat", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, uri: &str, position: (usize, usize)) -> Value {
        self.request(
            method,
            json!({
                "textDocument": {"uri": uri},
                "position": {"line": position.0, "character": position.1},
                "context": {"includeDeclaration": true},
            }),
        )
    }

    fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}");
                return;
            }
            assert!(started.elapsed() < PATIENCE, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

const MAIN: &str = r#"import "vendors.policy"

record {
  id: string
  vendor: string
  date: date
  amount: number
  exemption?: { kind: urgent | training, approved_by: string }
}

let cutoff = 2018-05-23

rule dod-memo {
  deny vendor in chinese_uas after cutoff
  unless exemption.kind == urgent
  message "{vendor} bought on {date}"
  cite "DoD memo"
}

rule big {
  warn when amount > 1000
}

rule long-id {
  note when len(id) > 20
}

waive dod-memo for id == "A-2" until 2099-01-01 because "training need" by "OSD"

test "dji is denied" {
  given { id: T, vendor: DJI, date: 2019-01-01, amount: 5 }
  expect deny dod-memo
}
"#;

const VENDORS: &str = r#"alias DJI = ["SZ DJI Technology Co., Ltd."]
let chinese_uas = [DJI, Autel]
"#;

const DATA: &str = r#"- {id: A-1, vendor: DJI, date: 2019-01-01, amount: 5000}
- {id: A-2, vendor: Autel, date: 2019-02-01, amount: 50}
- {id: A-3, vendor: Parrot, date: 2019-03-01, amount: 2000, exemption: {kind: urgent, approved_by: OSD}}
- {id: A-4, vendor: "SZ DJI Technology Co., Ltd.", date: 2019-04-01, amount: 10}
"#;

fn workspace(name: &str) -> PathBuf {
    common::scratch(
        name,
        &[
            (
                "caveat.toml",
                "policies = [\"policies\"]\ndata = [\"data\"]\n",
            ),
            ("policies/main.policy", MAIN),
            ("policies/vendors.policy", VENDORS),
            ("data/purchases.yaml", DATA),
        ],
    )
}

fn initialize(dir: &Path) -> Client {
    let mut client = Client::start(dir);
    let result = client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri(dir),
            "capabilities": {"workspace": {"codeLens": {"refreshSupport": true}}},
        }),
    );
    let capabilities = &result["capabilities"];
    for provider in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "completionProvider",
        "documentFormattingProvider",
        "documentSymbolProvider",
        "codeLensProvider",
        "codeActionProvider",
    ] {
        assert!(!capabilities[provider].is_null(), "{provider}");
    }
    client.notify("initialized", json!({}));
    client
}

/// The line and column of the first `needle` in `text`, plus `offset` columns.
fn find(text: &str, needle: &str, offset: usize) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    let line = text[..at].matches('\n').count();
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, column + offset)
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// Applies one text edit (ASCII text) to `text`.
fn apply(text: &str, edit: &Value) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let character = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + character
    };
    let (start, end) = (
        offset(&edit["range"]["start"]),
        offset(&edit["range"]["end"]),
    );
    format!(
        "{}{}{}",
        &text[..start],
        edit["newText"].as_str().unwrap(),
        &text[end..]
    )
}

#[test]
fn an_editor_session() {
    let dir = workspace("lsp-session");
    let main = uri(&dir.join("policies/main.policy"));
    let vendors = uri(&dir.join("policies/vendors.policy"));
    let mut client = initialize(&dir);

    // The whole workspace is checked when the server starts: both files are clean.
    assert_eq!(client.diagnostics(&main), Vec::<Value>::new());

    // A misspelt field: a diagnostic with its code, and a quick fix from the did-you-mean.
    let typo = MAIN.replace("unless exemption.kind", "unless exemption.knd");
    client.open(&main, &typo);
    let diagnostics = client.diagnostics(&main);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["code"], "caveat::lint::unknown_field");
    assert_eq!(diagnostic["severity"], 1);
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("did you mean")
    );
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": main},
            "range": diagnostic["range"],
            "context": {"diagnostics": [diagnostic]},
        }),
    );
    assert_eq!(actions[0]["kind"], "quickfix");
    let edit = &actions[0]["edit"]["changes"][&main][0];
    assert_eq!(apply(&typo, edit), MAIN, "the quick fix restores the field");

    // Related information: a rule id used twice points at the first.
    let twice = MAIN.replace("rule big {", "rule dod-memo {");
    client.change(&main, 2, &twice);
    let diagnostics = client.diagnostics(&main);
    let duplicate = diagnostics
        .iter()
        .find(|d| d["code"] == "caveat::check::duplicate_rule_id")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert!(
        duplicate["relatedInformation"][0]["location"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("main.policy")
    );

    // Fixed: the diagnostics are cleared.
    client.change(&main, 3, MAIN);
    assert_eq!(client.diagnostics(&main), Vec::<Value>::new());

    // Hover: a let shows its value, a rule id in a waiver the rule, a function its signature.
    let hover = client.at("textDocument/hover", &main, find(MAIN, "after cutoff", 7));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("2018-05-23"),
        "{hover}"
    );
    let hover = client.at("textDocument/hover", &main, find(MAIN, "waive dod-memo", 7));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("deny vendor in chinese_uas after cutoff"),
        "{text}"
    );
    let hover = client.at("textDocument/hover", &main, find(MAIN, "len(id)", 1));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("len(STRING or LIST)")
    );
    // A field: its schema type and, once the data is read, values seen in it.
    let field = find(MAIN, "exemption.kind ==", 11);
    let started = Instant::now();
    loop {
        let hover = client.at("textDocument/hover", &main, field);
        let text = hover["contents"]["value"].as_str().unwrap().to_string();
        assert!(text.contains("urgent | training"), "{text}");
        if text.contains("values seen in the data: `urgent`") {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "{text}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Go to definition: a let in another file, a rule id in `expect`, a schema field, an import.
    let definition = client.at(
        "textDocument/definition",
        &main,
        find(MAIN, "chinese_uas", 2),
    );
    assert_eq!(definition[0]["uri"], vendors);
    assert_eq!(definition[0]["range"]["start"]["line"], 1);
    let definition = client.at(
        "textDocument/definition",
        &main,
        find(MAIN, "expect deny dod-memo", 13),
    );
    assert_eq!(definition[0]["uri"], main);
    assert_eq!(
        definition[0]["range"]["start"]["line"],
        find(MAIN, "rule dod-memo", 0).0
    );
    let definition = client.at(
        "textDocument/definition",
        &main,
        find(MAIN, "amount > 1000", 1),
    );
    assert_eq!(
        definition[0]["range"]["start"]["line"],
        find(MAIN, "amount: number", 0).0
    );
    let definition = client.at(
        "textDocument/definition",
        &main,
        find(MAIN, "\"vendors.policy\"", 3),
    );
    assert_eq!(definition[0]["uri"], vendors);

    // References: the rule, the waiver and the test.
    let references = client.at(
        "textDocument/references",
        &main,
        find(MAIN, "rule dod-memo", 6),
    );
    assert_eq!(references.as_array().unwrap().len(), 3, "{references:#?}");
    let references = client.at(
        "textDocument/references",
        &vendors,
        find(VENDORS, "DJI =", 0),
    );
    assert_eq!(references.as_array().unwrap().len(), 2, "{references:#?}");

    // Completion, by place.
    let ids = labels(&client.at("textDocument/completion", &main, find(MAIN, "waive ", 6)));
    assert!(
        ids.contains(&"dod-memo".to_string()) && ids.contains(&"big".to_string()),
        "{ids:?}"
    );
    let members = labels(&client.at(
        "textDocument/completion",
        &main,
        find(MAIN, "exemption.kind", 10),
    ));
    assert!(
        members.contains(&"kind".to_string()) && members.contains(&"approved_by".to_string()),
        "{members:?}"
    );
    let start = labels(&client.at(
        "textDocument/completion",
        &main,
        find(MAIN, "  deny vendor", 2),
    ));
    assert!(
        start.contains(&"deny".to_string()) && start.contains(&"require".to_string()),
        "{start:?}"
    );
    let expression = labels(&client.at(
        "textDocument/completion",
        &main,
        find(MAIN, "warn when ", 10),
    ));
    // Lets and aliases, functions, schema fields, fields seen only in the data, keywords.
    for wanted in ["cutoff", "chinese_uas", "DJI", "count", "amount", "exists"] {
        assert!(
            expression.contains(&wanted.to_string()),
            "{wanted}: {expression:?}"
        );
    }

    // Document symbols: rules, lets and tests.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": main}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for wanted in ["dod-memo", "big", "long-id", "cutoff", "dji is denied"] {
        assert!(names.contains(&wanted), "{names:?}");
    }

    // Code lenses: each rule's count on the configured data, computed in the background.
    let lens_titles = |client: &mut Client| -> Vec<String> {
        let lenses = client.request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": main}}),
        );
        lenses
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["command"]["title"].as_str().unwrap().to_string())
            .collect()
    };
    let wait_for = |client: &mut Client, wanted: &str| {
        let started = Instant::now();
        loop {
            let titles = lens_titles(client);
            if titles.first().is_some_and(|t| t == wanted) {
                return titles;
            }
            assert!(started.elapsed() < PATIENCE, "{titles:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let titles = wait_for(&mut client, "fires on 2 of 4 records (1 more waived)");
    assert_eq!(titles[1], "fires on 2 of 4 records");
    assert!(
        client.refreshes > 0,
        "the server asked the editor to refresh its lenses"
    );
    // A change starts a new count; the old one is never shown for the new text.
    client.change(&main, 4, &MAIN.replace("amount > 1000", "amount > 3000"));
    let titles = wait_for(&mut client, "fires on 2 of 4 records (1 more waived)");
    assert!(
        titles[1] == "fires on 1 of 4 records" || titles[1] == "counting…",
        "{titles:?}"
    );
    let started = Instant::now();
    while lens_titles(&mut client)[1] != "fires on 1 of 4 records" {
        assert!(started.elapsed() < PATIENCE);
        std::thread::sleep(Duration::from_millis(50));
    }

    // Formatting: the formatter's layout, as one edit.
    let messy = MAIN.replace("  warn when amount > 1000", "    warn   when amount>1000");
    client.change(&main, 5, &messy);
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": main}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits.as_array().unwrap().len(), 1);
    assert_eq!(apply(&messy, &edits[0]), MAIN);

    client.shutdown();
}

/// A policy of the language's §11-§13: a group rule with keys, `where`, rule-local `let`s and
/// placeholders, and a rule that compares a record with all the others.
const ACROSS: &str = r#"record {
  id: string
  vendor: string
  date: date
  amount: number
}

rule split {
  let total = sum(group.amount)
  warn per vendor, week(date) as wk
  where amount <= $10_000
  when count(group) >= 2 and total > $10_000
  message "{count(group)} purchases from {vendor} in {wk} total {total}"
}

rule above {
  let total = amount
  note where amount exists when total > upper_fence(all.total)
}

rule shares {
  let each share = amount / 100
  note per vendor when any r in group where r.share > max(group.share) / 2
}
"#;

#[test]
fn the_language_of_rules_across_records() {
    let dir = common::scratch(
        "lsp-across",
        &[
            (
                "caveat.toml",
                "policies = [\"policies\"]\ndata = [\"data\"]\n",
            ),
            ("policies/across.policy", ACROSS),
            ("data/purchases.yaml", DATA),
        ],
    );
    let policy = uri(&dir.join("policies/across.policy"));
    let mut client = initialize(&dir);
    assert_eq!(client.diagnostics(&policy), Vec::<Value>::new());
    let completion = |client: &mut Client, at: (usize, usize)| -> Vec<String> {
        labels(&client.at("textDocument/completion", &policy, at))
    };
    let has = |labels: &[String], wanted: &[&str]| {
        for w in wanted {
            assert!(labels.contains(&w.to_string()), "{w}: {labels:?}");
        }
    };
    let lacks = |labels: &[String], unwanted: &[&str]| {
        for u in unwanted {
            assert!(!labels.contains(&u.to_string()), "{u}: {labels:?}");
        }
    };

    // Right after the effect: the filters, `per` and the clauses.
    let after_effect = completion(&mut client, find(ACROSS, "warn per", 5));
    has(&after_effect, &["per", "where", "having", "when", "vendor"]);
    lacks(&after_effect, &["amount", "count"]);
    // After a key of `per`: its `as`, or the next clause.
    has(
        &completion(&mut client, find(ACROSS, "as wk", 0)),
        &["as", "where", "having"],
    );
    // A line of a rule block: its `let`s, its clauses and metadata, not `import`.
    let line = completion(&mut client, find(ACROSS, "  where amount", 2));
    has(
        &line,
        &["let", "where", "having", "when", "message", "cite"],
    );
    lacks(&line, &["import", "alias", "given"]);
    // A line outside any block: statements, not clauses.
    let top = completion(&mut client, find(ACROSS, "rule above", 0));
    has(&top, &["rule", "let", "import", "waive", "test"]);
    lacks(&top, &["where", "having", "message"]);
    // In a group rule's expression: `group`, `all.`, `if`/`then`/`else`, the rule's own names,
    // and every function, the new ones with their doc.
    let items = client.at(
        "textDocument/completion",
        &policy,
        find(ACROSS, "when count(group)", 5),
    );
    let expression = labels(&items);
    has(
        &expression,
        &[
            "group", "all.", "if", "then", "else", "total", "wk", "amount", "count",
        ],
    );
    has(
        &expression,
        &[
            "fiscal_year",
            "week",
            "quantile",
            "upper_fence",
            "distinct",
            "round",
            "today",
        ],
    );
    let quantile = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "quantile")
        .unwrap();
    assert!(
        quantile["detail"]
            .as_str()
            .unwrap()
            .starts_with("quantile(LIST, P): "),
        "{quantile}"
    );
    // After `all.`: the rule's lets, nothing else.
    assert_eq!(
        completion(&mut client, find(ACROSS, "all.total", 4)),
        ["total"]
    );
    // Also right after the `.` is typed, when the rule does not parse yet.
    let typing = ACROSS.replace("upper_fence(all.total)", "upper_fence(all.");
    client.change(&policy, 2, &typing);
    assert_eq!(
        completion(&mut client, find(&typing, "fence(all.", 10)),
        ["total"]
    );
    client.change(&policy, 3, ACROSS);
    // After `r.`, `r` ranging over the group: the records' fields and the rule's `let each`.
    let member = completion(&mut client, find(ACROSS, "r.share", 2));
    has(&member, &["share", "amount", "vendor"]);
    lacks(&member, &["count", "when"]);
    // In a comment, nothing.
    let commented = ACROSS.replace("rule above {", "rule above { # see amount.");
    client.change(&policy, 4, &commented);
    assert!(completion(&mut client, find(&commented, "see amount.", 11)).is_empty());
    client.change(&policy, 5, ACROSS);

    // Hover on a new function: its call form and its line of doc.
    let hover = client.at(
        "textDocument/hover",
        &policy,
        find(ACROSS, "upper_fence", 2),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("upper_fence(LIST)") && text.contains("Q3 + 1.5"),
        "{text}"
    );
    // Hover on a keyword: what it does; in a comment, nothing.
    let keyword = |client: &mut Client, at: (usize, usize)| {
        let hover = client.at("textDocument/hover", &policy, at);
        hover["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        keyword(&mut client, find(ACROSS, "count(group)", 7)).starts_with("`group`: the records"),
    );
    assert!(keyword(&mut client, find(ACROSS, "per vendor when any", 1)).starts_with("`per KEY"));
    assert!(keyword(&mut client, find(ACROSS, "  where amount", 4)).starts_with("`where COND`"));
    assert!(keyword(&mut client, find(ACROSS, "and total >", 1)).starts_with("`A and B`"));
    // A word of a test's `given` data is the data's, not a keyword.
    let tested =
        format!("{ACROSS}test \"t\" {{\n  given {{per: O'Brien, group: 1}}\n  expect pass\n}}\n");
    client.change(&policy, 6, &tested);
    assert_eq!(keyword(&mut client, find(&tested, "group: 1", 1)), "");
    client.change(&policy, 7, ACROSS);
    let commented = ACROSS.replace("rule above {", "rule above { # where it goes");
    client.change(&policy, 8, &commented);
    assert_eq!(
        keyword(&mut client, find(&commented, "where it goes", 1)),
        ""
    );
    client.change(&policy, 9, ACROSS);
    // A rule-local `let` is the rule's own: definition and references stay in its rule.
    let above_let = find(ACROSS, "let total = amount", 4);
    let definition = client.at(
        "textDocument/definition",
        &policy,
        find(ACROSS, "total > upper", 0),
    );
    assert_eq!(definition[0]["range"]["start"]["line"], above_let.0);
    let hover = client.at("textDocument/hover", &policy, find(ACROSS, "all.total", 5));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("let total = amount"),
        "{hover}"
    );
    let references = client.at(
        "textDocument/references",
        &policy,
        find(ACROSS, "let total = sum", 4),
    );
    let lines: Vec<u64> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    let line_of = |needle: &str| find(ACROSS, needle, 0).0 as u64;
    assert_eq!(
        lines,
        [
            line_of("let total = sum"),
            line_of("total > $10_000"),
            line_of("message \"{count")
        ],
        "the declaration, the condition and the placeholder"
    );
    // `r.NAME` and `group.NAME` read the rule's `let each`: its definition, its hover.
    let each_let = find(ACROSS, "let each share", 0);
    for (needle, offset) in [("r.share >", 2), ("group.share)", 6)] {
        let definition = client.at(
            "textDocument/definition",
            &policy,
            find(ACROSS, needle, offset),
        );
        assert_eq!(
            definition[0]["range"]["start"]["line"], each_let.0,
            "{needle}"
        );
    }
    let hover = client.at(
        "textDocument/hover",
        &policy,
        find(ACROSS, "group.share)", 6),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("let each share = amount / 100"),
        "{hover}"
    );
    // Document symbols: a rule's lets and named keys are its children.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": policy}}),
    );
    let split = symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "split")
        .unwrap();
    let children: Vec<&str> = split["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["total", "wk"]);
    client.shutdown();
}

#[test]
fn bad_input_never_stops_the_server() {
    let dir = workspace("lsp-bad-input");
    let mut client = initialize(&dir);
    let main = uri(&dir.join("policies/main.policy"));
    client.drain();

    // Malformed frames: bad JSON, a bad header, JSON that is not a message.
    client.raw(b"Content-Length: 9\r\n\r\n{not json");
    client.raw(b"Garbage without a colon\r\n\r\n");
    client.raw(b"Content-Length: many\r\n\r\n");
    client.send(&json!({"hello": "world"}));
    // An unknown method gets an error, and so do bad parameters.
    let response = client.call("caveat/unknown", json!({}));
    assert_eq!(response["error"]["code"], -32601);
    let response = client.call("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(response["error"]["code"], -32602);

    // A file that does not parse: its diagnostics, and every request on it still answers.
    let broken_path = dir.join("scratch.policy");
    std::fs::write(&broken_path, "").unwrap();
    let broken = uri(&broken_path);
    let text = "rule x {\n  deny when (amount >\n}\nlet = \n";
    client.open(&broken, text);
    let diagnostics = client.diagnostics(&broken);
    assert!(!diagnostics.is_empty());
    assert!(
        diagnostics
            .iter()
            .all(|d| d["code"].as_str().unwrap().starts_with("caveat::"))
    );
    for method in [
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/completion",
    ] {
        let response = client.call(method, json!({"textDocument": {"uri": broken}, "position": {"line": 1, "character": 14}, "context": {"includeDeclaration": true}}));
        assert!(response.get("error").is_none(), "{method}: {response}");
    }
    assert_eq!(
        client.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": broken}, "options": {}})
        ),
        Value::Null
    );
    client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": broken}}),
    );
    client.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": broken}}),
    );
    // Positions past the end of the text, and text that is not ASCII.
    client.change(&broken, 2, "# é𝄞\nrule y { deny when vendor == \"𝄞\" }\n");
    client.diagnostics(&broken);
    let response = client.call(
        "textDocument/hover",
        json!({"textDocument": {"uri": broken}, "position": {"line": 99, "character": 99}}),
    );
    assert!(response.get("error").is_none());

    // A change with a range (the server asks for full sync, but a client may send one) edits the
    // text it has, and a lone CR ends a line: `bogus` in `max`'s place, on line 2 of CR lines.
    client.change(
        &broken,
        3,
        "let a = 1\rrule x {\r  deny when amount > bogus(1)\r}\r",
    );
    let diagnostics = client.diagnostics(&broken);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({"line": 2, "character": 21}),
        "{diagnostics:?}"
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": broken, "version": 4}, "contentChanges": [
            {"range": {"start": {"line": 2, "character": 21}, "end": {"line": 2, "character": 26}}, "text": "max"}
        ]}),
    );
    // The text is now `… > max(1)`: what is said of it is said of `max`, on line 2.
    let diagnostics = client.diagnostics(&broken);
    let max = diagnostics
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .contains("`max` needs a list")
        })
        .unwrap_or_else(|| panic!("{diagnostics:?}"));
    assert_eq!(max["range"]["start"], json!({"line": 2, "character": 25}));
    assert!(
        !diagnostics
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("bogus")),
        "{diagnostics:?}"
    );

    // An unsaved buffer (not a file) is checked too: its diagnostics go to its own URI, and
    // they clear when it is fixed.
    let untitled = "untitled:Untitled-1";
    client.open(
        untitled,
        "let limit = 10\nrule u { deny when amount > bogus(limit) }\n",
    );
    let diagnostics = client.diagnostics(untitled);
    assert!(
        diagnostics.iter().any(|d| {
            d["message"].as_str().unwrap().contains("bogus") && d["range"]["start"]["line"] == 1
        }),
        "{diagnostics:?}"
    );
    let hover = client.at("textDocument/hover", untitled, (1, 29));
    assert!(hover.is_null() || hover["contents"].is_object(), "{hover}");
    client.change(
        untitled,
        2,
        "let limit = 10\nrule u { deny when amount > limit }\n",
    );
    assert_eq!(client.diagnostics(untitled), Vec::<Value>::new());
    let hover = client.at("textDocument/hover", untitled, (1, 29));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("let limit = 10"),
        "{hover}"
    );

    // The server still answers about the project.
    let hover = client.at("textDocument/hover", &main, find(MAIN, "after cutoff", 7));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("2018-05-23")
    );
    client.shutdown();
}

/// Every change to a policy of 1,000 rules gets its diagnostics (none: each change is valid),
/// and the time from change to diagnostics is printed. A test never asserts a time: to measure,
/// run it with the release binary and more changes,
/// `CAVEAT_LSP_CHANGES=21 cargo test --release --test lsp change_to_diagnostics -- --nocapture`;
/// docs/performance.md has the figure.
#[test]
fn change_to_diagnostics_on_1000_rules() {
    let changes: usize = std::env::var("CAVEAT_LSP_CHANGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut policy = String::from("let cutoff = 2018-05-23\n");
    for i in 0..1000 {
        policy.push_str(&format!(
            "rule r{i} {{\n  deny vendor in [V{i}, W{i}] after cutoff\n  when amount > {i} and buyer.branch == Army\n  message \"{{vendor}} {i}\"\n}}\n"
        ));
    }
    let dir = common::scratch(
        "lsp-1000",
        &[
            ("caveat.toml", "policies = [\"policies\"]\n"),
            ("policies/rules.policy", &policy),
        ],
    );
    let rules = uri(&dir.join("policies/rules.policy"));
    let mut client = initialize(&dir);
    client.diagnostics(&rules);
    client.open(&rules, &policy);
    client.diagnostics(&rules);
    let mut times = Vec::new();
    for round in 0..changes {
        let changed = policy.replace("amount > 500 ", &format!("amount > {} ", 500 + round + 1));
        let started = Instant::now();
        client.change(&rules, round as i64 + 2, &changed);
        let diagnostics = client.diagnostics(&rules);
        times.push(started.elapsed());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    }
    times.sort();
    println!(
        "change → diagnostics, 1,000 rules: median {:.1?}, min {:.1?}, max {:.1?} ({changes} changes)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    client.shutdown();
}

/// The editor configurations in `editors/` parse, name the files they use, and run `caveat lsp`.
#[test]
fn editor_configurations_are_complete() {
    let editors = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors");
    let read = |path: &str| std::fs::read_to_string(editors.join(path)).unwrap();
    let manifest: Value = serde_json::from_str(&read("vscode/package.json")).unwrap();
    let language = &manifest["contributes"]["languages"][0];
    assert_eq!(language["extensions"][0], ".policy");
    let grammar = &manifest["contributes"]["grammars"][0];
    let grammar_path = grammar["path"].as_str().unwrap();
    let grammar_text = read(&format!("vscode/{grammar_path}"));
    let tm: Value = serde_json::from_str(&grammar_text).unwrap();
    assert_eq!(tm["scopeName"], grammar["scopeName"]);
    for keyword in [
        "rule", "waive", "expect", "record", "deny", "require", "unless",
    ] {
        assert!(grammar_text.contains(keyword), "{keyword}");
    }
    // The language of §11-§13: its keywords, every built-in function, date-times and durations.
    let repository = &tm["repository"];
    let keywords = repository["keyword"]["match"].as_str().unwrap();
    for keyword in [
        "per", "as", "having", "group", "if", "then", "else", "where",
    ] {
        assert!(
            keywords.contains(&format!("|{keyword}|"))
                || keywords.contains(&format!("|{keyword})")),
            "{keyword}"
        );
    }
    let functions = repository["function"]["match"].as_str().unwrap();
    for (name, _) in caveat::compile::Function::ALL {
        assert!(
            functions.contains(&format!("|{name}|"))
                || functions.contains(&format!("({name}|"))
                || functions.contains(&format!("|{name})")),
            "function {name}"
        );
    }
    let whole = |pattern: &str, text: &str| {
        let found = regex::Regex::new(pattern)
            .unwrap()
            .find(text)
            .map(|m| m.as_str().to_string());
        assert_eq!(found.as_deref(), Some(text), "{pattern} on {text}");
    };
    let datetime = repository["datetime"]["match"].as_str().unwrap();
    for text in [
        "2020-07-14T17:00:00Z",
        "2020-07-14T17:00:00+02:00",
        "2020-07-14T17:00:00.5Z",
        "2020-07-14T17:00",
    ] {
        whole(datetime, text);
    }
    let duration = repository["duration"]["match"].as_str().unwrap();
    for text in [
        "15 days",
        "1 week",
        "36 hours",
        "90 minutes",
        "30 seconds",
        "2 day",
    ] {
        whole(duration, text);
    }
    let patterns = tm["patterns"].to_string();
    assert!(
        patterns.find("#datetime").unwrap() < patterns.find("#date\"").unwrap()
            && patterns.find("#duration").unwrap() < patterns.find("#number").unwrap(),
        "a date-time before a date, a duration before a number"
    );
    let configuration = language["configuration"].as_str().unwrap();
    let _: Value = serde_json::from_str(&read(&format!("vscode/{configuration}"))).unwrap();
    assert_eq!(manifest["main"], "./extension.js");
    assert!(manifest["dependencies"]["vscode-languageclient"].is_string());
    let client = read("vscode/extension.js");
    assert!(client.contains("vscode-languageclient") && client.contains("['lsp']"));
    let helix: toml::Table = toml::from_str(&read("helix/languages.toml")).unwrap();
    assert_eq!(
        helix["language-server"]["caveat"]["args"][0].as_str(),
        Some("lsp")
    );
    let neovim = read("neovim/caveat.lua");
    assert!(neovim.contains("vim.lsp.start") && neovim.contains("{ \"caveat\", \"lsp\" }"));
}

#[test]
fn files_made_renamed_and_linked_on_disk() {
    // A project whose policy file is renamed while the editor types: the lints stay, and
    // `today` of caveat.toml is the date waivers are applied as of.
    let main_text = "let unused_thing = 5\nrule big { warn when amount > 5 }\n\
                     waive big for id == \"a\" until 2020-01-01 because \"ok\"\n";
    let dir = common::scratch(
        "lsp-disk",
        &[
            (
                "caveat.toml",
                "policies = [\"policies\"]\ntoday = \"2019-06-01\"\n",
            ),
            ("policies/main.policy", main_text),
            (
                "policies/other.policy",
                "rule small { note when amount < 1 }\n",
            ),
        ],
    );
    let main = uri(&dir.join("policies/main.policy"));
    let mut client = initialize(&dir);
    let codes = |diagnostics: &[Value]| -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect()
    };
    client.open(&main, main_text);
    assert_eq!(
        codes(&client.diagnostics(&main)),
        ["caveat::lint::unused_let"],
        "no `expired` warning: the waiver runs to 2020, and today is 2019-06-01"
    );
    std::fs::rename(
        dir.join("policies/other.policy"),
        dir.join("policies/renamed.policy"),
    )
    .unwrap();
    client.drain();
    client.change(&main, 2, main_text);
    assert_eq!(
        codes(&client.diagnostics(&main)),
        ["caveat::lint::unused_let"]
    );

    // Without a project, a file of waivers is checked with the rules beside it.
    let loose = common::scratch(
        "lsp-loose",
        &[
            ("rules.policy", "rule big { warn when amount > 5 }\n"),
            (
                "waivers.policy",
                "waive big for id == \"a\" until 2099-01-01 because \"ok\"\n",
            ),
        ],
    );
    let waivers = uri(&loose.join("waivers.policy"));
    let mut client = initialize(&loose);
    client.open(
        &waivers,
        "waive big for id == \"a\" until 2099-01-01 because \"ok\"\n",
    );
    assert_eq!(client.diagnostics(&waivers), Vec::<Value>::new());

    // A file opened through a link: its diagnostics are cleared at the URI the editor used.
    let link = loose.with_file_name("lsp-loose-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&loose, &link).unwrap();
    let linked = format!("file://{}", link.join("rules.policy").display());
    client.open(&linked, "rule big { warn when amount > bogus(1) }\n");
    assert_eq!(client.diagnostics(&linked).len(), 1);
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": linked}}),
    );
    assert_eq!(client.diagnostics(&linked), Vec::<Value>::new());
}

#[test]
fn the_server_watches_policy_files_when_the_client_can() {
    let dir = common::scratch(
        "lsp-watch",
        &[
            ("caveat.toml", "policies = [\"policies\"]\n"),
            (
                "policies/main.policy",
                "import \"lists.policy\"\nrule r { deny vendor in banned }\n",
            ),
        ],
    );
    let mut client = Client::start(&dir);
    client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri(&dir),
            "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}},
        }),
    );
    client.notify("initialized", json!({}));
    let registration = loop {
        let message = client.next();
        if message["method"] == "client/registerCapability" {
            break message;
        }
        client.pending.push(message);
    };
    let watchers = &registration["params"]["registrations"][0]["registerOptions"]["watchers"];
    assert_eq!(watchers[0]["globPattern"], "**/*.policy", "{registration}");
    // The import is missing until the file is made on disk; the server is told, and checks again.
    let main = uri(&dir.join("policies/main.policy"));
    assert!(!client.diagnostics(&main).is_empty());
    std::fs::write(dir.join("policies/lists.policy"), "let banned = [DJI]\n").unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&dir.join("policies/lists.policy")), "type": 1}]}),
    );
    assert_eq!(client.diagnostics(&main), Vec::<Value>::new());
}

#[test]
fn a_broken_config_is_told_once_not_at_every_save() {
    let dir = common::scratch(
        "lsp-broken-config",
        &[
            ("caveat.toml", "policies = [\n"),
            ("a.policy", "rule r { note when amount > 1 }\n"),
        ],
    );
    let a = uri(&dir.join("a.policy"));
    let mut client = initialize(&dir);
    client.open(&a, "rule r { note when amount > 1 }\n");
    client.diagnostics(&a);
    for version in 2..4 {
        client.notify("textDocument/didSave", json!({"textDocument": {"uri": a}}));
        client.change(&a, version, "rule r { note when amount > 2 }\n");
        client.diagnostics(&a);
    }
    // Told when the server started, and not again for each open, save and change.
    let told = client
        .pending
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .count();
    assert_eq!(told, 1, "{:?}", client.pending);
}
