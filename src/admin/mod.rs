//! The local admin channel: how `slatenfs snapshot …` reaches the server that writes the
//! storage.
//!
//! A Unix socket, `admin.sock` in the server's cache directory, rather than an RPC program on
//! loopback: the kernel tells the server who is calling (SO_PEERCRED), which AUTH_SYS on a TCP
//! port cannot (any local user can claim uid 0 there), and the socket file is found through
//! the cache directory the command is given anyway, the one a server holds its instance lock
//! in. Only root and the user the server runs as are answered; the file is mode 0600 too.
//!
//! One request per connection: the client writes one line and shuts its side; the server
//! answers `ok` or `error` on the first line, then the text for the user, and closes. It knows
//! nothing of what the requests mean: the handler it is started with does.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The socket's file name in the cache directory.
pub const ADMIN_SOCKET: &str = "admin.sock";
/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminReply {
    pub ok: bool,
    pub text: String,
}

/// What runs a request line.
pub type AdminHandler = Arc<dyn Fn(&str) -> AdminReply + Send + Sync>;

/// The socket of `cache_dir`.
pub fn socket_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(ADMIN_SOCKET)
}

/// The admin channel of a running server; the socket file goes when this is dropped.
pub struct AdminServer {
    path: PathBuf,
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uid of the peer of `stream`.
fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes at most `len` bytes into `cred`, which is that large.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

impl AdminServer {
    /// Listens at `path` (a stale socket file there is replaced: the caller holds the cache
    /// directory's instance lock, so no other server uses it) and answers each request with
    /// `handler` on a thread of its own, one request at a time.
    pub fn start(path: PathBuf, handler: AdminHandler) -> io::Result<AdminServer> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        // SAFETY: geteuid has no preconditions.
        let own_uid = unsafe { libc::geteuid() };
        std::thread::Builder::new()
            .name("slatenfs-admin".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    match stream {
                        Ok(s) => answer(s, own_uid, &handler),
                        Err(e) => log::warn!("admin channel: {e}"),
                    }
                }
            })?;
        Ok(AdminServer { path })
    }
}

fn answer(mut stream: UnixStream, own_uid: u32, handler: &AdminHandler) {
    let reply = match peer_uid(&stream) {
        Ok(uid) if uid == 0 || uid == own_uid => match read_request(&stream) {
            Ok(line) => {
                log::debug!("admin request from uid {uid}: {line}");
                handler(&line)
            }
            Err(e) => AdminReply {
                ok: false,
                text: format!("bad request: {e}\n"),
            },
        },
        Ok(uid) => {
            log::warn!("admin channel: refused a request from uid {uid}");
            AdminReply {
                ok: false,
                text: "permission denied: only root (or the server's own user) may do this\n"
                    .into(),
            }
        }
        Err(e) => AdminReply {
            ok: false,
            text: format!("cannot tell who is calling: {e}\n"),
        },
    };
    let head = if reply.ok { "ok\n" } else { "error\n" };
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(reply.text.as_bytes()));
}

fn read_request(stream: &UnixStream) -> io::Result<String> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(stream.take(MAX_REQUEST)).read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}

/// Why a request could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AdminCallError {
    /// Nothing listens at the socket: no server runs with this cache directory.
    #[error("no server is listening at {0}")]
    NoServer(PathBuf),
    #[error("admin channel {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Sends `line` to the server listening at `path` and returns its answer.
pub fn call(path: &Path, line: &str) -> Result<AdminReply, AdminCallError> {
    let io_err = |source| AdminCallError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(AdminCallError::NoServer(path.to_path_buf()))
        }
        Err(e) => return Err(io_err(e)),
    };
    stream
        .write_all(format!("{line}\n").as_bytes())
        .map_err(io_err)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(io_err)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(io_err)?;
    let (head, text) = answer.split_once('\n').unwrap_or((answer.as_str(), ""));
    match head {
        "ok" | "error" => Ok(AdminReply {
            ok: head == "ok",
            text: text.to_string(),
        }),
        _ => Err(io_err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server's answer is not an admin reply",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reaches_the_handler_and_its_answer_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        let handler: AdminHandler = Arc::new(|line: &str| AdminReply {
            ok: line == "ping",
            text: format!("got {line}\n"),
        });
        let server = AdminServer::start(path.clone(), handler).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            call(&path, "ping").unwrap(),
            AdminReply {
                ok: true,
                text: "got ping\n".into()
            }
        );
        assert!(!call(&path, "other").unwrap().ok);
        drop(server);
        assert!(!path.exists());
        assert!(matches!(
            call(&path, "ping"),
            Err(AdminCallError::NoServer(_))
        ));
    }

    #[test]
    fn a_stale_socket_file_is_no_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        // A socket file left by a server that died: bound once, nobody listening.
        drop(UnixListener::bind(&path).unwrap());
        assert!(matches!(
            call(&path, "ping"),
            Err(AdminCallError::NoServer(_))
        ));
    }
}
