//! Registering programs with the host's rpcbind, for when a system rpcbind (not the server)
//! owns port 111: clients ask it where the lock manager is.
//!
//! rpcbind accepts SET and UNSET only from local callers: through its Unix socket
//! (`/run/rpcbind.sock`; the caller's uid becomes the registration's owner), or, if it was
//! started with `-L` (and from the old portmap daemon), over loopback from a privileged port.
//! A program that someone else registered (the kernel's own lock manager, say) is left alone:
//! unsetting it would take the lock manager away from that service.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::proto::auth::Credential;
use crate::proto::client::{ClientConfig, ClientConnection};
use crate::proto::portmap::{self, Mapping, PortmapCall, PortmapReply, IPPROTO_TCP, IPPROTO_UDP};
use crate::proto::rpc::ReplyStatus;
use crate::proto::rpcbind::{self, Rpcb, RpcbindCall, RpcbindReply};
use crate::proto::xdr::XdrEncode;

/// Where rpcbind listens for local registrations.
const RPCBIND_SOCKETS: [&str; 2] = ["/run/rpcbind.sock", "/var/run/rpcbind.sock"];
const TIMEOUT: Duration = Duration::from_secs(5);

/// One program to register: served at `port` over `ipproto` (TCP or UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    pub prog: u32,
    pub vers: u32,
    pub ipproto: u32,
    pub port: u16,
}

/// What registering one program came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// Registered (replacing a stale registration at the same port).
    Done,
    /// Someone else serves it at another port; left alone.
    Taken { port: u16 },
}

/// A connection to rpcbind that takes registrations.
enum Channel {
    Unix(UnixStream),
    /// Port 111 over loopback (portmap v2 SET/UNSET only).
    Loopback(TcpStream),
}

impl Channel {
    fn open() -> io::Result<Channel> {
        for path in RPCBIND_SOCKETS {
            if Path::new(path).exists() {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(TIMEOUT))?;
                s.set_write_timeout(Some(TIMEOUT))?;
                return Ok(Channel::Unix(s));
            }
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], crate::proto::nfs3::PORTMAP_PORT as u16));
        let s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        Ok(Channel::Loopback(s))
    }

    fn call(&mut self, vers: u32, procedure: u32, args: &dyn XdrEncode) -> io::Result<ReplyStatus> {
        match self {
            Channel::Unix(s) => call(s, vers, procedure, args),
            Channel::Loopback(s) => call(s, vers, procedure, args),
        }
    }
}

/// One blocking call to program 100000 on `stream`.
fn call<S: Read + Write>(
    stream: &mut S,
    vers: u32,
    procedure: u32,
    args: &dyn XdrEncode,
) -> io::Result<ReplyStatus> {
    let mut engine = ClientConnection::new(ClientConfig::default());
    let xid = engine
        .send_call(portmap::PROGRAM, vers, procedure, &Credential::None, args)
        .map_err(io::Error::other)?;
    while let Some(chunk) = engine.poll_transmit() {
        stream.write_all(&chunk)?;
    }
    let mut buf = [0u8; 4096];
    loop {
        if let Some(r) = engine.poll_reply() {
            if r.xid == xid {
                return Ok(r.status);
            }
            continue;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "rpcbind closed",
            ));
        }
        engine.handle_input(&buf[..n]).map_err(io::Error::other)?;
    }
}

fn body(status: ReplyStatus) -> io::Result<bytes::Bytes> {
    match status {
        ReplyStatus::Success(b) => Ok(b),
        other => Err(io::Error::other(format!("rpcbind answered {other:?}"))),
    }
}

fn netid(r: &Registration, ip: IpAddr) -> io::Result<&'static str> {
    rpcbind::netid(r.ipproto, ip).ok_or_else(|| io::Error::other("unknown transport"))
}

/// The port `r`'s program is registered at over its transport (0: not registered).
fn registered_port(ch: &mut Channel, r: &Registration) -> io::Result<u16> {
    let q = PortmapCall::Getport(Mapping {
        prog: r.prog,
        vers: r.vers,
        prot: r.ipproto,
        port: 0,
    });
    match PortmapReply::decode(
        q.proc_num(),
        &body(ch.call(portmap::VERSION, q.proc_num(), &q)?)?,
    ) {
        Ok(PortmapReply::Getport(p)) => Ok(u16::try_from(p).unwrap_or(0)),
        _ => Err(io::Error::other("malformed GETPORT reply")),
    }
}

/// SET (`set`) or UNSET of `r` at `ip` (the address the server listens on).
fn change(ch: &mut Channel, r: &Registration, ip: IpAddr, set: bool) -> io::Result<bool> {
    let yes = |reply| matches!(reply, RpcbindReply::Set(true) | RpcbindReply::Unset(true));
    match ch {
        Channel::Unix(_) => {
            let addr = rpcbind::uaddr(SocketAddr::new(ip, r.port));
            let rpcb = Rpcb {
                prog: r.prog,
                vers: r.vers,
                netid: netid(r, ip)?.as_bytes(),
                addr: addr.as_bytes(),
                owner: portmap::OWNER.as_bytes(),
            };
            let c = if set {
                RpcbindCall::Set(rpcb)
            } else {
                RpcbindCall::Unset(rpcb)
            };
            let b = body(ch.call(rpcbind::VERSION4, c.proc_num(), &c)?)?;
            Ok(RpcbindReply::decode(c.proc_num(), &b).is_ok_and(yes))
        }
        Channel::Loopback(_) => {
            let m = Mapping {
                prog: r.prog,
                vers: r.vers,
                prot: r.ipproto,
                port: u32::from(r.port),
            };
            let c = if set {
                PortmapCall::Set(m)
            } else {
                PortmapCall::Unset(m)
            };
            let b = body(ch.call(portmap::VERSION, c.proc_num(), &c)?)?;
            Ok(matches!(
                PortmapReply::decode(c.proc_num(), &b),
                Ok(PortmapReply::Set(true) | PortmapReply::Unset(true))
            ))
        }
    }
}

/// Registers `regs` (served at `ip`) with the host's rpcbind. A program registered at another
/// port is left as it is ([`Registered::Taken`]); one registered at the same port (a previous
/// run of this server that did not stop cleanly) is replaced.
pub fn register(regs: &[Registration], ip: IpAddr) -> io::Result<Vec<Registered>> {
    let mut ch = Channel::open()?;
    let mut out = Vec::with_capacity(regs.len());
    for r in regs {
        match registered_port(&mut ch, r)? {
            0 => {}
            p if p == r.port => {
                change(&mut ch, r, ip, false)?;
            }
            p => {
                out.push(Registered::Taken { port: p });
                continue;
            }
        }
        if !change(&mut ch, r, ip, true)? {
            return Err(io::Error::other(format!(
                "rpcbind refused to register program {} version {}{}",
                r.prog,
                r.vers,
                match ch {
                    Channel::Unix(_) => "",
                    Channel::Loopback(_) => " (over loopback: rpcbind needs -L for that)",
                }
            )));
        }
        out.push(Registered::Done);
    }
    Ok(out)
}

/// Removes the registrations of `regs` that point at our ports.
pub fn unregister(regs: &[Registration], ip: IpAddr) -> io::Result<()> {
    let mut ch = Channel::open()?;
    for r in regs {
        if registered_port(&mut ch, r)? == r.port {
            change(&mut ch, r, ip, false)?;
        }
    }
    Ok(())
}

/// The registrations of a lock manager whose NLM and NSM are served on `tcp_port` and
/// `udp_port`.
pub fn lock_manager(tcp_port: u16, udp_port: u16) -> Vec<Registration> {
    use crate::proto::{nlm4, nsm};
    let mut v = Vec::with_capacity(4);
    for (prog, vers) in [(nlm4::PROGRAM, nlm4::VERSION), (nsm::PROGRAM, nsm::VERSION)] {
        v.push(Registration {
            prog,
            vers,
            ipproto: IPPROTO_TCP,
            port: tcp_port,
        });
        v.push(Registration {
            prog,
            vers,
            ipproto: IPPROTO_UDP,
            port: udp_port,
        });
    }
    v
}
