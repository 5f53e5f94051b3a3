//! Atomic, confined writes: a temporary file in the target's directory,
//! fsync, rename over the target, fsync of the directory. The directory is
//! opened (and verified inside the roots) once and every later step works
//! relative to that descriptor, so a swap of the path cannot redirect the
//! write. On failure the temporary file is removed.

use super::{io_err, sha256_hex, sha256_reader, unix_ms, FsError};
use crate::tools::roots::Roots;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// Optimistic-concurrency expectations about the file being replaced.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expect {
    /// The SHA-256 (hex) the file must still have.
    pub sha256: Option<String>,
    /// The modification time (Unix ms) the file must still have.
    pub mtime_ms: Option<u64>,
    /// The exact state (inode, size, times to the nanosecond) the file must
    /// still be in at the moment of the rename: checked again after the new
    /// content is written and synced, so a change made while it was being
    /// written (a concurrent appender) is not silently overwritten.
    pub unchanged_since: Option<FileState>,
}

/// The identity and state of a file as `fstat` saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileState {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileState {
    /// The state in `st`.
    // The stat field types differ between targets; the casts are needed on some.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn of(st: &rustix::fs::Stat) -> FileState {
        FileState {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: st.st_size as i64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }
}

/// What a write did.
#[derive(Debug)]
pub(crate) struct Written {
    /// Whether the file was new.
    pub created: bool,
    /// SHA-256 of the new content.
    pub sha256: String,
    /// Modification time after the write (Unix ms).
    pub mtime_ms: u64,
}

/// Create the missing directories of `dir` (a path from
/// [`Roots::resolve_new`]), each inside a verified parent.
pub(crate) fn create_dirs(roots: &Roots, dir: &Path, user: &str) -> Result<(), FsError> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while std::fs::symlink_metadata(cur).is_err() {
        let (Some(parent), Some(name)) = (cur.parent(), cur.file_name()) else {
            break;
        };
        missing.push(name);
        cur = parent;
    }
    let mut base = cur.to_path_buf();
    for name in missing.into_iter().rev() {
        let fd = roots.open_dir(&base, user)?;
        match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(io_err("create directory for", user)(e.into())),
        }
        base.push(name);
    }
    // The final directory must itself be a verified directory.
    roots.open_dir(dir, user)?;
    Ok(())
}

fn split<'a>(path: &'a Path, user: &str) -> Result<(&'a Path, &'a OsStr), FsError> {
    match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(FsError::Invalid(format!("{user} is not a file path"))),
    }
}

/// Check `expect` against the file `name` in `dir`.
fn check_expect(
    dir: &OwnedFd,
    name: &OsStr,
    st: Option<&rustix::fs::Stat>,
    expect: &Expect,
    user: &str,
) -> Result<(), FsError> {
    if expect.sha256.is_none() && expect.mtime_ms.is_none() {
        return Ok(());
    }
    let Some(st) = st else {
        return Err(FsError::Invalid(format!(
            "{user} no longer exists, but an expected hash or mtime was given; read it again before writing"
        )));
    };
    if let Some(want) = expect.mtime_ms {
        let now = stat_mtime_ms(st);
        if now != want {
            return Err(FsError::Invalid(format!(
                "{user} changed since it was read (mtime is now {now} ms, expected {want}); read it again and redo the change"
            )));
        }
    }
    if let Some(want) = &expect.sha256 {
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("read", user)(e.into()))?;
        let now = sha256_reader(File::from(fd)).map_err(io_err("read", user))?;
        if !now.eq_ignore_ascii_case(want.trim()) {
            return Err(FsError::Invalid(format!(
                "{user} changed since it was read (sha256 is now {now}, expected {want}); read it again and redo the change"
            )));
        }
    }
    Ok(())
}

/// Modification time of a stat, in Unix ms.
pub(crate) fn stat_mtime_ms(st: &rustix::fs::Stat) -> u64 {
    let t = UNIX_EPOCH
        + Duration::new(
            st.st_mtime.max(0) as u64,
            st.st_mtime_nsec.clamp(0, 999_999_999) as u32,
        );
    unix_ms(t)
}

/// Atomically write `data` to `path` (from [`Roots::resolve_new`]).
pub(crate) fn write_atomic(
    roots: &Roots,
    path: &Path,
    data: &[u8],
    create_parents: bool,
    expect: &Expect,
    user: &str,
) -> Result<Written, FsError> {
    let (parent, name) = split(path, user)?;
    if create_parents {
        create_dirs(roots, parent, user)?;
    }
    let dir = roots.open_dir(parent, user).map_err(|e| match e {
        crate::tools::roots::RootsError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            FsError::Invalid(format!(
                "the directory of {user} does not exist; pass create_parents: true to create it"
            ))
        }
        other => other.into(),
    })?;
    let existing = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Some(st),
        Err(rustix::io::Errno::NOENT) => None,
        Err(e) => return Err(io_err("inspect", user)(e.into())),
    };
    if let Some(st) = &existing {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => {
                return Err(FsError::Invalid(format!(
                    "{user} is a directory; give a file path"
                )))
            }
            FileType::Symlink => return Err(roots_outside(roots, user)),
            _ => {
                return Err(FsError::Invalid(format!(
                    "{user} is not a regular file; refusing to replace it"
                )))
            }
        }
    }
    check_expect(&dir, name, existing.as_ref(), expect, user)?;

    let tmp_name = format!(
        ".{}.lmcp-{:016x}.tmp",
        name.to_string_lossy().chars().take(64).collect::<String>(),
        getrandom::u64().unwrap_or_else(
            |_| u64::from(std::process::id()) ^ unix_ms(std::time::SystemTime::now())
        )
    );
    let tmp_fd = rustix::fs::openat(
        &dir,
        tmp_name.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .map_err(|e| io_err("write", user)(e.into()))?;
    let result = (|| -> Result<(), FsError> {
        let mut f = File::from(tmp_fd);
        f.write_all(data).map_err(io_err("write", user))?;
        if let Some(st) = &existing {
            rustix::fs::fchmod(f.as_fd(), Mode::from_raw_mode(st.st_mode & 0o7777))
                .map_err(|e| io_err("keep permissions of", user)(e.into()))?;
        }
        f.sync_all().map_err(io_err("sync", user))?;
        drop(f);
        if let Some(want) = expect.unchanged_since {
            let now = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).ok();
            if now.map(|st| FileState::of(&st)) != Some(want) {
                return Err(FsError::Changed(format!(
                    "{user} changed while it was being edited (another process wrote to it); nothing was written. \
                     Read it again and redo the change"
                )));
            }
        }
        rustix::fs::renameat(&dir, tmp_name.as_str(), &dir, name)
            .map_err(|e| io_err("replace", user)(e.into()))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = rustix::fs::unlinkat(&dir, tmp_name.as_str(), AtFlags::empty());
        return Err(e);
    }
    let _ = rustix::fs::fsync(&dir);
    let mtime_ms = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .map(|st| stat_mtime_ms(&st))
        .unwrap_or(0);
    Ok(Written {
        created: existing.is_none(),
        sha256: sha256_hex(data),
        mtime_ms,
    })
}

/// What an append did.
#[derive(Debug)]
pub(crate) struct Appended {
    /// Whether the file was new.
    pub created: bool,
    /// The file's size afterwards.
    pub size: u64,
    /// Modification time after the write (Unix ms).
    pub mtime_ms: u64,
}

/// Append `data` to the regular file at `path` (from
/// [`Roots::resolve_new`]), creating it if missing. The file is never
/// rewritten, so the cost is that of `data`, whatever the file's size.
pub(crate) fn append_to(
    roots: &Roots,
    path: &Path,
    data: &[u8],
    create_parents: bool,
    expect: &Expect,
    user: &str,
) -> Result<Appended, FsError> {
    let (parent, name) = split(path, user)?;
    if create_parents {
        create_dirs(roots, parent, user)?;
    }
    let dir = roots.open_dir(parent, user).map_err(|e| match e {
        crate::tools::roots::RootsError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            FsError::Invalid(format!(
                "the directory of {user} does not exist; pass create_parents: true to create it"
            ))
        }
        other => other.into(),
    })?;
    let existed = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Some(st),
        Err(rustix::io::Errno::NOENT) => None,
        Err(e) => return Err(io_err("inspect", user)(e.into())),
    };
    if let Some(st) = &existed {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Directory => {
                return Err(FsError::Invalid(format!(
                    "{user} is a directory; give a file path"
                )))
            }
            FileType::Symlink => return Err(roots_outside(roots, user)),
            _ => {
                return Err(FsError::Invalid(format!(
                    "{user} is not a regular file; refusing to append to it"
                )))
            }
        }
    }
    // NONBLOCK: a FIFO swapped in after the check must not hang the open.
    let fd = rustix::fs::openat(
        &dir,
        name,
        OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP => roots_outside(roots, user),
        e => io_err("append to", user)(e.into()),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| io_err("inspect", user)(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(FsError::Invalid(format!(
            "{user} is not a regular file; refusing to append to it"
        )));
    }
    let created = existed.is_none() && st.st_size == 0;
    check_expect(&dir, name, (!created).then_some(&st), expect, user)?;
    let mut f = File::from(fd);
    f.write_all(data).map_err(io_err("append to", user))?;
    f.sync_data().map_err(io_err("sync", user))?;
    let after = rustix::fs::fstat(f.as_fd()).map_err(|e| io_err("inspect", user)(e.into()))?;
    if created {
        let _ = rustix::fs::fsync(&dir);
    }
    Ok(Appended {
        created,
        size: after.st_size as u64,
        mtime_ms: stat_mtime_ms(&after),
    })
}

fn roots_outside(roots: &Roots, user: &str) -> FsError {
    FsError::Roots(crate::tools::roots::RootsError::Outside {
        path: user.to_owned(),
        roots: roots.describe(),
    })
}
