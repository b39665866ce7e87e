//! The real `slatenfs serve` on a free loopback port, for tests that go through TCP. Dropping a
//! [`Server`] that was not stopped kills it, so a failing test leaves no server behind.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use slatenfs::netclient::{auth_sys, Connection};
use slatenfs::proto::auth::Credential;

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
    /// If set, the server's stderr goes to this file instead (for tests that read the log).
    pub log: Option<PathBuf>,
    /// More `serve` arguments.
    pub args: Vec<String>,
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
            log: None,
            args: Vec::new(),
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
            let stderr = match &opts.log {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .expect("server log file"),
                ),
                None => (opts.stderr)(),
            };
            let mut child = Command::new(env!("CARGO_BIN_EXE_slatenfs"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--storage", &opts.storage, "--cores", &opts.cores])
                .args(&opts.args)
                // Port 111 of the host is not the tests' to take.
                .args(["--rpcbind", "off"])
                .env("SLATEDB_CACHE_DIR", cache.path())
                .env("SLATEDB_CACHE_SIZE_GB", opts.cache_size_gb)
                .env("RUST_LOG", &opts.rust_log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
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
        self.signal("TERM");
        let status = self.wait_exit(within);
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        status
    }

    /// Sends signal `name` (`TERM`, `HUP`, ...) to the server.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status();
    }

    /// Waits up to `within` for the server to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The server's resident set size, from /proc, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// A connection from source address `local` (an address of 127.0.0.0/8; port 0: any
    /// unprivileged one), calling as `cred`.
    pub fn connect_from(&self, local: SocketAddrV4, cred: Credential) -> Connection {
        let stream = connect_from(local, self.addr).expect("connect from a loopback address");
        let mut c = Connection::from_stream(stream, cred).unwrap();
        c.set_timeout(Some(Duration::from_secs(30))).unwrap();
        c
    }

    /// A connection from address `ip` and a privileged source port (below 1024: needs root).
    pub fn connect_privileged(&self, ip: std::net::Ipv4Addr, cred: Credential) -> Connection {
        for port in (600..1024).rev() {
            if let Ok(stream) = connect_from(SocketAddrV4::new(ip, port), self.addr) {
                let mut c = Connection::from_stream(stream, cred).unwrap();
                c.set_timeout(Some(Duration::from_secs(30))).unwrap();
                return c;
            }
        }
        panic!("no privileged port free on {ip}");
    }
}

/// A TCP connection to `remote` from `local` (IPv4), which std cannot bind before connecting.
pub fn connect_from(local: SocketAddrV4, remote: SocketAddr) -> io::Result<TcpStream> {
    let SocketAddr::V4(remote) = remote else {
        return Err(io::Error::other("IPv4 only"));
    };
    let addr = |a: SocketAddrV4| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns (the TcpStream closes it on
    // every path), with pointers to live, correctly sized sockaddr_in values.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let (l, r) = (addr(local), addr(remote));
        if libc::bind(fd, &l as *const _ as *const libc::sockaddr, len) != 0
            || libc::connect(fd, &r as *const _ as *const libc::sockaddr, len) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(stream)
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
