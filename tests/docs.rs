//! The documentation ships with the project: the language reference is in the repository, the
//! README and `--help` point at it, and nothing points outside the repository.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_default()
}

#[test]
fn the_language_reference_ships_and_the_readme_help_and_init_point_at_it() {
    let reference = read("docs/language.md");
    for construct in [
        "## 3. Rules",
        "## 5. Declarations",
        "## 8. Waivers",
        "## 9. Tests",
    ] {
        assert!(
            reference.contains(construct),
            "docs/language.md lacks {construct}"
        );
    }
    assert!(read("README.md").contains("(docs/language.md)"));
    assert!(read("src/cli/init/example.policy").contains("docs/language.md"));
    assert!(read("src/cli/mod.rs").contains("docs/language.md"));
}

/// Text files of the project, outside build output and vendored test data.
fn project_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".ci"
            || ["target", "yaml-test-suite"].contains(&name.as_str())
        {
            continue;
        }
        if path.is_dir() {
            project_files(&path, out);
        } else if ["md", "rs", "policy", "toml", "sh", "yaml", "txt"]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_file_of_the_project_points_outside_the_repository() {
    let mut files = Vec::new();
    project_files(root(), &mut files);
    let this_file = root().join("tests/docs.rs");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| **f != this_file)
        .filter(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("../shared/")))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these point at ../shared/: {offenders:?}"
    );
}
