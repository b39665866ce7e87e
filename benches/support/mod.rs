//! A running `slatenfs serve` for benches that go through the real server over loopback: the
//! binary on a free 127.0.0.1 port, its store and cache in a temporary directory, its log in a
//! file there (quoted when it fails to start or stop). Dropping a [`Server`] that was not
//! [`Server::stop`]ped kills it (a bench that panics leaves no server behind).

use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use slatenfs::netclient::{auth_sys, Connection};

/// How long the server may take to listen, and to exit after SIGTERM.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts when the server exits at once (the free port was taken meanwhile).
const ATTEMPTS: usize = 3;

pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// Dropped after `child` is stopped (fields drop after `Drop::drop`).
    _dir: tempfile::TempDir,
}

impl Server {
    /// `slatenfs serve --cores <cores>` on a local-disk store (`file://DIR/data`, cache in
    /// `DIR/cache`). Panics with the tail of the server's log if it does not listen in 30 s.
    pub fn start(cores: usize) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let cache = dir.path().join("cache");
        let log = dir.path().join("server.log");
        for attempt in 1..=ATTEMPTS {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let log_file = std::fs::File::create(&log).expect("server log file");
            let mut child = Command::new(env!("CARGO_BIN_EXE_slatenfs"))
                .arg("serve")
                .args(["--listen", &addr.to_string()])
                .arg("--storage")
                .arg(format!("file://{}", data.display()))
                .args(["--cores", &cores.to_string()])
                // Port 111 of the host is not a benchmark's to take.
                .args(["--rpcbind", "off"])
                .env("SLATEDB_CACHE_DIR", &cache)
                .env("SLATEDB_CACHE_SIZE_GB", "1")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("spawn slatenfs");
            let until = Instant::now() + START_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) if attempt < ATTEMPTS => {
                        eprintln!(
                            "slatenfs exited at start ({status}), retrying on another port:\n{}",
                            tail(&log)
                        );
                        break;
                    }
                    Ok(Some(status)) => {
                        panic!("slatenfs exited at start ({status}):\n{}", tail(&log))
                    }
                    Ok(None) => {}
                    Err(e) => panic!("waiting for slatenfs: {e}"),
                }
                if TcpStream::connect(addr).is_ok() {
                    return Server {
                        child,
                        addr,
                        log,
                        _dir: dir,
                    };
                }
                if Instant::now() >= until {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "slatenfs did not listen on {addr} within {START_TIMEOUT:?}:\n{}",
                        tail(&log)
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        unreachable!("the last attempt panics");
    }

    /// A new connection calling as root (AUTH_SYS 0/0), reads timing out after 30 s.
    pub fn connect(&self) -> Connection {
        let mut c = Connection::connect(self.addr, auth_sys(0, 0, b"bench"))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr));
        c.set_timeout(Some(Duration::from_secs(30)))
            .expect("socket timeouts");
        c
    }

    /// SIGTERM, then waits for a clean exit; panics (with the log's tail) otherwise.
    pub fn stop(mut self) {
        let status = self.terminate();
        match status {
            Some(s) if s.success() => {}
            Some(s) => panic!("slatenfs exited with {s}:\n{}", tail(&self.log)),
            None => panic!(
                "slatenfs did not exit within {STOP_TIMEOUT:?} of SIGTERM (killed):\n{}",
                tail(&self.log)
            ),
        }
    }

    /// SIGTERM and wait; SIGKILL after [`STOP_TIMEOUT`]. The exit status, `None` if killed.
    fn terminate(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last 4 KiB of the server's log.
fn tail(log: &Path) -> String {
    let mut out = Vec::new();
    let read = std::fs::File::open(log).and_then(|mut f| {
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(4096)))?;
        f.read_to_end(&mut out)
    });
    match read {
        Ok(_) if out.is_empty() => "(the log is empty)".into(),
        Ok(_) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("(log {} unreadable: {e})", log.display()),
    }
}
