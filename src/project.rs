//! The project root, and what caveat may read and write: the one place that decides whether a
//! path is safe to open.
//!
//! Whoever writes a pull request controls its policies, data, `caveat.toml` and every symbolic
//! link in them. So caveat reads only regular files, and only inside the project root: the
//! folder of `caveat.toml`, else the git work tree, else the working folder. A path or link that
//! resolves outside it is refused with a diagnostic that names the path and never shows the
//! bytes of what it points to. `--allow-outside` on the command line lifts the confinement, for
//! local use (`caveat.toml` cannot: a pull request's author controls it). Writes never follow
//! or replace a symbolic link or a file that is not a regular one.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::diagnostic::{Code, Diag};

/// The largest policy or config file read, in bytes: far beyond any real one, and a bound on
/// what a hostile file can make caveat hold.
pub const MAX_POLICY_BYTES: u64 = 64 << 20;

/// The folder caveat may read from, and whether it may leave it.
#[derive(Debug, Clone)]
pub struct Project {
    /// The root, canonical (symbolic links resolved).
    root: PathBuf,
    /// Whether paths outside the root may be read (`--allow-outside`).
    allow_outside: bool,
}

/// The project of this process, set once by the command line.
static CURRENT: OnceLock<Project> = OnceLock::new();

impl Project {
    /// A project rooted at `root` (made canonical when it exists).
    pub fn new(root: &Path, allow_outside: bool) -> Project {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Project {
            root,
            allow_outside,
        }
    }

    /// The project of a run started in `start`: the folder of `config` (the `caveat.toml` in
    /// use) if there is one, else the git work tree that holds `start`, else `start`.
    pub fn locate(start: &Path, config: Option<&Path>, allow_outside: bool) -> Project {
        let folder = config
            .map(|c| match c.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .or_else(|| git_root(start))
            .unwrap_or_else(|| start.to_path_buf());
        Project::new(&folder, allow_outside)
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the confinement is lifted.
    pub fn allows_outside(&self) -> bool {
        self.allow_outside
    }

    /// Makes this the project of the process (the first call wins), for reads deep inside the
    /// library, such as a test's `given file`.
    pub fn make_current(self) {
        let _ = CURRENT.set(self);
    }

    /// The project of the process: the one made current, else the working folder's, confined.
    pub fn current() -> Project {
        CURRENT.get().cloned().unwrap_or_else(|| {
            let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let config = crate::config::find(&here);
            Project::locate(&here, config.as_deref(), false)
        })
    }

    /// Whether a canonical path lies inside the root (or the confinement is lifted).
    pub fn contains(&self, canonical: &Path) -> bool {
        self.allow_outside || canonical.starts_with(&self.root)
    }

    /// Checks that `path` resolves inside the root; the error names `path` (a link as a link)
    /// and never what it points to.
    pub fn check_inside(&self, path: &Path) -> Result<PathBuf, Diag> {
        let canonical = std::fs::canonicalize(path)
            .map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
        if self.contains(&canonical) {
            return Ok(canonical);
        }
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let what = if is_link {
            "is a symbolic link that leads"
        } else {
            "is"
        };
        Err(Diag::error(
            Code::IoOutsideProject,
            format!(
                "`{}` {what} outside the project root `{}`",
                path.display(),
                self.root.display()
            ),
        )
        .help(
            "caveat reads only files inside the project (the folder of `caveat.toml`, else the \
             git work tree, else the working folder); give `--allow-outside` to read it anyway",
        ))
    }

    /// Checks a file to read: inside the root, and a regular file (not a folder, a FIFO or a
    /// device).
    pub fn check_file(&self, path: &Path) -> Result<(), Diag> {
        self.check_inside(path)?;
        let metadata = std::fs::metadata(path)
            .map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
        regular(path, &metadata)
    }

    /// Checks a file to write that the project's own settings (not the command line) name: its
    /// folder must lie inside the root.
    pub fn check_output(&self, path: &Path) -> Result<(), Diag> {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let canonical = std::fs::canonicalize(folder)
            .map_err(|e| Diag::io(Code::IoWrite, "cannot write", path.display(), &e))?;
        if self.contains(&canonical) {
            return Ok(());
        }
        Err(Diag::error(
            Code::IoOutsideProject,
            format!(
                "the output `{}` is outside the project root `{}`",
                path.display(),
                self.root.display()
            ),
        )
        .help(
            "outputs named in `caveat.toml` must stay inside the project; give `--output` on the \
             command line to write elsewhere",
        ))
    }
}

/// The root of the git work tree holding `start`: the nearest folder at or above it with a
/// `.git` entry.
pub fn git_root(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .find(|folder| folder.join(".git").exists())
        .map(Path::to_path_buf)
}

/// What kind of thing a path is, in words, for a refusal.
fn kind(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a named pipe";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// An error unless `metadata` is a regular file's.
fn regular(path: &Path, metadata: &Metadata) -> Result<(), Diag> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(Diag::error(
        Code::IoNotAFile,
        format!(
            "`{}` is {}, not a regular file",
            path.display(),
            kind(metadata)
        ),
    )
    .help("caveat reads only regular files; give the file itself"))
}

/// Opens a regular file for reading (refusing FIFOs, devices and folders before opening, so that
/// nothing blocks or streams forever), with its size.
pub fn open_regular(path: &Path) -> Result<(File, u64), Diag> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
    regular(path, &metadata)?;
    let file =
        File::open(path).map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
    // The file may have been swapped between the two looks.
    let opened = file
        .metadata()
        .map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
    regular(path, &opened)?;
    Ok((file, opened.len()))
}

/// The error for a file larger than `max` bytes.
pub fn too_large(path: &Path, max: u64, flag: Option<&str>) -> Diag {
    let diag = Diag::error(
        Code::DataFileTooLarge,
        format!(
            "`{}` is larger than the limit of {max} bytes",
            path.display()
        ),
    );
    match flag {
        Some(flag) => diag.help(format!(
            "raise the limit with `{flag} BYTES` if the file is right"
        )),
        None => diag.help("no policy or config file needs to be that large"),
    }
}

/// Reads a regular file of at most `max` bytes, refusing a larger one before allocating for it.
pub fn read_regular(path: &Path, max: u64, flag: Option<&str>) -> Result<Vec<u8>, Diag> {
    let (file, size) = open_regular(path)?;
    if size > max {
        return Err(too_large(path, max, flag));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Diag::io(Code::IoRead, "cannot read", path.display(), &e))?;
    if bytes.len() as u64 > max {
        return Err(too_large(path, max, flag));
    }
    Ok(bytes)
}

/// The refusal of a symbolic link where a file is to be written.
fn refuse_link(path: &Path) -> Result<(), Diag> {
    Err(Diag::error(
        Code::IoUnsafeOutput,
        format!(
            "`{}` is a symbolic link; caveat does not write through links",
            path.display()
        ),
    )
    .help("remove the link, or give the path of the file itself"))
}

/// Checks that `path` may be written or replaced: it does not exist, or is a regular file
/// (not a symbolic link, a device, a FIFO or a folder).
pub fn check_writable(path: &Path) -> Result<(), Diag> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Diag::io(Code::IoWrite, "cannot write", path.display(), &e)),
        Ok(m) if m.file_type().is_symlink() => refuse_link(path),
        Ok(m) if !m.is_file() => Err(Diag::error(
            Code::IoUnsafeOutput,
            format!(
                "`{}` is {}; caveat writes only regular files",
                path.display(),
                kind(&m)
            ),
        )
        .help("give the path of a regular file, or of one that does not exist yet")),
        Ok(_) => Ok(()),
    }
}

/// Creates (or truncates) a report file, never through a symbolic link and never over a file
/// that is not a regular one.
pub fn create_output(path: &Path) -> Result<File, Diag> {
    check_writable(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let io_error = |e: std::io::Error| Diag::io(Code::IoWrite, "cannot write", path.display(), &e);
    let file = options.open(path).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            refuse_link(path).err().unwrap_or_else(|| io_error(e))
        } else {
            io_error(e)
        }
    })?;
    let metadata = file.metadata().map_err(io_error)?;
    regular(path, &metadata).map_err(|_| {
        Diag::error(
            Code::IoUnsafeOutput,
            format!(
                "`{}` is {}; caveat writes only regular files",
                path.display(),
                kind(&metadata)
            ),
        )
    })?;
    file.set_len(0).map_err(io_error)?;
    Ok(file)
}

/// The identity of a file (device and inode), to tell whether two paths name the same file
/// whatever links lead to them; `None` when it does not exist.
pub fn identity(path: &Path) -> Option<(u64, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        std::fs::canonicalize(path).ok().map(|p| {
            use std::hash::{Hash as _, Hasher as _};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            p.hash(&mut hasher);
            (0, hasher.finish())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;

    #[test]
    fn a_git_work_tree_is_the_root_without_a_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo/a/b")).unwrap();
        let project = Project::locate(&dir.path().join("repo/a/b"), None, false);
        assert_eq!(
            project.root(),
            std::fs::canonicalize(dir.path().join("repo")).unwrap()
        );
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.policy");
        std::fs::write(&path, "x".repeat(100)).unwrap();
        let error = read_regular(&path, 10, None).unwrap_err();
        assert_eq!(error.code, Code::DataFileTooLarge);
        assert_eq!(read_regular(&path, 100, None).unwrap().len(), 100);
        let error = read_regular(dir.path(), 100, None).unwrap_err();
        assert_eq!(error.code, Code::IoNotAFile);
    }

    #[test]
    fn the_config_folder_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("repo/sub")).unwrap();
        let config = dir.path().join("repo/sub/caveat.toml");
        let project = Project::locate(&dir.path().join("repo/sub"), Some(&config), false);
        assert_eq!(
            project.root(),
            std::fs::canonicalize(dir.path().join("repo/sub")).unwrap()
        );
    }
}
