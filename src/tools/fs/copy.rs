//! `copy_file`: copy a file, symlink or directory tree within the roots.
//!
//! Both ends are confined: the source's and the destination's parent
//! directories are opened and verified inside a root, the final names are
//! never followed, and a tree is walked through descriptors, so no symlink
//! (present or swapped in) can make the copy read or write outside. Files
//! are copied byte for byte with their mode bits; symlinks are copied as
//! links. A single file lands atomically (temporary file, then rename).

use super::delete::{names_in, open_subdir, MAX_DEPTH};
use super::info::parent_and_name;
use super::{blocking, io_err, roots_for, unix_ms, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::schemas::stored;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

/// Arguments of `copy_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CopyArgs {
    /// What to copy: a file, a symlink (copied as a link) or a directory (needs recursive).
    pub path: String,
    /// Where the copy goes (its parent directory must exist).
    pub destination: String,
    /// Replace an existing destination file (default false; an existing directory is never replaced).
    #[serde(default)]
    pub overwrite: bool,
    /// Copy a directory with everything in it (default false).
    #[serde(default)]
    pub recursive: bool,
}

/// What a copy copied.
#[derive(Debug, Default)]
struct Copied {
    files: u64,
    dirs: u64,
    links: u64,
    bytes: u64,
    skipped: u64,
}

/// The `copy_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<CopyArgs, _, _>(
        "copy_file",
        "Copy a file byte for byte (keeping its permissions) within the roots; symlinks are copied as links. A \
         directory needs recursive: true. Refuses an existing destination unless overwrite is true (an existing \
         directory is never replaced).",
        stored!("copy_file", CopyArgs),
        move |a: CopyArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                blocking(move || copy(&roots, &a)).await
            }
        },
    )
    .title("Copy file")
    .destructive()
    .idempotent()
    .open_world(false)
}

fn copy(roots: &crate::tools::roots::Roots, a: &CopyArgs) -> Result<ToolResult, FsError> {
    let (sdir, sname) = parent_and_name(roots, &a.path)?;
    let (ddir, dname) = parent_and_name(roots, &a.destination)?;
    let (spath, dpath) = (sdir.join(&sname), ddir.join(&dname));
    if roots.paths().contains(&dpath) {
        return Err(FsError::Roots(crate::tools::roots::RootsError::IsRoot(
            a.destination.clone(),
        )));
    }
    let sfd = roots.open_dir(&sdir, &a.path)?;
    let dfd = roots.open_dir(&ddir, &a.destination)?;
    let st = rustix::fs::statat(&sfd, sname.as_str(), AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|_| FsError::Invalid(format!("{} does not exist", a.path)))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    let existing = rustix::fs::statat(&dfd, dname.as_str(), AtFlags::SYMLINK_NOFOLLOW).ok();
    if let Some(d) = &existing {
        if FileType::from_raw_mode(d.st_mode) == FileType::Directory {
            return Err(FsError::Invalid(format!(
                "{} is an existing directory; copy to a new name, or delete it first",
                a.destination
            )));
        }
        if !a.overwrite {
            return Err(FsError::Invalid(format!(
                "{} already exists; pass overwrite: true to replace it",
                a.destination
            )));
        }
        if (d.st_dev, d.st_ino) == (st.st_dev, st.st_ino) {
            return Err(FsError::Invalid(format!(
                "{} and {} are the same file",
                a.path, a.destination
            )));
        }
    }
    let mut done = Copied::default();
    match kind {
        FileType::Directory => {
            if !a.recursive {
                return Err(FsError::Invalid(format!(
                    "{} is a directory; pass recursive: true to copy it with everything in it",
                    a.path
                )));
            }
            if dpath.starts_with(&spath) {
                return Err(FsError::Invalid(format!(
                    "cannot copy {} into itself ({})",
                    a.path, a.destination
                )));
            }
            let src = open_subdir(&sfd, OsStr::new(&sname), &a.path)?;
            rustix::fs::mkdirat(&dfd, dname.as_str(), Mode::from_raw_mode(0o700))
                .map_err(|e| exists_or(e, a))?;
            let dst = open_subdir(&dfd, OsStr::new(&dname), &a.destination)?;
            done.dirs += 1;
            copy_tree(&src, &dst, a, 1, &mut done)?;
            rustix::fs::fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777))
                .map_err(|e| io_err("keep permissions of", &a.destination)(e.into()))?;
        }
        FileType::RegularFile | FileType::Symlink => {
            let tmp = temp_name(&dname);
            let made = copy_entry(
                &sfd,
                OsStr::new(&sname),
                &dfd,
                OsStr::new(&tmp),
                a,
                &mut done,
            );
            let made = made.and_then(|()| {
                let flags = if a.overwrite {
                    RenameFlags::empty()
                } else {
                    RenameFlags::NOREPLACE
                };
                rustix::fs::renameat_with(&dfd, tmp.as_str(), &dfd, dname.as_str(), flags)
                    .map_err(|e| exists_or(e, a))
            });
            if let Err(e) = made {
                let _ = rustix::fs::unlinkat(&dfd, tmp.as_str(), AtFlags::empty());
                return Err(e);
            }
        }
        _ => {
            return Err(FsError::Invalid(format!(
                "{} is not a regular file, symlink or directory; refusing to copy it",
                a.path
            )))
        }
    }
    let _ = rustix::fs::fsync(&dfd);
    let (from, to) = (roots.display(&spath), roots.display(&dpath));
    let mut msg = format!("Copied {from} to {to}");
    if kind == FileType::Directory {
        msg.push_str(&format!(
            " ({} files, {} directories, {} symlinks, {} bytes)",
            done.files, done.dirs, done.links, done.bytes
        ));
    } else {
        msg.push_str(&format!(" ({} bytes)", done.bytes));
    }
    if done.skipped > 0 {
        msg.push_str(&format!(
            "; skipped {} special files (FIFOs, sockets, devices)",
            done.skipped
        ));
    }
    Ok(ToolResult::text(msg).with_structured(json!({
        "from": from,
        "to": to,
        "files": done.files,
        "dirs": done.dirs,
        "symlinks": done.links,
        "bytes": done.bytes,
        "skipped": done.skipped,
        "replaced": existing.is_some(),
    })))
}

fn exists_or(e: rustix::io::Errno, a: &CopyArgs) -> FsError {
    if e == rustix::io::Errno::EXIST {
        FsError::Invalid(format!(
            "{} already exists; pass overwrite: true to replace it",
            a.destination
        ))
    } else {
        io_err("copy to", &a.destination)(e.into())
    }
}

fn temp_name(name: &str) -> String {
    format!(
        ".{}.lmcp-{:016x}.tmp",
        name.chars().take(64).collect::<String>(),
        getrandom::u64().unwrap_or_else(
            |_| u64::from(std::process::id()) ^ unix_ms(std::time::SystemTime::now())
        )
    )
}

/// Copy the file or symlink `name` in `sdir` to the new name `dest` in
/// `ddir`; other kinds are counted as skipped.
fn copy_entry(
    sdir: &OwnedFd,
    name: &OsStr,
    ddir: &OwnedFd,
    dest: &OsStr,
    a: &CopyArgs,
    done: &mut Copied,
) -> Result<(), FsError> {
    let st = rustix::fs::statat(sdir, name, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err("copy", &a.path)(e.into()))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(sdir, name, Vec::new())
                .map_err(|e| io_err("read link", &a.path)(e.into()))?;
            rustix::fs::symlinkat(target.as_c_str(), ddir, dest)
                .map_err(|e| io_err("copy to", &a.destination)(e.into()))?;
            done.links += 1;
        }
        FileType::RegularFile => {
            // NONBLOCK: a FIFO swapped in after the check cannot hang the open.
            let src = rustix::fs::openat(
                sdir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io_err("copy", &a.path)(e.into()))?;
            let now = rustix::fs::fstat(&src).map_err(|e| io_err("copy", &a.path)(e.into()))?;
            if FileType::from_raw_mode(now.st_mode) != FileType::RegularFile {
                done.skipped += 1;
                return Ok(());
            }
            let dst = rustix::fs::openat(
                ddir,
                dest,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| io_err("copy to", &a.destination)(e.into()))?;
            let (mut src, mut dst) = (File::from(src), File::from(dst));
            done.bytes +=
                std::io::copy(&mut src, &mut dst).map_err(io_err("copy to", &a.destination))?;
            rustix::fs::fchmod(dst.as_fd(), Mode::from_raw_mode(now.st_mode & 0o7777))
                .map_err(|e| io_err("keep permissions of", &a.destination)(e.into()))?;
            dst.sync_all().map_err(io_err("sync", &a.destination))?;
            done.files += 1;
        }
        _ => done.skipped += 1,
    }
    Ok(())
}

/// Copy everything in `src` into the new, empty `dst`.
fn copy_tree(
    src: &OwnedFd,
    dst: &OwnedFd,
    a: &CopyArgs,
    depth: usize,
    done: &mut Copied,
) -> Result<(), FsError> {
    if depth > MAX_DEPTH {
        return Err(FsError::Invalid(format!(
            "{} nests directories more than {MAX_DEPTH} deep; refusing to copy it",
            a.path
        )));
    }
    let names: Vec<OsString> = names_in(src, &a.path)?;
    for name in names {
        let st = match rustix::fs::statat(src, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(io_err("copy", &a.path)(e.into())),
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let s = open_subdir(src, &name, &a.path)?;
            rustix::fs::mkdirat(dst, name.as_os_str(), Mode::from_raw_mode(0o700))
                .map_err(|e| io_err("copy to", &a.destination)(e.into()))?;
            let d = open_subdir(dst, &name, &a.destination)?;
            done.dirs += 1;
            copy_tree(&s, &d, a, depth + 1, done)?;
            rustix::fs::fchmod(&d, Mode::from_raw_mode(st.st_mode & 0o7777))
                .map_err(|e| io_err("keep permissions of", &a.destination)(e.into()))?;
        } else {
            copy_entry(src, &name, dst, &name, a, done)?;
        }
    }
    Ok(())
}
