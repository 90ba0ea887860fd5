//! Walking folders and expanding globs without following symbolic links, inside the project
//! root, and counting what is left out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::diagnostic::{Code, Diag};
use crate::project::Project;

/// Walks `folder` in sorted order, adding its files to `files`: hidden entries, what
/// `.gitignore` files ignore and what matches an `exclude` glob are left out, and links are not
/// followed (a link to a file inside the project is read as that file; one that leads out of
/// the project, or to something that is not a regular file, is an error; one to a folder is
/// left out). Returns how many entries were left out (a folder counts once).
pub fn walk(
    folder: &Path,
    exclude: &[String],
    project: &Project,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<Diag>,
) -> usize {
    let mut overrides = ignore::overrides::OverrideBuilder::new(folder);
    for glob in exclude {
        if let Err(e) = overrides.add(&format!("!{glob}")) {
            errors.push(
                Diag::error(
                    Code::IoBadGlob,
                    format!("`{glob}` is not a valid exclude glob: {e}"),
                )
                .help("globs use gitignore syntax: `archive/`, `*.bak.yaml`, `old/**`"),
            );
            return 0;
        }
    }
    let overrides = match overrides.build() {
        Ok(overrides) => overrides,
        Err(e) => {
            errors.push(Diag::error(
                Code::IoBadGlob,
                format!("the exclude globs are not valid: {e}"),
            ));
            return 0;
        }
    };
    let walker = ignore::WalkBuilder::new(folder)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .ignore(false)
        .parents(true)
        .follow_links(false)
        .overrides(overrides)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut seen = HashSet::new();
    let mut skipped = 0;
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(Diag::io(
                    Code::IoRead,
                    "cannot read in the folder",
                    folder.display(),
                    &e,
                ));
                continue;
            }
        };
        seen.insert(entry.path().to_path_buf());
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            continue;
        }
        // The folder named itself, when it is a link: the walk goes into it, nothing is left out.
        let named = entry.depth() == 0;
        let path = entry.into_path();
        if file_type.is_symlink() {
            if let Err(diag) = project.check_inside(&path) {
                errors.push(diag);
                continue;
            }
            if path.is_dir() {
                skipped += usize::from(!named);
                continue;
            }
        }
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            // A FIFO or a device with a data file's name is refused; other odd entries are
            // left out with the files caveat does not read.
            if wanted(&path) {
                if let Err(diag) = project.check_file(&path) {
                    errors.push(diag);
                }
            } else {
                skipped += 1;
            }
            continue;
        }
        files.push(path);
    }
    skipped + left_out(folder, seen)
}

/// Whether a walk reads a file of this name: a policy or a data file.
fn wanted(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("policy"))
        || crate::data::Format::from_path(path).is_some()
}

/// How many entries of `folder` a walk that saw `seen` left out: hidden, ignored or excluded
/// (a folder left out counts once, and is not entered).
fn left_out(folder: &Path, seen: HashSet<PathBuf>) -> usize {
    let seen = Arc::new(seen);
    let count = Arc::new(AtomicUsize::new(0));
    let (filter_seen, filter_count) = (Arc::clone(&seen), Arc::clone(&count));
    let walker = ignore::WalkBuilder::new(folder)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            if entry.depth() == 0 || filter_seen.contains(entry.path()) {
                return true;
            }
            filter_count.fetch_add(1, Ordering::Relaxed);
            false
        })
        .build();
    walker.for_each(drop);
    count.load(Ordering::Relaxed)
}

/// The warning for a folder given to read that holds no policy or data file.
pub fn nothing_found(folder: &Path) -> Diag {
    Diag::warning(
        Code::IoEmptyFolder,
        format!("`{}` holds no policy or data file", folder.display()),
    )
    .help(
        "caveat reads `.policy`, `.yaml`, `.yml`, `.json`, `.jsonl` and `.csv` files and leaves \
         out hidden ones and what `.gitignore` files ignore; check the folder and its \
         `.gitignore`",
    )
}

/// Expands a glob of the config's `data` (an absolute pattern, or one relative to the working
/// folder) without following links, inside the project root: the matching paths, sorted.
pub fn expand_glob(pattern: &str, project: &Project) -> Result<Vec<PathBuf>, String> {
    let compiled = glob::Pattern::new(pattern).map_err(|e| e.to_string())?;
    // The folder to walk: the pattern's components before the first one with a wildcard.
    let mut base = PathBuf::new();
    for component in Path::new(pattern).components() {
        let text = component.as_os_str().to_string_lossy();
        if text.contains(['*', '?', '[']) {
            break;
        }
        base.push(component);
    }
    if base.as_os_str().is_empty() {
        base.push(".");
    }
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    if let Err(diag) = project.check_inside(&base) {
        return Err(diag.message);
    }
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let strip_dot = !pattern.starts_with("./") && base == Path::new(".");
    let mut matched = Vec::new();
    let walker = ignore::WalkBuilder::new(&base)
        .standard_filters(false)
        .follow_links(false)
        .build();
    for entry in walker.flatten() {
        let path = entry.path();
        let path = if strip_dot {
            path.strip_prefix(".").unwrap_or(path)
        } else {
            path
        };
        if compiled.matches_path_with(path, options) {
            matched.push(path.to_path_buf());
        }
    }
    matched.sort();
    Ok(matched)
}
