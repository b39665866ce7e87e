//! The real `slatenfs serve` on a free loopback port, for tests that go through TCP. Dropping a
//! [`Server`] that was not stopped kills it, so a failing test leaves no server behind.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use slatenfs::netclient::{auth_sys, Connection};

/// How to run the server.
pub struct ServeOptions {
    /// `--storage`: `memory://`, or `file://DIR` for a test that opens the store afterwards.
    pub storage: String,
    /// `--cores`.
    pub cores: String,
    /// `SLATEDB_CACHE_SIZE_GB`.
    pub cache_size_gb: &'static str,
    /// `RUST_LOG`.
    pub rust_log: String,
    /// Where the server's stderr goes; called once per start attempt, as a spawn uses up its
    /// `Stdio`.
    pub stderr: fn() -> Stdio,
}

impl Default for ServeOptions {
    /// Two cores on an in-memory store, warnings and errors logged to the test's stderr.
    fn default() -> Self {
        ServeOptions {
            storage: "memory://".into(),
            cores: "2".into(),
            cache_size_gb: "1",
            rust_log: "warn".into(),
            stderr: Stdio::inherit,
        }
    }
}

pub struct Server {
    child: Child,
    addr: SocketAddr,
    /// SlateDB's disk cache; removed after the server has exited (fields drop after
    /// `Drop::drop`).
    _cache: tempfile::TempDir,
}

impl Server {
    /// Starts the server and waits (30 s at most) until it accepts connections.
    pub fn start(opts: &ServeOptions) -> Server {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            // A fresh cache per attempt: nothing cached by a server that failed to start.
            let cache = tempfile::tempdir().expect("tempdir");
            let mut child = Command::new(env!("CARGO_BIN_EXE_slatenfs"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--storage", &opts.storage, "--cores", &opts.cores])
                // Port 111 of the host is not the tests' to take.
                .args(["--rpcbind", "off"])
                .env("SLATEDB_CACHE_DIR", cache.path())
                .env("SLATEDB_CACHE_SIZE_GB", opts.cache_size_gb)
                .env("RUST_LOG", &opts.rust_log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr((opts.stderr)())
                .spawn()
                .expect("spawn slatenfs");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if TcpStream::connect(addr).is_ok() {
                    return Server {
                        child,
                        addr,
                        _cache: cache,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("slatenfs did not start");
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new connection calling as root (AUTH_SYS 0/0 from `machine_name`), its socket reads
    /// and writes timing out after `timeout`.
    pub fn connect(&self, machine_name: &[u8], timeout: Duration) -> Connection {
        let mut c = Connection::connect(self.addr, auth_sys(0, 0, machine_name)).unwrap();
        c.set_timeout(Some(timeout)).unwrap();
        c
    }

    /// SIGTERM, then waits `within` for the exit; kills the server after that. The exit
    /// status, `None` if it had to be killed.
    pub fn stop(mut self, within: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
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
