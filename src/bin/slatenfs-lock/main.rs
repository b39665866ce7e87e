//! slatenfs-lock: one NLM client call from the command line (LOCK, UNLOCK, TEST, SM_NOTIFY),
//! plus the file operations a test script needs to meet a kernel client on the same export
//! (create a marker file, wait for one). Built on the project's blocking client and sans-IO
//! engine; it finds the lock manager through the server's portmapper, as a client does.
//!
//! Every invocation is the same lock owner (host `--from`/`--name`, `--svid`), so a lock taken
//! by one invocation is released by a later one. It prints the NLM status (`GRANTED`,
//! `DENIED`, `DENIED_GRACE_PERIOD`, ...); with `--expect S` the exit status says whether it
//! was `S` (0) or not (1). Other failures exit with 2.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use slatenfs::netclient::{auth_sys, ClientError, Connection};
use slatenfs::proto::nfs3::Nfsstat3;
use slatenfs::proto::nlm4::{self, Nlm4Lock, Nlm4LockArgs, Nlm4Stats, Nlm4TestArgs};
use slatenfs::proto::nsm;
use slatenfs::proto::portmap::IPPROTO_TCP;

/// One NLM/NSM call, or a marker-file operation, against an NFSv3 server.
#[derive(Debug, Parser)]
#[command(name = "slatenfs-lock", version)]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    server: IpAddr,
    /// NFS (and MOUNT) port.
    #[arg(long, default_value_t = 2049)]
    port: u16,
    /// Local address to call from: with `--name`, the client host the server sees.
    #[arg(long)]
    from: Option<IpAddr>,
    /// The client's host name (NLM `caller_name`).
    #[arg(long, default_value = "slatenfs-lock")]
    name: String,
    /// The lock owner's process id (NLM `svid`).
    #[arg(long, default_value_t = 1)]
    svid: i32,
    /// NLM port; by default asked from the server's portmapper (port 111).
    #[arg(long)]
    nlm_port: Option<u16>,
    /// Seconds to wait for a reply (and for `wait`).
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Exit 0 only if the NLM status is this one (e.g. granted, denied, denied_grace_period).
    #[arg(long)]
    expect: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, clap::Args)]
struct Range {
    /// Path of the file under the export root.
    path: String,
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// 0: to the end of the file.
    #[arg(long, default_value_t = 0)]
    len: u64,
    /// A shared (read) lock instead of an exclusive one.
    #[arg(long)]
    shared: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// LOCK (non-blocking unless --block).
    Lock {
        #[command(flatten)]
        range: Range,
        #[arg(long)]
        block: bool,
        /// A reclaim after the server restarted.
        #[arg(long)]
        reclaim: bool,
        /// NM_LOCK: a lock whose host the server does not monitor.
        #[arg(long)]
        unmonitored: bool,
    },
    /// UNLOCK.
    Unlock {
        #[command(flatten)]
        range: Range,
    },
    /// TEST; prints the holder of a conflicting lock too.
    Test {
        #[command(flatten)]
        range: Range,
    },
    /// SM_NOTIFY to the server's status monitor: host MON_NAME restarted.
    Notify {
        #[arg(long)]
        mon_name: String,
        #[arg(long)]
        state: i32,
    },
    /// Creates an empty file (a marker for another client).
    Create { path: String },
    /// Waits until a file exists.
    Wait { path: String },
}

fn status_name(s: Nlm4Stats) -> &'static str {
    match s {
        Nlm4Stats::Granted => "GRANTED",
        Nlm4Stats::Denied => "DENIED",
        Nlm4Stats::DeniedNolocks => "DENIED_NOLOCKS",
        Nlm4Stats::Blocked => "BLOCKED",
        Nlm4Stats::DeniedGracePeriod => "DENIED_GRACE_PERIOD",
        Nlm4Stats::Deadlck => "DEADLCK",
        Nlm4Stats::Rofs => "ROFS",
        Nlm4Stats::StaleFh => "STALE_FH",
        Nlm4Stats::Fbig => "FBIG",
        Nlm4Stats::Failed => "FAILED",
    }
}

struct Client {
    args: Args,
    timeout: Duration,
}

impl Client {
    fn connect(&self, port: u16) -> Result<Connection, ClientError> {
        let addr = SocketAddr::new(self.args.server, port);
        let cred = auth_sys(0, 0, self.args.name.as_bytes());
        let mut c = match self.args.from {
            Some(from) => Connection::connect_from(from, addr, self.timeout, cred)?,
            None => Connection::connect_timeout(&addr, self.timeout, cred)?,
        };
        c.set_timeout(Some(self.timeout))?;
        Ok(c)
    }

    /// The directory handle of `path`'s parent and its last component.
    fn parent(&self, nfs: &mut Connection, path: &str) -> Result<(Vec<u8>, String), ClientError> {
        let mut dir = nfs.mount(b"/")?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((last, dirs)) = parts.split_last() else {
            return Err(ClientError::Protocol(format!("{path:?} names no file")));
        };
        for d in dirs {
            dir = nfs.lookup(&dir, d.as_bytes())?.0;
        }
        Ok((dir, last.to_string()))
    }

    fn handle(&self, nfs: &mut Connection, path: &str) -> Result<Vec<u8>, ClientError> {
        let (dir, name) = self.parent(nfs, path)?;
        Ok(nfs.lookup(&dir, name.as_bytes())?.0)
    }

    fn nlm(&self) -> Result<Connection, ClientError> {
        let port = match self.args.nlm_port {
            Some(p) => p,
            None => {
                let mut pm = self.connect(111)?;
                let p = pm.getport(nlm4::PROGRAM, nlm4::VERSION, IPPROTO_TCP)?;
                u16::try_from(p)
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| ClientError::Protocol("NLM is not registered".into()))?
            }
        };
        self.connect(port)
    }

    fn run(&self) -> Result<Option<Nlm4Stats>, ClientError> {
        let a = &self.args;
        let oh = format!("{}@{}", a.svid, a.name);
        fn lock<'a>(a: &'a Args, oh: &'a str, fh: &'a [u8], r: &Range) -> Nlm4Lock<'a> {
            Nlm4Lock {
                caller_name: a.name.as_bytes(),
                fh,
                oh: oh.as_bytes(),
                svid: a.svid,
                l_offset: r.offset,
                l_len: r.len,
            }
        }
        let mut nfs = self.connect(a.port)?;
        match &a.command {
            Command::Lock {
                range,
                block,
                reclaim,
                unmonitored,
            } => {
                let fh = self.handle(&mut nfs, &range.path)?;
                let args = Nlm4LockArgs {
                    cookie: b"slatenfs-lock",
                    block: *block,
                    exclusive: !range.shared,
                    alock: lock(a, &oh, &fh, range),
                    reclaim: *reclaim,
                    state: 1,
                };
                Ok(Some(self.nlm()?.nlm_lock(&args, !unmonitored)?))
            }
            Command::Unlock { range } => {
                let fh = self.handle(&mut nfs, &range.path)?;
                Ok(Some(
                    self.nlm()?
                        .nlm_unlock(b"slatenfs-lock", lock(a, &oh, &fh, range))?,
                ))
            }
            Command::Test { range } => {
                let fh = self.handle(&mut nfs, &range.path)?;
                let args = Nlm4TestArgs {
                    cookie: b"slatenfs-lock",
                    exclusive: !range.shared,
                    alock: lock(a, &oh, &fh, range),
                };
                let (stat, holder) = self.nlm()?.nlm_test(&args)?;
                if let Some(h) = holder {
                    println!(
                        "held by svid {} ({}) offset {} len {} {}",
                        h.svid,
                        String::from_utf8_lossy(&h.oh),
                        h.l_offset,
                        h.l_len,
                        if h.exclusive { "exclusive" } else { "shared" }
                    );
                }
                Ok(Some(stat))
            }
            Command::Notify { mon_name, state } => {
                let mut pm = self.connect(111)?;
                let port = pm.getport(nsm::PROGRAM, nsm::VERSION, IPPROTO_TCP)?;
                let port = u16::try_from(port)
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| ClientError::Protocol("NSM is not registered".into()))?;
                self.connect(port)?.sm_notify(mon_name.as_bytes(), *state)?;
                Ok(None)
            }
            Command::Create { path } => {
                let (dir, name) = self.parent(&mut nfs, path)?;
                match nfs.create(&dir, name.as_bytes(), 0o644, true) {
                    Ok(_) => Ok(None),
                    Err(e) if e.nfs_status() == Some(Nfsstat3::Exist) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Command::Wait { path } => {
                let until = Instant::now() + self.timeout;
                loop {
                    match self.handle(&mut nfs, path) {
                        Ok(_) => return Ok(None),
                        Err(e)
                            if e.nfs_status() == Some(Nfsstat3::Noent)
                                && Instant::now() < until =>
                        {
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let timeout = Duration::from_secs(args.timeout.max(1));
    let client = Client { args, timeout };
    match client.run() {
        Ok(Some(stat)) => {
            let name = status_name(stat);
            println!("{name}");
            match &client.args.expect {
                Some(want) if !want.eq_ignore_ascii_case(name) => {
                    eprintln!("slatenfs-lock: expected {want}, got {name}");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slatenfs-lock: {e}");
            ExitCode::from(2)
        }
    }
}
