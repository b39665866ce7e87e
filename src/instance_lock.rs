//! One slatenfs process per cache directory, and how `slatenfs fsck` knows a server runs.
//!
//! `serve` holds an exclusive `flock` on `<cache dir>/slatenfs.lock`, with its pid written in,
//! for as long as it runs. The kernel releases the lock when the process ends, however it
//! ends (`kill -9` too), so a stale file never blocks anyone. Two servers sharing a cache
//! directory would corrupt each other's chunk caches, so the second one refuses to start;
//! `fsck` takes the same lock and refuses to run beside a server unless told to (`--force`).
//!
//! This only sees servers on this machine with the same cache directory. The storage itself
//! is protected by SlateDB's fencing: `fsck` reads through a read-only view that never
//! writes, and `fsck --repair` opens a writer, which fences any server still using the
//! storage (it stops serving and exits).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The name of the lock file in the cache directory.
pub const LOCK_FILE: &str = "slatenfs.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error("{path} is held by a running slatenfs process{}", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { path: PathBuf, pid: Option<u32> },
    /// The lock file cannot be used.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the lock of `cache_dir` (which must exist) without waiting.
    pub fn acquire(cache_dir: &Path) -> Result<InstanceLock, LockError> {
        let path = cache_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::Busy { path, pid });
            }
            return Err(io(err));
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(InstanceLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = InstanceLock::acquire(dir.path()).unwrap();
        match InstanceLock::acquire(dir.path()) {
            Err(LockError::Busy { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(held);
        InstanceLock::acquire(dir.path()).unwrap();
    }
}
