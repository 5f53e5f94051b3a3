//! The production byte source and sink: stdin and stdout duplicated and
//! driven non-blocking from the runtime (a pipe, or a socket: Node-based
//! clients hand their children socket pairs), so a request and its response
//! never cross a thread.

use rustix::fs::{fcntl_getfl, fcntl_setfl, fstat, FileType, OFlags};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use tokio::net::unix::pipe;
use tokio::net::UnixStream;

/// The read half: a pipe or a socket (Node-based clients hand their
/// children socket pairs).
enum In {
    Pipe(pipe::Receiver),
    Sock(UnixStream),
}

/// The write half.
enum Out {
    Pipe(pipe::Sender),
    Sock(UnixStream),
}

/// Duplicated stdin/stdout descriptors driven non-blocking; the original
/// file status flags are restored on drop.
pub(super) struct StdPipes {
    input: In,
    output: Out,
    saved: Vec<(OwnedFd, OFlags)>,
}

fn kind(fd: &OwnedFd) -> Option<FileType> {
    let st = fstat(fd).ok()?;
    Some(FileType::from_raw_mode(st.st_mode))
}

fn socket(fd: OwnedFd) -> Option<UnixStream> {
    let std = std::os::unix::net::UnixStream::from(fd);
    std.set_nonblocking(true).ok()?;
    UnixStream::from_std(std).ok()
}

impl StdPipes {
    /// The process's stdin and stdout, when both are pipes or sockets
    /// (`None` for a terminal or a file: the caller falls back to threads).
    pub(super) fn open() -> Option<StdPipes> {
        let i = io::stdin().as_fd().try_clone_to_owned().ok()?;
        let o = io::stdout().as_fd().try_clone_to_owned().ok()?;
        Self::from_fds(i, o)
    }

    /// Drive `i` (read) and `o` (write) non-blocking, when each is a pipe or
    /// a socket; their file status flags are restored on drop.
    pub(super) fn from_fds(i: OwnedFd, o: OwnedFd) -> Option<StdPipes> {
        let (ki, ko) = (kind(&i)?, kind(&o)?);
        let usable = |k: FileType| matches!(k, FileType::Fifo | FileType::Socket);
        if !usable(ki) || !usable(ko) {
            return None;
        }
        let mut saved = Vec::new();
        for fd in [&i, &o] {
            saved.push((fd.try_clone().ok()?, fcntl_getfl(fd).ok()?));
        }
        let restore = |saved: &Vec<(OwnedFd, OFlags)>| {
            for (fd, flags) in saved {
                let _ = fcntl_setfl(fd, *flags);
            }
        };
        let input = match ki {
            FileType::Fifo => pipe::Receiver::from_owned_fd(i).ok().map(In::Pipe),
            _ => socket(i).map(In::Sock),
        };
        let output = match ko {
            FileType::Fifo => pipe::Sender::from_owned_fd(o).ok().map(Out::Pipe),
            _ => socket(o).map(Out::Sock),
        };
        match (input, output) {
            (Some(input), Some(output)) => Some(StdPipes {
                input,
                output,
                saved,
            }),
            _ => {
                restore(&saved);
                None
            }
        }
    }
}

impl Drop for StdPipes {
    fn drop(&mut self) {
        for (fd, flags) in &self.saved {
            let _ = fcntl_setfl(fd, *flags);
        }
    }
}

impl StdPipes {
    /// Read what is available (waiting for some); `Ok(0)` at end of input.
    pub(super) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match &self.input {
                In::Pipe(p) => {
                    p.readable().await?;
                    p.try_read(buf)
                }
                In::Sock(s) => {
                    s.readable().await?;
                    s.try_read(buf)
                }
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    /// Write all of `data`, waiting for the pipe to take it.
    pub(super) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let r = match &self.output {
                Out::Pipe(p) => {
                    p.writable().await?;
                    p.try_write(data)
                }
                Out::Sock(s) => {
                    s.writable().await?;
                    s.try_write(data)
                }
            };
            match r {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
