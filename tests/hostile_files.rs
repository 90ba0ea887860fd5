//! Hostile files cannot read, write or stall: each test replays an attack of issue 16 by
//! someone who controls a repository's policies, data, `caveat.toml` and symbolic links.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A policy that denies every record, its message showing the vendor.
const POLICY: &str = "rule ban { deny when id exists message \"bought from {vendor}\" }\n";

/// A temporary folder holding a git work tree `repo/` (with `files`) and, beside it, a secret
/// the attacker wants to read.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new(files: &[(&str, &str)]) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::write(
            dir.path().join("secret.yaml"),
            "- {id: s, key: TOP-SECRET-KEY-MATERIAL}\n",
        )
        .unwrap();
        let scene = Scene { dir };
        for (path, text) in files {
            scene.write(path, text);
        }
        scene
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn link(&self, path: &str, target: impl AsRef<Path>) {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, path).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.repo().join(path)).unwrap()
    }

    /// Runs caveat in the repository, giving up (and failing) if it blocks.
    fn caveat(&self, args: &[&str]) -> Output {
        self.caveat_with(args, &[])
    }

    fn caveat_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        // The output goes to files, so that a large one never fills a pipe.
        let (out_path, err_path) = (self.outside().join("stdout"), self.outside().join("stderr"));
        // `CAVEAT_BIN` replays the attacks against another build (an older one, to see them work).
        let binary = std::env::var_os("CAVEAT_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_caveat")),
            PathBuf::from,
        );
        let mut child = Command::new(binary)
            .args(args)
            .current_dir(self.repo())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        // A guard against a run that blocks (on a FIFO, a device): not a timing assertion.
        for _ in 0..6000 {
            if let Some(status) = child.try_wait().unwrap() {
                return Output {
                    status,
                    stdout: std::fs::read(&out_path).unwrap(),
                    stderr: std::fs::read(&err_path).unwrap(),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.kill().unwrap();
        panic!("caveat {args:?} did not finish");
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn all(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

// 1. Reading what it should not.

#[test]
fn data_symlink_to_proc_environ_is_refused() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    scene.link("data/env.yaml", "/proc/self/environ");
    let out = scene.caveat_with(
        &["check", "policies", "data"],
        &[("CI_TOKEN", "hunter2-do-not-print")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(stderr(&out).contains("`data/env.yaml` is a symbolic link"));
    assert!(!all(&out).contains("hunter2"), "{}", all(&out));
}

#[test]
fn data_symlink_to_a_private_key_outside_the_project_is_refused() {
    let scene = Scene::new(&[("policies/p.policy", POLICY)]);
    scene.link("data/key.yaml", scene.outside().join("secret.yaml"));
    let out = scene.caveat(&["check", "policies", "data/key.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(!all(&out).contains("TOP-SECRET"), "{}", all(&out));
    // Given the flag, the user may read it on purpose.
    let out = scene.caveat(&["check", "--allow-outside", "policies", "data/key.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
}

#[test]
fn data_path_with_dot_dot_out_of_the_project_is_refused() {
    let scene = Scene::new(&[("policies/p.policy", POLICY)]);
    let out = scene.caveat(&["check", "policies", "../secret.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(!all(&out).contains("TOP-SECRET"));
}

#[test]
fn allow_outside_in_the_config_is_refused_at_its_line() {
    // A pull request's author controls `caveat.toml`: it cannot lift the confinement.
    let scene = Scene::new(&[
        (
            "caveat.toml",
            "policies = [\"policies\"]\nallow-outside = true\n",
        ),
        ("policies/p.policy", POLICY),
    ]);
    let out = scene.caveat(&["check", "policies", "../secret.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let errors = stderr(&out);
    assert!(errors.contains("caveat::config::unknown_key"), "{errors}");
    assert!(
        errors.contains("`allow-outside` cannot be set in `caveat.toml`"),
        "{errors}"
    );
    assert!(errors.contains("caveat.toml:2:1"), "{errors}");
    assert!(
        errors.contains("give `--allow-outside` on the command line"),
        "{errors}"
    );
    assert!(!all(&out).contains("TOP-SECRET"), "{}", all(&out));
}

#[test]
fn allow_outside_flag_lifts_the_confinement() {
    let scene = Scene::new(&[("policies/p.policy", POLICY)]);
    let out = scene.caveat(&[
        "check",
        "--allow-outside",
        "--format",
        "json",
        "policies",
        "../secret.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stdout(&out).contains("\"records\":1"), "{}", stdout(&out));
}

#[test]
fn snapshot_check_of_a_link_out_of_the_project_shows_nothing_of_it() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    scene.link("outcomes.txt", scene.outside().join("secret.yaml"));
    let out = scene.caveat(&["snapshot", "policies", "data", "--check", "outcomes.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(!all(&out).contains("TOP-SECRET"), "{}", all(&out));
}

#[test]
fn snapshot_check_of_a_file_that_is_not_utf8_says_where_and_shows_none_of_it() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    std::fs::write(scene.repo().join("outcomes.txt"), b"ok\n\x1b]52;c;\xff\n").unwrap();
    let out = scene.caveat(&["snapshot", "policies", "data", "--check", "outcomes.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let errors = stderr(&out);
    assert!(errors.contains("caveat::io::not_utf8"), "{errors}");
    assert!(
        errors.contains("snapshot files must be UTF-8 text: `outcomes.txt` is not, from line 2"),
        "{errors}"
    );
    assert!(!all(&out).contains('\u{1b}'), "{}", all(&out));
}

#[test]
fn given_file_outside_the_project_is_refused() {
    let scene = Scene::new(&[(
        "policies/p.policy",
        "rule ban { deny when id exists }\ntest \"t\" {\n  given file \"../../secret.yaml\"\n  expect deny ban\n}\n",
    )]);
    let out = scene.caveat(&["test", "policies"]);
    assert_ne!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("caveat::io::outside_project"),
        "{}",
        all(&out)
    );
    assert!(!all(&out).contains("TOP-SECRET"), "{}", all(&out));
}

#[test]
fn symlinked_policy_in_a_walked_folder_leading_out_is_refused() {
    let scene = Scene::new(&[("data/d.yaml", "- {id: a, vendor: DJI}\n")]);
    std::fs::write(scene.outside().join("evil.policy"), "note when id exists\n").unwrap();
    scene.write("policies/p.policy", POLICY);
    scene.link("policies/evil.policy", scene.outside().join("evil.policy"));
    let out = scene.caveat(&["check", "policies", "data"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("`policies/evil.policy` is a symbolic link"));
}

#[test]
fn explicit_policy_outside_the_root_is_refused() {
    let scene = Scene::new(&[("data/d.yaml", "- {id: a, vendor: DJI}\n")]);
    std::fs::write(scene.outside().join("other.policy"), POLICY).unwrap();
    let out = scene.caveat(&["check", "../other.policy", "data"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    let out = scene.caveat(&["check", "--allow-outside", "../other.policy", "data"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
}

#[test]
fn fifo_as_data_file_is_refused_without_blocking() {
    let scene = Scene::new(&[("policies/p.policy", POLICY)]);
    std::fs::create_dir_all(scene.repo().join("data")).unwrap();
    mkfifo(&scene.repo().join("data/pipe.yaml"));
    for args in [
        &["check", "policies", "data/pipe.yaml"][..],
        &["check", "policies", "data"][..],
    ] {
        let out = scene.caveat(args);
        assert_eq!(out.status.code(), Some(2), "{}", all(&out));
        assert!(
            stderr(&out).contains("caveat::io::not_a_file"),
            "{}",
            all(&out)
        );
        assert!(stderr(&out).contains("a named pipe"));
    }
}

// 2. Config discovery.

#[test]
fn config_above_the_git_work_tree_is_not_used() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("examples/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    // A config above the repository would make the check pass.
    std::fs::write(
        scene.outside().join("caveat.toml"),
        "fail-on = \"never\"\npolicies = [\"nothing\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(scene.outside().join("nothing")).unwrap();
    std::fs::write(
        scene.outside().join("nothing/ok.policy"),
        "note when id == \"zz\"\n",
    )
    .unwrap();
    let out = scene.caveat(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
}

// 3. What is skipped is said.

#[test]
fn gitignore_star_in_the_data_folder_is_warned_of_and_counted() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/.gitignore", "*\n"),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let report = json(&out);
    assert_eq!(report["warnings"][0]["code"], "caveat::io::empty_folder");
    assert_eq!(report["summary"]["skipped"], 2, "{report}");
    assert!(stderr(&out).contains("`data` holds no policy or data file"));
    // The folder's warning says why no record was checked: the run's "no records" is not said
    // besides (issue 18's warning for a run without data).
    let errors = stderr(&out);
    assert_eq!(
        errors.matches("caveat::io::empty_folder").count(),
        1,
        "{errors}"
    );
    assert!(!errors.contains("caveat::input::no_records"), "{errors}");
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1, "{report}");
    let out = scene.caveat(&["check", "policies", "data", "--fail-on", "warn"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stdout(&out).contains("0 records checked"));
    assert!(stdout(&out).contains("2 files skipped"), "{}", stdout(&out));
}

#[test]
fn hidden_files_are_counted_as_skipped() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
        ("data/.hidden.yaml", "- {id: b, vendor: DJI}\n"),
        ("data/notes.txt", "not data\n"),
    ]);
    let out = scene.caveat(&["check", "policies", "data"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        stdout(&out).contains("1 record checked: 1 deny, 0 warn, 0 note, 0 error; 2 files skipped"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn upper_case_extensions_are_read() {
    let scene = Scene::new(&[
        ("policies/P.POLICY", POLICY),
        ("data/a.YAML", "- {id: a, vendor: DJI}\n"),
        ("data/b.JSON", "[{\"id\": \"b\", \"vendor\": \"DJI\"}]\n"),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert_eq!(json(&out)["summary"]["deny"], 2);
}

// 4. Reports over inputs.

#[test]
fn report_over_its_own_data_input_is_refused() {
    let data = "- {id: a, vendor: DJI}\n";
    let scene = Scene::new(&[("policies/p.policy", POLICY), ("data/d.yaml", data)]);
    let out = scene.caveat(&[
        "check",
        "policies",
        "data/d.yaml",
        "--format",
        "human",
        "-o",
        "data/d.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::cli::output_is_input"));
    assert_eq!(scene.read("data/d.yaml"), data);
    // Found by walking a folder, through another spelling of the path, too.
    let out = scene.caveat(&[
        "check",
        "policies",
        "data",
        "--format",
        "json",
        "-o",
        "./data/../data/d.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::cli::output_is_input"));
    assert_eq!(scene.read("data/d.yaml"), data);
    // The issue's own command, an `-o` with no `--format`, is a usage error before anything is
    // opened (each `--output` belongs to the `--format` right before it).
    let out = scene.caveat(&["check", "policies", "data/d.yaml", "-o", "data/d.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert_eq!(scene.read("data/d.yaml"), data);
}

#[test]
fn report_over_a_policy_is_refused() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    let out = scene.caveat(&[
        "check",
        "policies",
        "data",
        "--format",
        "json",
        "-o",
        "policies/p.policy",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::cli::output_is_input"));
    assert_eq!(scene.read("policies/p.policy"), POLICY);
    let out = scene.caveat(&["snapshot", "policies", "data", "-o", "data/d.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::cli::output_is_input"));
}

/// A policy file that only an `import` names (here one holding nothing but a `let`) is an input
/// too: neither a report nor a snapshot may overwrite it.
#[test]
fn report_over_an_imported_policy_is_refused() {
    let main = "import \"lib.policy\"\nrule r { deny when amount > 5 }\n";
    let lib = "let unused = 1\n";
    let scene = Scene::new(&[
        ("policies/main.policy", main),
        ("policies/lib.policy", lib),
        ("data/d.yaml", "- {id: a, amount: 10}\n"),
    ]);
    let check = [
        "check",
        "policies/main.policy",
        "data",
        "--format",
        "json",
        "-o",
        "policies/lib.policy",
    ];
    let snapshot = [
        "snapshot",
        "policies/main.policy",
        "data",
        "-o",
        "policies/lib.policy",
    ];
    for args in [&check[..], &snapshot[..]] {
        let out = scene.caveat(args);
        assert_eq!(out.status.code(), Some(2), "{}", all(&out));
        assert!(
            stderr(&out).contains("caveat::cli::output_is_input"),
            "{}",
            all(&out)
        );
        assert_eq!(scene.read("policies/lib.policy"), lib);
    }
}

// 5. Outputs out of the project and through links.

#[test]
fn config_output_outside_the_project_is_refused() {
    let scene = Scene::new(&[
        (
            "caveat.toml",
            "policies = [\"policies\"]\ndata = [\"data\"]\n[output]\nsarif = \"../planted.sarif\"\n",
        ),
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    let out = scene.caveat(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(!scene.outside().join("planted.sarif").exists());
    // A `--format` flag adds to the config's reports: the config's output is still refused.
    let out = scene.caveat(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::outside_project"));
    assert!(!scene.outside().join("planted.sarif").exists());
    // The same file given on the command line replaces the config's: the user's own choice.
    let out = scene.caveat(&["check", "--format", "sarif", "-o", "../planted.sarif"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(scene.outside().join("planted.sarif").exists());
}

#[test]
fn output_through_a_committed_symlink_is_refused() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    let victim = scene.outside().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    scene.link("report.json", &victim);
    let out = scene.caveat(&[
        "check",
        "policies",
        "data",
        "--format",
        "json",
        "-o",
        "report.json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::unsafe_output"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let out = scene.caveat(&["snapshot", "policies", "data", "-o", "report.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(
        std::fs::symlink_metadata(scene.repo().join("report.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn output_onto_a_fifo_or_device_is_refused() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    mkfifo(&scene.repo().join("out.pipe"));
    let out = scene.caveat(&[
        "check", "policies", "data", "--format", "json", "-o", "out.pipe",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::unsafe_output"));
    let out = scene.caveat(&["snapshot", "policies", "data", "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device_like()
    );
}

/// Whether a file type is a character device (as `/dev/null` must stay).
trait CharDevice {
    fn is_char_device_like(&self) -> bool;
}

impl CharDevice for std::fs::FileType {
    fn is_char_device_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_char_device(self)
    }
}

#[test]
fn fmt_leaves_a_symlinked_policy_alone() {
    let scene = Scene::new(&[("shared/a.policy", "deny   vendor DJI\n")]);
    scene.link("policies/a.policy", scene.repo().join("shared/a.policy"));
    let out = scene.caveat(&["fmt", "policies"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::fmt::symlink"));
    let link = std::fs::symlink_metadata(scene.repo().join("policies/a.policy")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(scene.read("shared/a.policy"), "deny   vendor DJI\n");
}

#[test]
fn fmt_leaves_read_only_files_alone() {
    let scene = Scene::new(&[("policies/a.policy", "deny   vendor DJI\n")]);
    let path = scene.repo().join("policies/a.policy");
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions).unwrap();
    let out = scene.caveat(&["fmt", "policies"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::fmt::read_only"));
    assert_eq!(scene.read("policies/a.policy"), "deny   vendor DJI\n");
}

#[test]
fn init_never_writes_through_a_link() {
    let scene = Scene::new(&[]);
    let elsewhere = scene.outside().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    scene.link("policies", &elsewhere);
    let out = scene.caveat(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(!elsewhere.join("example.policy").exists());
    // A dangling link is a file that exists: it is not written through either.
    let scene = Scene::new(&[]);
    scene.link("caveat.toml", scene.outside().join("created.toml"));
    let out = scene.caveat(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(!scene.outside().join("created.toml").exists());
}

// 7–9. Output that lies or attacks the reader.

/// A record whose vendor holds terminal escapes: a clipboard write, a screen clear, a link.
const ESCAPES: &str = "[{\"id\": \"a\\u001b[2J\", \"vendor\": \"\\u001b]52;c;aGk=\\u0007\\u001b]8;;http://x\\u0007DJI\\u009b\"}]\n";

#[test]
fn terminal_escapes_in_data_are_shown_escaped_in_every_text_format() {
    let scene = Scene::new(&[("policies/p.policy", POLICY), ("data/d.json", ESCAPES)]);
    for format in ["human", "tap", "github", "csv", "junit", "summary", "html"] {
        let out = scene.caveat(&["check", "policies", "data", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", all(&out));
        let text = all(&out);
        assert!(!text.contains('\u{1b}'), "{format}: {text:?}");
        assert!(!text.contains('\u{9b}'), "{format}: {text:?}");
        assert!(!text.contains('\u{7}'), "{format}: {text:?}");
        if format != "summary" {
            assert!(text.contains("\\u{1b}"), "{format}: {text}");
        }
    }
}

/// The same through a group finding, whose records are listed by name under it; and a record
/// name with a line break heads its human finding on one line, so that it cannot start a line of
/// its own (a GitHub workflow command, say).
#[test]
fn names_listed_under_a_group_finding_are_shown_escaped() {
    let policy = format!("{POLICY}rule tot {{ note per vendor when count(group) >= 1 }}\n");
    let data = "[{\"id\": \"a\\n::warning file=x::forged\", \"vendor\": \"\\u001b[2JDJI\"}]\n";
    let scene = Scene::new(&[
        ("policies/p.policy", policy.as_str()),
        ("data/d.json", data),
    ]);
    for format in ["human", "tap", "github", "csv", "junit", "summary", "html"] {
        let out = scene.caveat(&[
            "check", "--color", "never", "policies", "data", "--format", format,
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", all(&out));
        let text = all(&out);
        assert!(!text.contains('\u{1b}'), "{format}: {text:?}");
        // The formats a CI log shows line by line (a CSV cell, an HTML or XML text may hold a
        // line break, as those formats allow).
        let forged = text.lines().any(|l| l.starts_with("::warning file=x"));
        let logged = ["human", "tap", "github", "summary"].contains(&format);
        assert!(!(logged && forged), "{format}: {text}");
        if format == "human" {
            assert!(
                text.contains("× a\\u{a}::warning file=x::forged: "),
                "{text}"
            );
        }
    }
}

#[test]
fn terminal_escapes_in_a_file_name_are_shown_escaped() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/c\u{1b}[31md.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    for format in ["human", "tap", "github", "csv", "summary"] {
        let out = scene.caveat(&[
            "check", "--color", "never", "policies", "data", "--format", format,
        ]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", all(&out));
        let text = all(&out);
        assert!(!text.contains('\u{1b}'), "{format}: {text:?}");
    }
    let out = scene.caveat(&["check", "--color", "never", "policies", "data"]);
    assert!(all(&out).contains("c\\u{1b}[31md.yaml:1:"), "{}", all(&out));
}

/// A record named `c\# SKIP evil` must not make its failing TAP test point a skipped one: the
/// backslash is escaped too, so the `#` stays text.
#[test]
fn a_record_name_cannot_add_a_tap_directive() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: 'c\\# SKIP evil', vendor: DJI}\n"),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "tap"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let text = stdout(&out);
    let point = text
        .lines()
        .find(|l| l.starts_with("not ok 1"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(point, "not ok 1 - c\\\\\\# SKIP evil", "{text}");
}

#[test]
fn csv_formula_cells_are_neutralised() {
    let scene = Scene::new(&[
        (
            "policies/p.policy",
            "rule ban { deny when id exists message \"{vendor}\" }\n",
        ),
        (
            "data/d.yaml",
            "- {id: \"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\", vendor: \"@SUM(A1)\"}\n- {id: \"+1\", vendor: \"-2\"}\n",
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{row:?}"
            );
        }
    }
    assert_eq!(&rows[0][3], "'=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(&rows[0][6], "'@SUM(A1)");
}

#[test]
fn junit_stays_well_formed_with_noncharacters_in_values() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/d.json",
            "[{\"id\": \"a\\ufffe\", \"vendor\": \"x\\uffff\\u0000\\u001b\"}]\n",
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let xml = stdout(&out);
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}: {xml}"),
        }
    }
    for c in xml.chars() {
        assert!(
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..),
            "{c:?} is not allowed in XML"
        );
    }
    assert!(xml.contains("\\u{fffe}"), "{xml}");
}

#[test]
fn junit_attributes_keep_tabs_and_line_breaks_visible() {
    // A reader of XML turns a tab or line break inside an attribute into a space: the record's
    // name and the failure message, both attributes, show them as escapes instead.
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/d.json",
            "[{\"id\": \"a\\tb\\nc\", \"vendor\": \"x\"}]\n",
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let xml = stdout(&out);
    let case = xml
        .lines()
        .find(|l| l.trim_start().starts_with("<testcase"))
        .unwrap();
    assert!(case.contains("name=\"a\\u{9}b\\u{a}c\""), "{xml}");
    assert!(!xml.contains('\t'), "{xml}");
}

#[test]
fn summary_markdown_newline_in_vendor_cannot_forge_a_line() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/d.json",
            "[{\"id\": \"a\", \"vendor\": \"Evil\\n\\n| forged | 0 | 0 | 0 | 0 | 0 |\\n1000 records checked: 0 deny\"}]\n",
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "summary"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let text = stdout(&out);
    assert!(!text.lines().any(|l| l.starts_with("| forged")), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("1000 records")),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("| Evil")).unwrap();
    assert_eq!(row.matches(" | ").count(), 5, "{row}");
}

// 10–11. Stalling and panics on long lines.

#[test]
fn minified_json_with_many_findings_on_one_line_is_checked() {
    let records: Vec<String> = (0..20_000)
        .map(|i| format!("{{\"id\":\"r{i}\",\"vendor\":\"DJ\u{e9}\"}}"))
        .collect();
    let scene = Scene::new(&[
        ("policies/p.policy", "deny when vendor exists\n"),
        ("data/min.json", &format!("[{}]", records.join(","))),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let last = stdout(&out)
        .lines()
        .filter(|l| l.contains("\"r19999\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .next()
        .unwrap();
    // Columns count characters (`é` is one), on a line of 600,000.
    let before = format!("[{},", records[..19_999].join(","));
    let within = "{\"id\":\"r19999\",\"vendor\":";
    assert_eq!(last["line"], 1);
    assert_eq!(
        last["column"],
        before.chars().count() + within.chars().count() + 1
    );
}

#[test]
fn duplicate_keys_far_apart_on_one_line_do_not_panic() {
    let padding = "x".repeat(70_000);
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/dup.json",
            &format!("[{{\"id\":\"x\",\"a\":\"{padding}\",\"id\":\"y\"}}]"),
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let text = stderr(&out);
    assert!(text.contains("caveat::data::duplicate_key"), "{text}");
    assert!(text.contains("an excerpt of a long line"), "{text}");
    assert!(text.contains("dup.json:1:70019]"), "{text}");
    assert!(!text.contains("internal error"));
    // Only an excerpt of the line is shown.
    assert!(text.lines().all(|l| l.chars().count() < 400), "{text}");
}

#[test]
fn long_line_of_unnamed_rules_does_not_panic() {
    let rules: Vec<String> = (0..4_000).map(|i| format!("deny vendor X{i:05}")).collect();
    let scene = Scene::new(&[
        ("policies/p.policy", &rules.join(" ")),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
    ]);
    let out = scene.caveat(&["check", "policies", "data"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let text = stderr(&out);
    assert!(
        text.contains("caveat::check::duplicate_rule_id"),
        "{}",
        &text[..2000.min(text.len())]
    );
    assert!(!text.contains("internal error"));
    assert!(text.lines().all(|l| l.chars().count() < 400));
}

// 12. Bounded memory.

#[test]
fn rendered_message_is_capped_at_64_kib() {
    let placeholders = "{product}".repeat(100);
    let scene = Scene::new(&[
        (
            "policies/p.policy",
            &format!("rule ban {{ deny when id exists message \"{placeholders}\" }}\n"),
        ),
        (
            "data/d.yaml",
            &format!("- {{id: a, product: {}}}\n", "p".repeat(10_000)),
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let finding: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.ends_with("… (message cut at 64 KiB)"),
        "{}",
        &message[message.len() - 40..]
    );
    assert!(message.len() <= (64 << 10) + 40);
}

#[test]
fn csv_cell_over_max_scalar_size_is_refused() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/d.csv",
            &format!("id,vendor\na,{}\nb,DJI\n", "v".repeat(100)),
        ),
    ]);
    let out = scene.caveat(&[
        "check",
        "policies",
        "data",
        "--max-scalar-size",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let report = json(&out);
    assert_eq!(
        report["errors"][0]["code"],
        "caveat::data::scalar_too_large"
    );
    // Reading goes on with the next row.
    assert_eq!(report["summary"]["deny"], 1);
}

#[test]
fn data_symlink_to_dev_zero_is_refused() {
    let scene = Scene::new(&[("policies/p.policy", POLICY)]);
    scene.link("data/zero.yaml", "/dev/zero");
    // Even with the confinement lifted, only regular files are read.
    let out = scene.caveat(&["check", "--allow-outside", "policies", "data/zero.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::io::not_a_file"));
    assert!(stderr(&out).contains("a device"));
}

#[test]
fn max_file_size_refuses_a_file_before_reading_it() {
    let scene = Scene::new(&[
        ("policies/p.policy", POLICY),
        (
            "data/d.json",
            &format!("[{}]", "{\"id\":\"a\"},".repeat(1000) + "{}"),
        ),
    ]);
    let out = scene.caveat(&["check", "policies", "data", "--max-file-size", "1K"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("caveat::data::file_too_large"));
}

#[test]
fn config_glob_does_not_follow_a_symlink_loop() {
    let scene = Scene::new(&[
        (
            "caveat.toml",
            "policies = [\"policies\"]\ndata = [\"data/**/*.yaml\"]\n",
        ),
        ("policies/p.policy", POLICY),
        ("data/d.yaml", "- {id: a, vendor: DJI}\n"),
        ("data/deep/e.yaml", "- {id: b, vendor: DJI}\n"),
    ]);
    scene.link("data/up", "..");
    scene.link("data/loop", ".");
    let out = scene.caveat(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert_eq!(json(&out)["summary"]["records"], 2);
}

#[test]
fn config_glob_from_the_filesystem_root_is_refused() {
    let scene = Scene::new(&[
        (
            "caveat.toml",
            "policies = [\"policies\"]\ndata = [\"/**/*\"]\n",
        ),
        ("policies/p.policy", POLICY),
    ]);
    let out = scene.caveat(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(
        stderr(&out).contains("outside the project root"),
        "{}",
        all(&out)
    );
}

/// Data nested as deep as `--max-depth` allows is read, compared, copied into a group and
/// rendered on the worker threads without overflowing their stacks.
#[test]
fn the_deepest_data_allowed_is_rendered_on_worker_threads() {
    let sandbox = Scene::new(&[]);
    let depth = 9_990;
    sandbox.write(
        "deep.json",
        &format!(
            "{{\"id\":\"deep\",\"v\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
    );
    sandbox.write(
        "p.policy",
        "rule m {\n  note when id exists\n  message \"{v}\"\n}\n\
         rule g {\n  note per id when count(group) > 0\n  message \"{group.v}\"\n}\n",
    );
    let out = sandbox.caveat(&[
        "check",
        "--jobs",
        "2",
        "--max-depth",
        "10000",
        "--format",
        "json",
        "p.policy",
        "deep.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(json(&out)["summary"]["note"], 2, "{}", all(&out));
}

/// A folder named by a link inside the project is walked, and nothing is counted as skipped;
/// a link to a folder met inside a walk is left out, and counted.
#[test]
fn a_folder_named_by_a_link_is_walked_without_a_skip() {
    let scene = Scene::new(&[
        ("real/p.policy", "rule r { note when v exists }\n"),
        ("real/d.yaml", "- {id: a, v: 1}\n"),
    ]);
    scene.link("ln", "real");
    let out = scene.caveat(&["check", "--format", "json", "ln"]);
    assert_eq!(json(&out)["summary"]["note"], 1, "{}", all(&out));
    assert!(
        json(&out)["summary"].get("skipped").is_none(),
        "{}",
        all(&out)
    );
    scene.link("outer/inner", "../real");
    scene.write("outer/p.policy", "rule r { note when v exists }\n");
    scene.write("outer/d.yaml", "- {id: b, v: 2}\n");
    let out = scene.caveat(&["check", "--format", "json", "outer"]);
    assert_eq!(json(&out)["summary"]["skipped"], 1, "{}", all(&out));
}

#[test]
fn fmt_keeps_a_files_owner_and_leaves_hard_links_alone() {
    use std::os::unix::fs::MetadataExt as _;
    let scene = Scene::new(&[
        ("policies/a.policy", "deny   vendor DJI\n"),
        ("policies/b.policy", "deny   vendor Autel\n"),
    ]);
    // A second link to a.policy: replacing a.policy would leave the link with the old text.
    std::fs::hard_link(
        scene.repo().join("policies/a.policy"),
        scene.repo().join("a-link.policy"),
    )
    .unwrap();
    // b.policy owned by another user where the tests may give it one (as root), else by us.
    let b = scene.repo().join("policies/b.policy");
    let _ = std::os::unix::fs::chown(&b, Some(65534), Some(65534));
    let before = std::fs::metadata(&b).unwrap();
    let out = scene.caveat(&["fmt", "policies"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("hard links"), "{}", all(&out));
    assert_eq!(scene.read("policies/a.policy"), "deny   vendor DJI\n");
    // The other file is formatted, with its owner kept.
    assert_eq!(scene.read("policies/b.policy"), "deny vendor Autel\n");
    let after = std::fs::metadata(&b).unwrap();
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
}
