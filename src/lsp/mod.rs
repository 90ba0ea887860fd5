//! `caveat lsp`: a language server over stdio. Everything it says comes from the library the
//! command line uses: diagnostics from the checker and every lint ([`crate::check`]), formatting
//! from [`crate::format`], rule counts from [`crate::run::evaluate`]; names are found in the
//! syntax tree ([`navigate`]).
//!
//! The server is one thread that owns the state and answers in order; a change is checked at
//! once (the whole workspace of `caveat.toml`, with the editor's unsaved texts), while counting
//! what each rule fires on in the configured data runs on a background thread ([`background`])
//! whose result is dropped when the text has changed since.

mod background;
pub(crate) mod convert;
pub(crate) mod navigate;
pub(crate) mod transport;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, select, unbounded};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{Position, Range, Uri};
use serde_json::{Value, json};

use crate::check::PolicyInput;
use crate::check::workspace::{Workspace, WorkspaceFile, check_workspace};
use crate::compile::Program;
use crate::data::Format;
use crate::diagnostic::Diag;
use crate::source::Span;
use crate::syntax::ast::{RuleBody, Statement};
use background::{DataSample, Done, RuleCounts};
use navigate::{Block, CompletionPlace, Occurrence, Target};

/// Runs the server on stdin and stdout until the client says `exit` or closes the stream.
/// `Err` when the client exits without asking to shut down first.
pub(crate) fn serve() -> Result<(), String> {
    let (incoming, outgoing) = transport::stdio();
    let result = Server::start(incoming, outgoing.clone());
    // Let the writer send what is queued before the process ends.
    drop(outgoing);
    std::thread::sleep(std::time::Duration::from_millis(50));
    result
}

/// The files the workspace checks, from its `caveat.toml` (or `policies/` and `examples/`).
#[derive(Debug, Default)]
struct Project {
    /// Policy files, with the roots their imports may not leave.
    policies: Vec<PolicyInput>,
    /// Data files, for the rule counts and the data sample.
    data: Vec<(PathBuf, Format)>,
    /// The field that names a record.
    id_field: Vec<String>,
    /// `today` of `caveat.toml`: the date waivers are applied as of (else the current date).
    today: Option<jiff::civil::Date>,
}

/// Finds the project of the workspace at `root` as `caveat check` would there: the nearest
/// `caveat.toml` at or above it, else its `policies/` and `examples/` folders.
fn project(root: &Path) -> Result<Project, Vec<Diag>> {
    let config_path = crate::config::find(root);
    // Confined to the project root as `caveat check` is there (no `--allow-outside`).
    let confinement = crate::project::Project::locate(root, config_path.as_deref(), false);
    let (paths, exclude, id_field, today) = match &config_path {
        Some(path) => {
            let config = crate::config::load(path).map_err(|d| vec![d])?;
            let paths =
                crate::cli::check::config_paths(&config, &confinement).map_err(|d| vec![d])?;
            (
                paths,
                config.exclude.clone(),
                config.id_field.clone(),
                config.today,
            )
        }
        None => (
            ["policies", "examples"]
                .iter()
                .map(|folder| root.join(folder))
                .filter(|p| p.is_dir())
                .collect(),
            Vec::new(),
            None,
            None,
        ),
    };
    if paths.is_empty() {
        return Ok(Project {
            today,
            ..Project::default()
        });
    }
    let inputs = crate::run::discover(&paths, &exclude, Format::Yaml, &confinement)?;
    Ok(Project {
        policies: inputs.policies,
        data: inputs.data,
        id_field: id_field
            .unwrap_or_else(|| "id".into())
            .split('.')
            .map(str::to_string)
            .collect(),
        today,
    })
}

/// An open document.
struct Document {
    uri: Uri,
    text: String,
    version: i32,
}

/// One checked policy set: the project's, or an open file outside it with its imports.
struct Analysis {
    files: Vec<WorkspaceFile>,
    diags: Vec<Diag>,
    program: Option<Arc<Program>>,
    names: HashSet<String>,
    /// Whether this is the project's policy set (whose rules are counted on its data).
    project: bool,
}

impl Analysis {
    fn new(workspace: Workspace, project: bool, today: jiff::civil::Date) -> Analysis {
        let names = navigate::declared_names(workspace.files.iter().map(|f| &f.ast));
        let (diags, program) = match workspace.checked {
            Ok(checked) => {
                let mut program = checked.program;
                let mut diags = checked.lints;
                diags.extend(program.apply_today(today));
                (diags, Some(Arc::new(program)))
            }
            Err(errors) => (errors, None),
        };
        Analysis {
            files: workspace.files,
            diags,
            program,
            names,
            project,
        }
    }

    fn file(&self, path: &Path) -> Option<&WorkspaceFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Every occurrence in every file, with the file.
    fn occurrences(&self) -> Vec<(&WorkspaceFile, Occurrence)> {
        self.files
            .iter()
            .flat_map(|file| {
                navigate::occurrences(&file.ast, &file.path, &self.names)
                    .into_iter()
                    .map(move |o| (file, o))
            })
            .collect()
    }

    /// The declarations of `target`.
    fn declarations(&self, target: &Target) -> Vec<(&WorkspaceFile, Occurrence)> {
        self.occurrences()
            .into_iter()
            .filter(|(_, o)| o.declaration.is_some() && &o.target == target)
            .collect()
    }
}

/// The policy file at `path` and the other policy files of its folder that are not in the
/// project's `policies`, in name order, each confined to that folder.
fn beside(path: &Path, policies: &[PolicyInput]) -> Vec<PolicyInput> {
    let folder = path.parent().unwrap_or(Path::new("/"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .map(|p| canonical(&p))
        .filter(|p| p.is_file() && !policies.iter().any(|known| known.path == *p))
        .collect();
    if !paths.iter().any(|p| p == path) {
        paths.push(path.to_path_buf());
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| PolicyInput {
            path,
            root: folder.to_path_buf(),
        })
        .collect()
}

/// The canonical form of a path, or the path itself when it does not exist.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// A request's failure: a JSON-RPC error code and a message.
type Failure = (i32, String);

struct Server {
    out: Sender<Message>,
    /// The workspace folder, where the project is found again when its files change.
    root: Option<PathBuf>,
    project: Project,
    /// Whether the client registers file watchers for the server (`workspace/didChangeWatchedFiles`).
    watch: bool,
    /// Why the project could not be found the last time, as told (told again only if it changes).
    project_trouble: Option<String>,
    docs: BTreeMap<PathBuf, Document>,
    analyses: Vec<Analysis>,
    /// The files with diagnostics now, each with the URI they were published at (the client's
    /// own, for an open file: cleared at the same URI once closed).
    published: HashMap<PathBuf, Uri>,
    /// Bumped on every change of a text: a count of an older generation is dropped.
    generation: Arc<AtomicU64>,
    counts: Option<(u64, RuleCounts)>,
    sample: Option<DataSample>,
    done_tx: Sender<Done>,
    done_rx: Receiver<Done>,
    lens_refresh: bool,
    next_id: i32,
    shutting_down: bool,
}

impl Server {
    /// The handshake, then the main loop.
    fn start(incoming: Receiver<Message>, out: Sender<Message>) -> Result<(), String> {
        let (done_tx, done_rx) = unbounded();
        let mut server = Server {
            out,
            root: None,
            project: Project::default(),
            watch: false,
            project_trouble: None,
            docs: BTreeMap::new(),
            analyses: Vec::new(),
            published: HashMap::new(),
            generation: Arc::new(AtomicU64::new(0)),
            counts: None,
            sample: None,
            done_tx,
            done_rx,
            lens_refresh: false,
            next_id: 0,
            shutting_down: false,
        };
        // Until `initialize`, requests get an error and notifications are dropped.
        loop {
            match incoming.recv() {
                Ok(Message::Request(request)) if request.method == "initialize" => {
                    server.initialize(request);
                    break;
                }
                Ok(Message::Request(request)) => server.fail(
                    request.id,
                    (
                        ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialized".into(),
                    ),
                ),
                Ok(Message::Notification(n)) if n.method == "exit" => {
                    return Err("exit before initialize".into());
                }
                Ok(_) => {}
                Err(_) => return Err("the client closed the connection".into()),
            }
        }
        loop {
            select! {
                recv(incoming) -> message => match message {
                    Ok(message) => {
                        if let Some(end) = server.handle(message) {
                            return end;
                        }
                    }
                    Err(_) => return Err("the client closed the connection".into()),
                },
                recv(server.done_rx) -> done => {
                    if let Ok(done) = done {
                        server.background(done);
                    }
                }
            }
        }
    }

    fn send(&self, message: impl Into<Message>) {
        let _ = self.out.send(message.into());
    }

    fn fail(&self, id: RequestId, (code, message): Failure) {
        self.send(Response::new_err(id, code, message));
    }

    fn notify(&self, method: &str, params: Value) {
        self.send(Notification::new(method.to_string(), params));
    }

    fn log(&self, text: String) {
        self.notify("window/logMessage", json!({ "type": 3, "message": text }));
    }

    fn initialize(&mut self, request: Request) {
        let params = &request.params;
        let root = at(params, "/workspaceFolders/0/uri")
            .as_str()
            .or_else(|| at(params, "/rootUri").as_str())
            .and_then(|uri| uri.parse::<Uri>().ok())
            .and_then(|uri| convert::path_of(&uri))
            .or_else(|| at(params, "/rootPath").as_str().map(PathBuf::from));
        self.lens_refresh = at(params, "/capabilities/workspace/codeLens/refreshSupport")
            .as_bool()
            .unwrap_or(false);
        self.watch = at(
            params,
            "/capabilities/workspace/didChangeWatchedFiles/dynamicRegistration",
        )
        .as_bool()
        .unwrap_or(false);
        let capabilities = json!({
            "textDocumentSync": { "openClose": true, "change": 1, "save": true },
            "hoverProvider": true,
            "definitionProvider": true,
            "referencesProvider": true,
            "completionProvider": { "triggerCharacters": [".", " "] },
            "documentFormattingProvider": true,
            "documentSymbolProvider": true,
            "codeLensProvider": { "resolveProvider": false },
            "codeActionProvider": { "codeActionKinds": ["quickfix"] },
        });
        self.send(Response::new_ok(
            request.id,
            json!({
                "capabilities": capabilities,
                "serverInfo": { "name": "caveat", "version": env!("CARGO_PKG_VERSION") },
            }),
        ));
        self.root = root;
        self.rediscover();
        if !self.project.data.is_empty() {
            background::sample(self.project.data.clone(), self.done_tx.clone());
        }
        if !self.project.policies.is_empty() {
            self.changed();
        }
    }

    /// Finds the project's files again (as `initialize` did): a policy file added, renamed or
    /// deleted, or `caveat.toml` changed. A project that cannot be found is told, and the last
    /// one kept.
    fn rediscover(&mut self) {
        let Some(root) = &self.root else {
            return;
        };
        match project(root) {
            Ok(project) => {
                self.project = project;
                self.project_trouble = None;
            }
            Err(diags) => {
                let trouble: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
                let trouble = trouble.join("\n");
                if self.project_trouble.as_ref() != Some(&trouble) {
                    for diag in diags {
                        self.notify(
                            "window/showMessage",
                            json!({ "type": 1, "message": format!("caveat: {}", diag.message) }),
                        );
                    }
                    self.project_trouble = Some(trouble);
                }
            }
        }
    }

    /// Asks the client to tell the server when policy files or `caveat.toml` change on disk.
    fn register_watchers(&mut self) {
        if !self.watch {
            return;
        }
        self.next_id += 1;
        self.send(Request::new(
            RequestId::from(self.next_id),
            "client/registerCapability".to_string(),
            json!({ "registrations": [{
                "id": "caveat-files",
                "method": "workspace/didChangeWatchedFiles",
                "registerOptions": { "watchers": [
                    { "globPattern": "**/*.policy" },
                    { "globPattern": "**/caveat.toml" },
                ] },
            }] }),
        ));
    }

    /// Handles one message; `Some` when the server is to stop.
    fn handle(&mut self, message: Message) -> Option<Result<(), String>> {
        match message {
            Message::Request(request) => {
                if request.method == "shutdown" {
                    self.shutting_down = true;
                    self.send(Response::new_ok(request.id, Value::Null));
                    return None;
                }
                if self.shutting_down {
                    self.fail(
                        request.id,
                        (
                            ErrorCode::InvalidRequest as i32,
                            "the server is shutting down".into(),
                        ),
                    );
                    return None;
                }
                let id = request.id.clone();
                match self.request(&request.method, request.params) {
                    Ok(result) => self.send(Response::new_ok(id, result)),
                    Err(failure) => self.fail(id, failure),
                }
            }
            Message::Notification(notification) => {
                if notification.method == "exit" {
                    return Some(if self.shutting_down {
                        Ok(())
                    } else {
                        Err("exit without shutdown".into())
                    });
                }
                self.notification(&notification.method, notification.params);
            }
            // Answers to the server's own requests (code lens refresh) need nothing.
            Message::Response(_) => {}
        }
        None
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        match method {
            "textDocument/hover" => self.hover(params),
            "textDocument/definition" => self.definition(params),
            "textDocument/references" => self.references(params),
            "textDocument/completion" => self.completion(params),
            "textDocument/formatting" => self.formatting(params),
            "textDocument/documentSymbol" => self.symbols(params),
            "textDocument/codeLens" => self.lenses(params),
            "textDocument/codeAction" => self.code_actions(params),
            _ => Err((
                ErrorCode::MethodNotFound as i32,
                format!("unknown method `{method}`"),
            )),
        }
    }

    fn notification(&mut self, method: &str, params: Value) {
        match method {
            "initialized" => return self.register_watchers(),
            // A policy file or the config changed on disk, outside the editor.
            "workspace/didChangeWatchedFiles" => {
                self.rediscover();
                return self.changed();
            }
            _ => {}
        }
        let uri = at(&params, "/textDocument/uri")
            .as_str()
            .and_then(|u| u.parse::<Uri>().ok());
        let Some(uri) = uri else {
            return;
        };
        let Some(path) = convert::path_of(&uri).map(|p| canonical(&p)) else {
            return;
        };
        let version = at(&params, "/textDocument/version").as_i64().unwrap_or(0);
        let version = i32::try_from(version).unwrap_or(0);
        match method {
            "textDocument/didOpen" => {
                let text = at(&params, "/textDocument/text")
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                self.docs.insert(path, Document { uri, text, version });
            }
            "textDocument/didChange" => {
                // The server asks for full sync, but a change with a `range` (which a client
                // may send anyway) is applied to the text as it was, not taken for all of it.
                let Some(changes) = at(&params, "/contentChanges").as_array() else {
                    return;
                };
                // The text so far: the server's copy is read (and copied) only for a range.
                let mut text: Option<String> = None;
                for change in changes {
                    let Some(new) = at(change, "/text").as_str() else {
                        return;
                    };
                    let range =
                        <lsp_types::Range as serde::Deserialize>::deserialize(&change["range"]);
                    let before = match range {
                        Ok(_) => text
                            .take()
                            .or_else(|| self.docs.get(&path).map(|d| d.text.clone())),
                        Err(_) => None,
                    };
                    text = Some(match (range, before) {
                        (Ok(range), Some(old)) => {
                            let start = convert::offset(&old, range.start);
                            let end = convert::offset(&old, range.end).max(start);
                            format!(
                                "{}{new}{}",
                                old.get(..start).unwrap_or(""),
                                old.get(end..).unwrap_or("")
                            )
                        }
                        _ => new.to_string(),
                    });
                }
                let Some(text) = text else {
                    return;
                };
                self.docs.insert(path, Document { uri, text, version });
            }
            "textDocument/didClose" => {
                self.docs.remove(&path);
            }
            "textDocument/didSave" => {}
            _ => return,
        }
        // Opening, closing or saving a file may follow a file made, renamed or deleted; a
        // change only when a file of the project is gone (renamed away while the editor typed).
        let gone = || {
            self.project
                .policies
                .iter()
                .any(|p| !self.docs.contains_key(&p.path) && !p.path.exists())
        };
        if method != "textDocument/didChange" || gone() {
            self.rediscover();
        }
        self.changed();
    }

    /// Checks everything again, publishes the diagnostics and starts a new count.
    fn changed(&mut self) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let overlay: HashMap<PathBuf, String> = self
            .docs
            .iter()
            .map(|(path, doc)| (path.clone(), doc.text.clone()))
            .collect();
        let today = self
            .project
            .today
            .unwrap_or_else(crate::cli::check::current_date);
        let mut analyses = Vec::new();
        if !self.project.policies.is_empty() {
            analyses.push(Analysis::new(
                check_workspace(&self.project.policies, overlay.clone()),
                true,
                today,
            ));
        }
        for path in self.docs.keys() {
            if analyses.iter().any(|a: &Analysis| a.file(path).is_some()) {
                continue;
            }
            // Outside the project, a file is checked alone, or, when its waivers or tests name
            // rules it does not have, with the policy files beside it (as `caveat check
            // FOLDER` would check them).
            let alone = PolicyInput {
                path: path.clone(),
                root: path.parent().unwrap_or(Path::new("/")).to_path_buf(),
            };
            let mut workspace = check_workspace(&[alone], overlay.clone());
            let names_others = workspace.checked.as_ref().is_err_and(|errors| {
                errors
                    .iter()
                    .any(|d| d.code == crate::diagnostic::Code::CheckUnknownRule)
            });
            if names_others {
                workspace = check_workspace(&beside(path, &self.project.policies), overlay.clone());
            }
            analyses.push(Analysis::new(workspace, false, today));
        }
        self.analyses = analyses;
        self.publish();
        if let Some(program) = self
            .analyses
            .iter()
            .find(|a| a.project)
            .and_then(|a| a.program.clone())
            && !self.project.data.is_empty()
        {
            background::count(
                program,
                self.project.data.clone(),
                self.project.id_field.clone(),
                generation,
                self.generation.clone(),
                self.done_tx.clone(),
            );
        }
    }

    /// Publishes every file's diagnostics, and clears those of files that no longer have any.
    fn publish(&mut self) {
        let mut lines = convert::Lines::default();
        let mut by_file: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for analysis in &self.analyses {
            for file in &analysis.files {
                by_file.entry(file.path.clone()).or_default();
            }
            for diag in &analysis.diags {
                match convert::diagnostic(diag, &mut lines) {
                    Some((path, diagnostic)) => {
                        let list = by_file.entry(canonical(&path)).or_default();
                        if !list
                            .iter()
                            .any(|d| d.range == diagnostic.range && d.message == diagnostic.message)
                        {
                            list.push(diagnostic);
                        }
                    }
                    // A diagnostic without a place (a file that cannot be read) is told.
                    None => self.log(format!("caveat: {}", diag.message)),
                }
            }
        }
        let earlier = std::mem::take(&mut self.published);
        for stale in earlier.keys() {
            by_file.entry(stale.clone()).or_default();
        }
        let mut published = HashMap::new();
        for (path, diagnostics) in &by_file {
            let doc = self.docs.get(path);
            let uri = doc
                .map(|d| d.uri.clone())
                .or_else(|| earlier.get(path).cloned())
                .or_else(|| convert::uri_of(path));
            let Some(uri) = uri else {
                continue;
            };
            if !diagnostics.is_empty() {
                published.insert(path.clone(), uri.clone());
            }
            self.notify(
                "textDocument/publishDiagnostics",
                json!({
                    "uri": uri,
                    "diagnostics": diagnostics,
                    "version": doc.map(|d| d.version),
                }),
            );
        }
        self.published = published;
    }

    fn background(&mut self, done: Done) {
        match done {
            Done::Counts { generation, counts } => {
                if generation != self.generation.load(Ordering::SeqCst) {
                    return;
                }
                self.counts = Some((generation, counts));
            }
            Done::Sample(sample) => self.sample = Some(sample),
        }
        if self.lens_refresh {
            self.next_id += 1;
            self.send(Request::new(
                RequestId::from(self.next_id),
                "workspace/codeLens/refresh".to_string(),
                Value::Null,
            ));
        }
    }

    /// The analysis and file of a request's document, and the byte offset of its position.
    fn locate(
        &self,
        params: &Value,
    ) -> Result<(&Analysis, &WorkspaceFile, Option<usize>), Failure> {
        let uri = at(params, "/textDocument/uri")
            .as_str()
            .and_then(|u| u.parse::<Uri>().ok())
            .ok_or_else(|| invalid("no `textDocument.uri`"))?;
        let path = convert::path_of(&uri)
            .map(|p| canonical(&p))
            .ok_or_else(|| invalid("not a `file:` URI"))?;
        let (analysis, file) = self
            .analyses
            .iter()
            .find_map(|a| a.file(&path).map(|f| (a, f)))
            .ok_or_else(|| invalid("the document is not open"))?;
        let offset = serde_json::from_value::<Position>(at(params, "/position").clone())
            .ok()
            .map(|p| convert::offset(file.ast.source.text(), p));
        Ok((analysis, file, offset))
    }

    /// The protocol location of `span` in `file`, its lines found through `lines`.
    fn location<'t>(
        &self,
        file: &'t WorkspaceFile,
        span: Span,
        lines: &mut convert::Lines<'t>,
    ) -> Option<Value> {
        let uri = self
            .docs
            .get(&file.path)
            .map(|d| d.uri.clone())
            .or_else(|| convert::uri_of(&file.path))?;
        let range = lines.of(file.ast.source.text()).range(span);
        Some(json!({ "uri": uri, "range": range }))
    }

    fn hover(&self, params: Value) -> Result<Value, Failure> {
        let (analysis, file, offset) = self.locate(&params)?;
        let offset = offset.ok_or_else(|| invalid("no `position`"))?;
        let occurrences = navigate::occurrences(&file.ast, &file.path, &analysis.names);
        let Some(occurrence) = navigate::at(&occurrences, offset) else {
            return Ok(keyword_hover(file.ast.source.text(), offset));
        };
        let declared = |target: &Target| -> Option<String> {
            let (file, o) = analysis.declarations(target).into_iter().next()?;
            let text = file.ast.source.slice(o.declaration?);
            let lines: Vec<&str> = text.lines().take(24).collect();
            Some(format!("```caveat\n{}\n```", lines.join("\n")))
        };
        let text = match &occurrence.target {
            Target::Name(_) => declared(&occurrence.target),
            Target::Rule(id) => {
                let mut text = declared(&occurrence.target)
                    .unwrap_or_else(|| format!("rule `{id}` (not declared in these files)"));
                if let Some(count) = self.count_of(id) {
                    text = format!("{text}\n\n{count}");
                }
                Some(text)
            }
            Target::Field(path) => {
                let dotted = path.join(".");
                let mut text = declared(&occurrence.target)
                    .unwrap_or_else(|| format!("field `{dotted}`: no `record` schema declares it"));
                if let Some(values) = self.sample.as_ref().and_then(|s| s.values.get(&dotted)) {
                    let shown: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                    text = format!("{text}\n\nvalues seen in the data: {}", shown.join(", "));
                }
                Some(text)
            }
            Target::Local(..) => declared(&occurrence.target),
            Target::Function(name) => crate::compile::Function::ALL
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, function)| {
                    let (call, doc) = navigate::function_doc(*function);
                    format!("```caveat\n{call}\n```\n{doc}")
                }),
            Target::Import(path) => Some(format!("imports `{}`", path.display())),
        };
        Ok(text.map_or(Value::Null, |text| {
            json!({
                "contents": { "kind": "markdown", "value": text },
                "range": convert::range(file.ast.source.text(), occurrence.span),
            })
        }))
    }

    /// "fires on N of M records" for a rule id, from the latest count.
    fn count_of(&self, id: &str) -> Option<String> {
        let (generation, counts) = self.counts.as_ref()?;
        if *generation != self.generation.load(Ordering::SeqCst) {
            return None;
        }
        let index = counts.ids.iter().position(|i| i.as_ref() == id)?;
        let (fired, waived) = counts.by_rule.get(index)?;
        let mut text = format!(
            "fires on {fired} of {} record{}",
            counts.records,
            if counts.records == 1 { "" } else { "s" }
        );
        if *waived > 0 {
            text.push_str(&format!(" ({waived} more waived)"));
        }
        Some(text)
    }

    fn definition(&self, params: Value) -> Result<Value, Failure> {
        let (analysis, file, offset) = self.locate(&params)?;
        let offset = offset.ok_or_else(|| invalid("no `position`"))?;
        let occurrences = navigate::occurrences(&file.ast, &file.path, &analysis.names);
        let Some(occurrence) = navigate::at(&occurrences, offset) else {
            return Ok(Value::Null);
        };
        if let Target::Import(path) = &occurrence.target {
            return Ok(convert::uri_of(path).map_or(
                Value::Null,
                |uri| json!([{ "uri": uri, "range": Range::default() }]),
            ));
        }
        let mut lines = convert::Lines::default();
        let found: Vec<Value> = analysis
            .declarations(&occurrence.target)
            .into_iter()
            .filter_map(|(file, o)| self.location(file, o.span, &mut lines))
            .collect();
        Ok(if found.is_empty() {
            Value::Null
        } else {
            json!(found)
        })
    }

    fn references(&self, params: Value) -> Result<Value, Failure> {
        let (analysis, file, offset) = self.locate(&params)?;
        let offset = offset.ok_or_else(|| invalid("no `position`"))?;
        let with_declaration = at(&params, "/context/includeDeclaration")
            .as_bool()
            .unwrap_or(true);
        let occurrences = navigate::occurrences(&file.ast, &file.path, &analysis.names);
        let Some(target) = navigate::at(&occurrences, offset).map(|o| o.target.clone()) else {
            return Ok(Value::Null);
        };
        let mut lines = convert::Lines::default();
        let found: Vec<Value> = analysis
            .occurrences()
            .into_iter()
            .filter(|(_, o)| o.target == target && (with_declaration || o.declaration.is_none()))
            .filter_map(|(file, o)| self.location(file, o.span, &mut lines))
            .collect();
        Ok(json!(found))
    }

    fn completion(&self, params: Value) -> Result<Value, Failure> {
        let (analysis, file, offset) = self.locate(&params)?;
        let offset = offset.ok_or_else(|| invalid("no `position`"))?;
        let text = file.ast.source.text();
        // Completion item kinds of the protocol.
        const KEYWORD: u32 = 14;
        const FIELD: u32 = 5;
        const CONSTANT: u32 = 21;
        const FUNCTION: u32 = 3;
        const REFERENCE: u32 = 18;
        const VARIABLE: u32 = 6;
        let mut items: BTreeMap<String, (u32, String)> = BTreeMap::new();
        let mut add = |label: &str, kind: u32, detail: &str| {
            items
                .entry(label.to_string())
                .or_insert((kind, detail.to_string()));
        };
        let fields_under = |parent: &[String]| -> Vec<(String, &'static str)> {
            let mut fields: Vec<(String, &'static str)> = analysis
                .occurrences()
                .into_iter()
                .filter_map(|(_, o)| match o.target {
                    Target::Field(path) if o.declaration.is_some() => Some(path),
                    _ => None,
                })
                .filter(|path| path.len() == parent.len() + 1 && path.starts_with(parent))
                .filter_map(|path| path.last().cloned())
                .map(|name| (name, "field of the schema"))
                .collect();
            if let Some(keys) = self
                .sample
                .as_ref()
                .and_then(|s| s.keys.get(&parent.join(".")))
            {
                fields.extend(keys.iter().map(|k| (k.clone(), "field seen in the data")));
            }
            fields
        };
        let block = navigate::block_at(text.get(..offset).unwrap_or(""));
        // The names of the rule block around the cursor: its `let`s and its keys' `as` names.
        let locals: Vec<(String, &str)> = file
            .ast
            .statements
            .iter()
            .find_map(|statement| match statement {
                Statement::Rule(rule) if rule.span.start <= offset && offset <= rule.span.end => {
                    Some(navigate::rule_locals(rule, text))
                }
                _ => None,
            })
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _, _, what)| (name.to_string(), what))
            .collect();
        let place = navigate::completion_place(text.get(..offset).unwrap_or(""));
        let keywords: &[&[&str]] = match (&place, block) {
            (CompletionPlace::StatementStart, Block::Rule) => &[navigate::RULE_KEYWORDS],
            (CompletionPlace::StatementStart, Block::Test) => &[navigate::TEST_KEYWORDS],
            (CompletionPlace::StatementStart, _) => &[navigate::STATEMENT_KEYWORDS],
            (CompletionPlace::AfterEffect, _) => &[navigate::EFFECT_KEYWORDS],
            (CompletionPlace::Keys, _) => &[navigate::KEY_KEYWORDS],
            (CompletionPlace::Expression, Block::Rule) => &[
                navigate::EXPRESSION_KEYWORDS,
                navigate::RULE_EXPRESSION_KEYWORDS,
            ],
            (CompletionPlace::Expression, _) => &[navigate::EXPRESSION_KEYWORDS],
            _ => &[],
        };
        for keyword in keywords.iter().copied().flatten() {
            add(keyword, KEYWORD, "keyword");
        }
        match place {
            CompletionPlace::RuleId => {
                let ids: Vec<String> = match &analysis.program {
                    Some(program) => program.rules.iter().map(|r| r.id.to_string()).collect(),
                    None => analysis
                        .occurrences()
                        .into_iter()
                        .filter_map(|(_, o)| match o.target {
                            Target::Rule(id) if o.declaration.is_some() => Some(id),
                            _ => None,
                        })
                        .collect(),
                };
                for id in ids {
                    add(&id, REFERENCE, "rule");
                }
            }
            CompletionPlace::Member(path) => {
                for (name, detail) in fields_under(&path) {
                    add(&name, FIELD, detail);
                }
            }
            CompletionPlace::GroupMember => {
                for (name, detail) in fields_under(&[]) {
                    add(&name, FIELD, detail);
                }
                let before = text.get(..offset).unwrap_or("");
                for name in navigate::lets_written_before(before, true) {
                    add(&name, VARIABLE, "`let each` of this rule, per record");
                }
            }
            CompletionPlace::AllOf => {
                let mut lets: Vec<String> = locals
                    .iter()
                    .filter(|(_, what)| *what == "let")
                    .map(|(name, _)| name.clone())
                    .collect();
                // `all.` with its name still to write does not parse: the lets from the text.
                if lets.is_empty() {
                    lets = navigate::lets_written_before(text.get(..offset).unwrap_or(""), false);
                }
                for name in &lets {
                    add(name, VARIABLE, "rule-local let, over the whole run");
                }
            }
            CompletionPlace::StatementStart
            | CompletionPlace::Keys
            | CompletionPlace::AfterEffect
            | CompletionPlace::Nothing => {}
            CompletionPlace::Expression => {
                for name in &analysis.names {
                    add(name, CONSTANT, "let or alias");
                }
                for (name, what) in &locals {
                    add(name, VARIABLE, &format!("{what} of this rule"));
                }
                for (name, function) in crate::compile::Function::ALL {
                    add(name, FUNCTION, function.signature());
                }
                for (name, detail) in fields_under(&[]) {
                    add(&name, FIELD, detail);
                }
            }
        }
        let items: Vec<Value> = items
            .into_iter()
            .map(
                |(label, (kind, detail))| json!({ "label": label, "kind": kind, "detail": detail }),
            )
            .collect();
        Ok(json!(items))
    }

    fn formatting(&self, params: Value) -> Result<Value, Failure> {
        let (_, file, _) = self.locate(&params)?;
        let text = file.ast.source.text();
        match crate::format::format_file(file.ast.source.name(), text) {
            Ok(formatted) if formatted == text => Ok(json!([])),
            Ok(formatted) => Ok(json!([{
                "range": convert::range(text, Span::new(0, text.len())),
                "newText": formatted,
            }])),
            // A file that does not parse is left alone; its diagnostics say why.
            Err(_) => Ok(Value::Null),
        }
    }

    fn symbols(&self, params: Value) -> Result<Value, Failure> {
        let (_, file, _) = self.locate(&params)?;
        let text = file.ast.source.text();
        // Symbol kinds of the protocol.
        const MODULE: u32 = 2;
        const FUNCTION: u32 = 12;
        const CONSTANT: u32 = 14;
        const EVENT: u32 = 24;
        const STRUCT: u32 = 23;
        const VARIABLE: u32 = 13;
        let lines = convert::LineIndex::new(text);
        let symbol = |name: &str, detail: &str, kind: u32, span: Span, selection: Span| {
            json!({
                "name": name,
                "detail": detail,
                "kind": kind,
                "range": lines.range(span),
                "selectionRange": lines.range(selection),
            })
        };
        let mut symbols = Vec::new();
        for statement in &file.ast.statements {
            match statement {
                Statement::Rule(rule) => {
                    let (name, selection) = match &rule.id {
                        Some(id) => (id.node.clone(), id.span),
                        None => {
                            let body = file.ast.source.slice(rule.body_span);
                            let first = body.lines().next().unwrap_or("rule");
                            (first.chars().take(60).collect(), rule.body_span)
                        }
                    };
                    let effect = match &rule.body {
                        RuleBody::Effect { effect, .. } => {
                            crate::effect::Outcome::from(effect.node).name().to_string()
                        }
                        RuleBody::Require { .. } => "require".into(),
                    };
                    let mut rule_symbol = symbol(&name, &effect, FUNCTION, rule.span, selection);
                    let lets: Vec<Value> = navigate::rule_locals(rule, text)
                        .into_iter()
                        .map(|(name, span, whole, what)| symbol(name, what, VARIABLE, whole, span))
                        .collect();
                    if let Some(fields) = rule_symbol.as_object_mut()
                        && !lets.is_empty()
                    {
                        fields.insert("children".into(), json!(lets));
                    }
                    symbols.push(rule_symbol);
                }
                Statement::Let(decl) => symbols.push(symbol(
                    &decl.name.node,
                    "let",
                    CONSTANT,
                    decl.span,
                    decl.name.span,
                )),
                Statement::Alias(decl) => symbols.push(symbol(
                    &decl.name.node,
                    "alias",
                    CONSTANT,
                    decl.span,
                    decl.name.span,
                )),
                Statement::Test(test) => symbols.push(symbol(
                    &test.name.node,
                    "test",
                    EVENT,
                    test.span,
                    test.name.span,
                )),
                Statement::Import(decl) => symbols.push(symbol(
                    &decl.path.node,
                    "import",
                    MODULE,
                    decl.span,
                    decl.path.span,
                )),
                Statement::Record(decl) => {
                    symbols.push(symbol("record", "schema", STRUCT, decl.span, decl.span));
                }
                Statement::Waive(_) => {}
            }
        }
        Ok(json!(symbols))
    }

    fn lenses(&self, params: Value) -> Result<Value, Failure> {
        let (analysis, file, _) = self.locate(&params)?;
        if !analysis.project || self.project.data.is_empty() {
            return Ok(json!([]));
        }
        let lines = convert::LineIndex::new(file.ast.source.text());
        let mut lenses = Vec::new();
        for statement in &file.ast.statements {
            let Statement::Rule(rule) = statement else {
                continue;
            };
            let id = analysis.program.as_ref().and_then(|program| {
                program
                    .rules
                    .iter()
                    .find(|r| r.source.name() == file.ast.source.name() && r.span == rule.body_span)
                    .map(|r| r.id.to_string())
            });
            let title = match id.as_deref().and_then(|id| self.count_of(id)) {
                Some(count) => count,
                None if analysis.program.is_none() => {
                    "not counted: the policies have errors".into()
                }
                None => "counting…".into(),
            };
            let line = lines.position(rule.span.start).line;
            lenses.push(json!({
                "range": Range::new(Position::new(line, 0), Position::new(line, 0)),
                "command": { "title": title, "command": "" },
            }));
        }
        Ok(json!(lenses))
    }

    fn code_actions(&self, params: Value) -> Result<Value, Failure> {
        let uri = at(&params, "/textDocument/uri").clone();
        let mut actions = Vec::new();
        for diagnostic in at(&params, "/context/diagnostics")
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(replacement) = at(diagnostic, "/data/replace").as_str() else {
                continue;
            };
            let Some(uri_text) = uri.as_str() else {
                continue;
            };
            actions.push(json!({
                "title": format!("replace with `{replacement}`"),
                "kind": "quickfix",
                "isPreferred": true,
                "diagnostics": [diagnostic],
                "edit": { "changes": { uri_text: [{ "range": at(diagnostic, "/range"), "newText": replacement }] } },
            }));
        }
        Ok(json!(actions))
    }
}

/// The value at a JSON pointer (`/textDocument/uri`), or null.
fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&Value::Null)
}

fn invalid(why: &str) -> Failure {
    (ErrorCode::InvalidParams as i32, why.to_string())
}

/// Hover on a keyword at `offset` of `text` (not in a comment or a string): what it does.
fn keyword_hover(text: &str, offset: usize) -> Value {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let before = text.get(..offset).unwrap_or("");
    let start = before.rfind(|c: char| !is_word(c)).map_or(0, |i| i + 1);
    let after = text.get(offset..).unwrap_or("");
    let end = offset + after.find(|c: char| !is_word(c)).unwrap_or(after.len());
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..start).unwrap_or("");
    // A field's name (`record.group`, `buyer.per`) is no keyword, nor is a word of `given` data.
    let field = line.ends_with('.') || navigate::block_at(before) == navigate::Block::Other;
    match text.get(start..end).and_then(navigate::keyword_doc) {
        Some(doc)
            if !field
                && !navigate::in_comment_or_string_before(text.get(..start).unwrap_or("")) =>
        {
            json!({
                "contents": { "kind": "markdown", "value": doc },
                "range": convert::range(text, Span::new(start, end)),
            })
        }
        _ => Value::Null,
    }
}
