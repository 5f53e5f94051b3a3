//! Confinement of user-supplied paths to a set of root directories.
//!
//! Every path a tool receives goes through [`Roots`]: relative paths are taken
//! from the first root, absolute paths are used as given, and the result must
//! lie inside one of the roots once `..` and symlinks are resolved. Checking a
//! path is not enough on its own (a directory may be swapped for a symlink
//! between the check and the use), so files and directories are opened with
//! no-follow semantics on the final component and the opened descriptor's
//! real path is verified again (through `/proc/self/fd`, or by comparing
//! device and inode when `/proc` is unavailable).
//!
//! Known limit: a hard link inside a root to a file outside it cannot be told
//! apart from an ordinary file.

use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

mod error;
mod uri;

pub use error::RootsError;
pub use uri::{client_root_uris, expand_home, file_uri_to_path};

/// A set of canonical root directories paths are confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    dirs: Vec<PathBuf>,
}

impl Roots {
    /// Canonicalise `dirs` into a root set; each must be an existing directory.
    pub fn new(dirs: Vec<PathBuf>) -> Result<Roots, RootsError> {
        if dirs.is_empty() {
            return Err(RootsError::NoRoots);
        }
        let mut out: Vec<PathBuf> = Vec::with_capacity(dirs.len());
        for d in dirs {
            let c = std::fs::canonicalize(&d).map_err(|source| RootsError::RootMissing {
                root: d.clone(),
                source,
            })?;
            if !c.is_dir() {
                return Err(RootsError::RootNotDir(d));
            }
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok(Roots { dirs: out })
    }

    /// The current directory as the only root.
    pub fn current_dir() -> Result<Roots, RootsError> {
        let cwd = std::env::current_dir().map_err(|source| RootsError::RootMissing {
            root: PathBuf::from("."),
            source,
        })?;
        Roots::new(vec![cwd])
    }

    /// A root set that refuses every path (used when no root can be had).
    pub fn none() -> Roots {
        Roots { dirs: Vec::new() }
    }

    /// The canonical roots, first one first.
    pub fn paths(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The roots as a readable list for messages.
    pub fn describe(&self) -> String {
        self.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether a canonical path lies inside (or is) one of the roots.
    pub fn contains(&self, canonical: &Path) -> bool {
        self.dirs.iter().any(|r| canonical.starts_with(r))
    }

    /// `path` relative to the root containing it, for display; the full path
    /// when it lies in no root.
    pub fn display(&self, path: &Path) -> String {
        for r in &self.dirs {
            if let Ok(rel) = path.strip_prefix(r) {
                if rel.as_os_str().is_empty() {
                    return ".".into();
                }
                return if self.dirs.len() == 1 {
                    rel.to_string_lossy().into_owned()
                } else {
                    path.to_string_lossy().into_owned()
                };
            }
        }
        path.to_string_lossy().into_owned()
    }

    fn outside(&self, user: &str) -> RootsError {
        RootsError::Outside {
            path: user.to_owned(),
            roots: self.describe(),
        }
    }

    fn absolute(&self, user: &str) -> Result<PathBuf, RootsError> {
        if self.dirs.is_empty() {
            return Err(RootsError::NoRoots);
        }
        if user.contains('\0') {
            return Err(RootsError::NulByte);
        }
        if user.is_empty() {
            return Err(RootsError::EmptyPath);
        }
        let expanded = expand_home(user);
        let p = expanded.as_deref().unwrap_or(Path::new(user));
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dirs[0].join(p)
        })
    }

    /// Resolve the path of an existing file or directory (symlinks followed)
    /// and check it lies inside a root.
    pub fn resolve_existing(&self, user: &str) -> Result<PathBuf, RootsError> {
        let abs = self.absolute(user)?;
        match std::fs::canonicalize(&abs) {
            Ok(c) if self.contains(&c) => Ok(c),
            Ok(_) => Err(self.outside(user)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Do not reveal whether paths outside the roots exist.
                self.resolve_new(user)?;
                Err(RootsError::NotFound {
                    path: user.to_owned(),
                    roots: self.describe(),
                })
            }
            Err(source) => {
                // Same here ("not a directory", "too many links").
                self.resolve_new(user)?;
                Err(RootsError::Io {
                    path: user.to_owned(),
                    source,
                })
            }
        }
    }

    /// Resolve the path of a file about to be created (or replaced): its
    /// existing ancestors must resolve inside a root, and the missing part may
    /// hold only plain names. An existing path resolves as in
    /// [`Roots::resolve_existing`]; a dangling symlink is refused.
    pub fn resolve_new(&self, user: &str) -> Result<PathBuf, RootsError> {
        let abs = self.absolute(user)?;
        if let Ok(meta) = std::fs::symlink_metadata(&abs) {
            return self.resolve_present(&abs, &meta, user);
        }
        // Longest existing ancestor, then the missing plain names. Only a
        // missing component makes a creatable path: any other failure (a
        // file or a looping symlink used as a directory, `f/.`) is reported,
        // once the ancestor is known to be inside (so as not to reveal what
        // exists outside the roots).
        let mut base = abs.clone();
        let mut rest: Vec<std::ffi::OsString> = Vec::new();
        let mut blocked: Option<io::Error> = None;
        loop {
            match std::fs::symlink_metadata(&base) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    blocked.get_or_insert(e);
                }
            }
            match (base.parent(), base.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    base = parent.to_path_buf();
                }
                _ => {
                    // `..` or the filesystem root at the end of a missing path.
                    if base.ends_with("..") {
                        return Err(RootsError::BadComponent(user.to_owned()));
                    }
                    return Err(self.outside(user));
                }
            }
        }
        let canon = std::fs::canonicalize(&base).map_err(|source| RootsError::Io {
            path: user.to_owned(),
            source,
        })?;
        if !self.contains(&canon) {
            return Err(self.outside(user));
        }
        if let Some(source) = blocked {
            return Err(RootsError::Io {
                path: user.to_owned(),
                source,
            });
        }
        let mut out = canon;
        for name in rest.iter().rev() {
            match Path::new(name).components().next() {
                Some(Component::Normal(_)) => out.push(name),
                _ => return Err(RootsError::BadComponent(user.to_owned())),
            }
        }
        // `link/.` through a dangling symlink names the link itself.
        if let Ok(meta) = std::fs::symlink_metadata(&out) {
            return self.resolve_present(&out, &meta, user);
        }
        Ok(out)
    }

    /// [`Roots::resolve_new`] of a path that exists (`meta` is its own,
    /// unfollowed metadata).
    fn resolve_present(
        &self,
        path: &Path,
        meta: &std::fs::Metadata,
        user: &str,
    ) -> Result<PathBuf, RootsError> {
        match std::fs::canonicalize(path) {
            // A root cannot be created, replaced or moved: its parent,
            // where a replacement would be staged, lies outside.
            Ok(c) if self.paths().contains(&c) => Err(RootsError::IsRoot(user.to_owned())),
            Ok(c) if self.contains(&c) => Ok(c),
            Ok(_) => Err(self.outside(user)),
            Err(_) if meta.file_type().is_symlink() => {
                Err(RootsError::DanglingSymlink(user.to_owned()))
            }
            Err(source) => Err(RootsError::Io {
                path: user.to_owned(),
                source,
            }),
        }
    }

    /// Resolve a directory (e.g. a shell tool's `cwd`): `None` or empty means
    /// the first root.
    pub fn resolve_dir(&self, user: Option<&str>) -> Result<PathBuf, RootsError> {
        let p = match user {
            None | Some("") => return self.dirs.first().cloned().ok_or(RootsError::NoRoots),
            Some(u) => self.resolve_existing(u)?,
        };
        if p.is_dir() {
            Ok(p)
        } else {
            Err(RootsError::NotADirectory(
                user.unwrap_or_default().to_owned(),
            ))
        }
    }

    /// Narrow the roots by the client's roots (`file://` URIs from
    /// `roots/list`): the result keeps each client root that lies inside a
    /// server root, and each server root that lies inside a client root.
    /// Client roots that are not `file://` URIs or do not exist are ignored.
    pub fn narrow(&self, uris: &[String]) -> Result<Roots, RootsError> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for uri in uris {
            let Some(path) = file_uri_to_path(uri) else {
                log::warn!("ignoring client root {uri:?}: not a file:// URI");
                continue;
            };
            let Ok(c) = std::fs::canonicalize(&path) else {
                log::warn!("ignoring client root {uri:?}: it does not exist here");
                continue;
            };
            if self.contains(&c) {
                if c.is_dir() && !dirs.contains(&c) {
                    dirs.push(c);
                }
            } else {
                for r in &self.dirs {
                    if r.starts_with(&c) && !dirs.contains(r) {
                        dirs.push(r.clone());
                    }
                }
            }
        }
        if dirs.is_empty() {
            return Err(RootsError::NoOverlap {
                client: uris.join(", "),
                roots: self.describe(),
            });
        }
        Ok(Roots { dirs })
    }

    /// The roots a client names (`file://` URIs of existing directories, from
    /// `roots/list`), used as the roots when lmcp was started without
    /// `--root` and with `--roots-from-client`.
    pub fn from_client(uris: &[String]) -> Result<Roots, RootsError> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for uri in uris {
            let Some(path) = file_uri_to_path(uri) else {
                log::warn!("ignoring client root {uri:?}: not a file:// URI");
                continue;
            };
            match std::fs::canonicalize(&path) {
                Ok(c) if c.is_dir() => {
                    if !dirs.contains(&c) {
                        dirs.push(c);
                    }
                }
                _ => log::warn!("ignoring client root {uri:?}: not an existing directory here"),
            }
        }
        if dirs.is_empty() {
            let named = if uris.is_empty() {
                "none given".to_owned()
            } else {
                uris.join(", ")
            };
            return Err(RootsError::NoClientRoots(named));
        }
        Ok(Roots { dirs })
    }

    /// Open a resolved path with `flags` plus no-follow and close-on-exec,
    /// then verify the descriptor really lies inside a root. `user` names the
    /// path in errors.
    pub fn open_verified(
        &self,
        resolved: &Path,
        flags: OFlags,
        user: &str,
    ) -> Result<OwnedFd, RootsError> {
        let fd = rustix::fs::open(
            resolved,
            flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            let now_link = std::fs::symlink_metadata(resolved)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if e == rustix::io::Errno::LOOP || now_link {
                // The final component became a symlink after the check.
                self.outside(user)
            } else {
                RootsError::Io {
                    path: user.to_owned(),
                    source: e.into(),
                }
            }
        })?;
        self.verify_fd(&fd, resolved, user)?;
        Ok(fd)
    }

    /// Open `rel`, a relative path below `dir` (an open, verified directory
    /// at `dir_path` inside a root), never leaving `dir`: the kernel refuses
    /// any `..` or symlink that would (`openat2` with `RESOLVE_BENEATH`), in
    /// one system call. Kernels without `openat2` (before 5.6) get
    /// [`Roots::open_verified`] on the joined path instead.
    pub fn open_beneath(
        &self,
        dir: &OwnedFd,
        dir_path: &Path,
        rel: &Path,
        flags: OFlags,
        user: &str,
    ) -> Result<OwnedFd, RootsError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match rustix::fs::openat2(
                dir,
                rel,
                flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                rustix::fs::ResolveFlags::BENEATH | rustix::fs::ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => return Ok(fd),
                Err(rustix::io::Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                Err(rustix::io::Errno::XDEV | rustix::io::Errno::LOOP) => {
                    return Err(self.outside(user))
                }
                Err(e) => {
                    return Err(RootsError::Io {
                        path: user.to_owned(),
                        source: e.into(),
                    })
                }
            }
        }
        self.open_verified(&dir_path.join(rel), flags, user)
    }

    /// Open an existing file for reading, confined to the roots.
    ///
    /// Only regular files and directories are opened: the open does not
    /// block (`O_NONBLOCK`, so a FIFO without a writer cannot hang it), and
    /// FIFOs, sockets and devices are refused.
    pub fn open_read(&self, user: &str) -> Result<(PathBuf, File), RootsError> {
        let path = self.resolve_existing(user)?;
        let special = |mode: rustix::fs::RawMode| {
            use rustix::fs::FileType;
            match FileType::from_raw_mode(mode) {
                FileType::RegularFile | FileType::Directory => None,
                FileType::Fifo => Some("a FIFO (named pipe)"),
                FileType::Socket => Some("a socket"),
                FileType::CharacterDevice => Some("a character device"),
                FileType::BlockDevice => Some("a block device"),
                _ => Some("a special file"),
            }
        };
        let fd = match self.open_verified(&path, OFlags::RDONLY | OFlags::NONBLOCK, user) {
            Ok(fd) => fd,
            // open(2) of a Unix socket fails with ENXIO: say what it is.
            Err(RootsError::Io { source, .. })
                if source.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) =>
            {
                let kind = rustix::fs::lstat(&path)
                    .ok()
                    .and_then(|st| special(st.st_mode))
                    .unwrap_or("a special file");
                return Err(RootsError::Special {
                    path: user.to_owned(),
                    kind,
                });
            }
            Err(e) => return Err(e),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| RootsError::Io {
            path: user.to_owned(),
            source: e.into(),
        })?;
        if let Some(kind) = special(st.st_mode) {
            return Err(RootsError::Special {
                path: user.to_owned(),
                kind,
            });
        }
        // Reads of a regular file ignore O_NONBLOCK; clear it all the same.
        let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| RootsError::Io {
            path: user.to_owned(),
            source: e.into(),
        })?;
        let _ = rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK);
        Ok((path, File::from(fd)))
    }

    /// Open a resolved directory, confined to the roots.
    pub fn open_dir(&self, resolved: &Path, user: &str) -> Result<OwnedFd, RootsError> {
        self.open_verified(resolved, OFlags::RDONLY | OFlags::DIRECTORY, user)
    }

    fn verify_fd(&self, fd: &OwnedFd, expected: &Path, user: &str) -> Result<(), RootsError> {
        let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        match std::fs::read_link(&proc_path) {
            Ok(real) if self.contains(&real) => Ok(()),
            Ok(real) => {
                log::warn!("refused {user}: opened {} after a swap", real.display());
                Err(self.outside(user))
            }
            Err(_) => {
                // No /proc: the descriptor must be the file now at `expected`.
                let st = rustix::fs::fstat(fd.as_fd()).map_err(|e| RootsError::Io {
                    path: user.to_owned(),
                    source: e.into(),
                })?;
                let again = std::fs::canonicalize(expected).map_err(|source| RootsError::Io {
                    path: user.to_owned(),
                    source,
                })?;
                let meta = std::fs::metadata(&again).map_err(|source| RootsError::Io {
                    path: user.to_owned(),
                    source,
                })?;
                if self.contains(&again) && meta.dev() == st.st_dev && meta.ino() == st.st_ino {
                    Ok(())
                } else {
                    Err(self.outside(user))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
