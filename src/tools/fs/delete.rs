//! `delete_file`: remove a file, a symlink (never its target) or a
//! directory (a non-empty one only with `recursive`), confined to the roots.
//!
//! The parent directory is opened and verified inside a root, the final name
//! is never followed, and a recursive removal works through descriptors
//! (`openat`/`unlinkat` relative to each opened directory), so a directory
//! swapped for a symlink mid-way cannot send the removal outside.

use super::info::parent_and_name;
use super::{blocking, io_err, roots_for, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::schemas::stored;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::ffi::{CStr, OsStr};
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Arguments of `delete_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteArgs {
    /// What to delete: a file, a symlink (removed as a link; its target is untouched) or a directory.
    pub path: String,
    /// Delete a non-empty directory with everything in it (default false).
    #[serde(default)]
    pub recursive: bool,
}

/// Deepest directory nesting a recursive delete or copy descends into.
pub(crate) const MAX_DEPTH: usize = 256;

/// What a removal removed.
#[derive(Debug, Default)]
pub(crate) struct Removed {
    /// Files, symlinks and other non-directories.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
}

/// The `delete_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<DeleteArgs, _, _>(
        "delete_file",
        "Delete a file, a symlink (the link only, never its target) or an empty directory; a non-empty directory \
         only with recursive: true. A root itself cannot be deleted.",
        stored!("delete_file", DeleteArgs),
        move |a: DeleteArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                blocking(move || {
                    if let Ok(p) = roots.resolve_existing(&a.path) {
                        let is_link = std::fs::symlink_metadata(roots.paths()[0].join(&a.path))
                            .map(|m| m.file_type().is_symlink())
                            .unwrap_or(false);
                        if roots.paths().contains(&p) && !is_link {
                            return Err(FsError::Roots(crate::tools::roots::RootsError::IsRoot(a.path.clone())));
                        }
                    }
                    let (dir, name) = parent_and_name(&roots, &a.path)?;
                    if roots.paths().contains(&dir.join(&name)) {
                        return Err(FsError::Roots(crate::tools::roots::RootsError::IsRoot(a.path.clone())));
                    }
                    let dfd = roots.open_dir(&dir, &a.path)?;
                    let st = rustix::fs::statat(&dfd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| io_err("delete", &a.path)(e.into()))?;
                    let kind = FileType::from_raw_mode(st.st_mode);
                    let mut removed = Removed::default();
                    if kind == FileType::Directory {
                        if a.recursive {
                            let sub = open_subdir(&dfd, OsStr::new(&name), &a.path)?;
                            empty_dir(&sub, &a.path, 1, &mut removed)?;
                        }
                        match rustix::fs::unlinkat(&dfd, name.as_str(), AtFlags::REMOVEDIR) {
                            Ok(()) => removed.dirs += 1,
                            Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST) => {
                                return Err(FsError::Invalid(format!(
                                    "{} is a directory that is not empty; pass recursive: true to delete it with \
                                     everything in it",
                                    a.path
                                )))
                            }
                            Err(e) => return Err(io_err("delete", &a.path)(e.into())),
                        }
                    } else {
                        rustix::fs::unlinkat(&dfd, name.as_str(), AtFlags::empty())
                            .map_err(|e| io_err("delete", &a.path)(e.into()))?;
                        removed.files += 1;
                    }
                    let _ = rustix::fs::fsync(&dfd);
                    let shown = roots.display(&dir.join(&name));
                    let what = match kind {
                        FileType::Directory => "directory",
                        FileType::Symlink => "symlink",
                        FileType::RegularFile => "file",
                        _ => "special file",
                    };
                    let msg = if kind == FileType::Directory && removed.files + removed.dirs > 1 {
                        format!(
                            "Deleted directory {shown} ({} files and {} directories)",
                            removed.files,
                            removed.dirs
                        )
                    } else {
                        format!("Deleted {what} {shown}")
                    };
                    Ok(ToolResult::text(msg).with_structured(json!({
                        "path": shown,
                        "type": what,
                        "files": removed.files,
                        "dirs": removed.dirs,
                    })))
                })
                .await
            }
        },
    )
    .title("Delete file")
    .destructive()
    .idempotent()
    .open_world(false)
}

/// Open the directory `name` in `dir` without following a symlink.
pub(crate) fn open_subdir(dir: &OwnedFd, name: &OsStr, user: &str) -> Result<OwnedFd, FsError> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io_err("open directory", user)(e.into()))
}

/// The names in the directory `dir` (without `.` and `..`).
pub(crate) fn names_in(dir: &OwnedFd, user: &str) -> Result<Vec<std::ffi::OsString>, FsError> {
    use std::os::unix::ffi::OsStrExt;
    let entries = rustix::fs::Dir::read_from(dir).map_err(|e| io_err("list", user)(e.into()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", user)(e.into()))?;
        let name: &CStr = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        out.push(OsStr::from_bytes(bytes).to_owned());
    }
    Ok(out)
}

/// Remove everything inside `dir`, depth first.
fn empty_dir(
    dir: &OwnedFd,
    user: &str,
    depth: usize,
    removed: &mut Removed,
) -> Result<(), FsError> {
    if depth > MAX_DEPTH {
        return Err(FsError::Invalid(format!(
            "{user} nests directories more than {MAX_DEPTH} deep; refusing to delete it recursively"
        )));
    }
    for name in names_in(dir, user)? {
        let st = match rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(io_err("delete in", user)(e.into())),
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let sub = open_subdir(dir, &name, user)?;
            empty_dir(&sub, user, depth + 1, removed)?;
            rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::REMOVEDIR)
                .map_err(|e| io_err("delete in", user)(e.into()))?;
            removed.dirs += 1;
        } else {
            match rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => removed.files += 1,
                Err(e) => return Err(io_err("delete in", user)(e.into())),
            }
        }
    }
    Ok(())
}
