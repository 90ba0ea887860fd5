//! Paths as reports show them: relative to the working folder, however they were given (on the
//! command line, absolute or relative, or in `caveat.toml`, resolved against its folder).

use std::path::{Component, Path, PathBuf};

/// `path` relative to the working folder when it lies inside it, without `.` components; a path
/// outside the working folder (or `-`, standard input) is kept as given.
pub fn relative(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(here) => relative_to(path, &here),
        Err(_) => path.to_path_buf(),
    }
}

/// `path` relative to `here` when it lies inside it (see [`relative`]).
pub fn relative_to(path: &Path, here: &Path) -> PathBuf {
    let inside = if path.is_absolute() {
        match path.strip_prefix(here) {
            Ok(rest) => rest,
            Err(_) => return path.to_path_buf(),
        }
    } else {
        path
    };
    let cleaned: PathBuf = inside
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

/// `path` made absolute against the working folder, without `.` components: a key to compare
/// two spellings of one path by.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = match std::env::current_dir() {
        Ok(here) if path.is_relative() => here.join(path),
        _ => path.to_path_buf(),
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// `path` made absolute with `.` and `..` taken away by their names alone (the file may not
/// exist yet): `data/../data/d.yaml`, and `../data/d.yaml` from `sub/`, are `data/d.yaml`.
pub(crate) fn lexical(path: &Path) -> PathBuf {
    crate::check::load::normalize(&absolute(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_working_folder_become_relative() {
        let here = Path::new("/home/u/proj");
        assert_eq!(
            relative_to(Path::new("/home/u/proj/data/p.csv"), here),
            Path::new("data/p.csv")
        );
        assert_eq!(
            relative_to(Path::new("./data/./p.csv"), here),
            Path::new("data/p.csv")
        );
        assert_eq!(relative_to(Path::new("/home/u/proj"), here), Path::new("."));
        assert_eq!(
            relative_to(Path::new("/elsewhere/p.csv"), here),
            Path::new("/elsewhere/p.csv")
        );
        assert_eq!(
            relative_to(Path::new("../p.csv"), here),
            Path::new("../p.csv")
        );
        assert_eq!(relative_to(Path::new("-"), here), Path::new("-"));
    }
}
