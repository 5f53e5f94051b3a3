//! [`RootsError`]: why a path or a root was refused, in words that say what
//! to do instead.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a path or a root was refused.
#[derive(Debug)]
pub enum RootsError {
    /// No root was given.
    NoRoots,
    /// A configured root does not exist or cannot be resolved.
    RootMissing {
        /// The root as given.
        root: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A configured root is not a directory.
    RootNotDir(PathBuf),
    /// The path contains a NUL byte.
    NulByte,
    /// The path is empty.
    EmptyPath,
    /// The path resolves outside every root.
    Outside {
        /// The path as the user gave it.
        path: String,
        /// The allowed roots.
        roots: String,
    },
    /// The path does not exist.
    NotFound {
        /// The path as the user gave it.
        path: String,
        /// The allowed roots.
        roots: String,
    },
    /// The path exists but is not a directory.
    NotADirectory(String),
    /// A `..` follows a directory that does not exist yet.
    BadComponent(String),
    /// The path is a symlink whose target does not exist.
    DanglingSymlink(String),
    /// The path names a root itself, where a file inside one is needed.
    IsRoot(String),
    /// None of the client's roots overlaps the server's roots.
    NoOverlap {
        /// The client's roots.
        client: String,
        /// The server's roots.
        roots: String,
    },
    /// The path is a FIFO, socket or device, which the file tools refuse
    /// (reading one could block forever or never end).
    Special {
        /// The path as the user gave it.
        path: String,
        /// What it is ("a FIFO", ...).
        kind: &'static str,
    },
    /// The client offered no usable root (with `--roots-from-client`).
    NoClientRoots(String),
    /// Another I/O error.
    Io {
        /// The path concerned.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl fmt::Display for RootsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootsError::NoRoots => write!(f, "no root directory configured: pass at least one --root DIR"),
            RootsError::RootMissing { root, source } => write!(
                f,
                "root {} cannot be used ({source}): create it or pass an existing directory to --root",
                root.display()
            ),
            RootsError::RootNotDir(r) => write!(f, "root {} is not a directory: pass a directory to --root", r.display()),
            RootsError::NulByte => write!(f, "path contains a NUL byte: remove it"),
            RootsError::EmptyPath => write!(f, "path is empty: give a file path inside the allowed roots"),
            RootsError::Outside { path, roots } => write!(
                f,
                "access denied: {path} resolves outside the allowed roots ({roots}); `..` and symlinks may not leave them. Use a path inside one of the roots"
            ),
            RootsError::NotFound { path, roots } => write!(
                f,
                "{path} does not exist (relative paths start at the first root; allowed roots: {roots})"
            ),
            RootsError::NotADirectory(p) => write!(f, "{p} is not a directory"),
            RootsError::BadComponent(p) => write!(f, "{p}: `..` after a directory that does not exist; give a direct path"),
            RootsError::DanglingSymlink(p) => write!(f, "{p} is a symlink whose target does not exist; refusing to follow it"),
            RootsError::IsRoot(p) => write!(f, "{p} is a root itself; name a file or directory inside it"),
            RootsError::NoOverlap { client, roots } => write!(
                f,
                "access denied: none of the client's roots ({client}) lies inside or contains the server's roots ({roots})"
            ),
            RootsError::Special { path, kind } => write!(
                f,
                "{path} is {kind}, not a regular file or directory; the file tools do not open FIFOs, sockets or devices"
            ),
            RootsError::NoClientRoots(c) => write!(
                f,
                "the client offers no usable root ({c}); roots come from the client (--roots-from-client): add a root in the client, or start lmcp with --root DIR"
            ),
            RootsError::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for RootsError {}
