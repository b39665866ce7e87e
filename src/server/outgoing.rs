//! Calls to other hosts, for a service that must call its clients (a lock manager's GRANTED
//! callbacks, a status monitor's restart notifications): the [`Outbox`] of the runtime.
//!
//! Each call finds the program's TCP port through the host's portmapper (PMAP GETPORT, port
//! 111), connects from the requested local address, sends the call with the sans-IO client
//! engine and waits for the reply, all bounded by a timeout. Calls are rare (contended locks,
//! restarts), so each gets its own connections; they run concurrently on one thread with a
//! small tokio runtime, away from the cores.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use crate::proto::auth::{AuthSys, Credential};
use crate::proto::client::{ClientConfig, ClientConnection};
use crate::proto::outbound::{OutboundCall, OutboundError, Outbox};
use crate::proto::portmap::{self, Mapping, PortmapCall, PortmapReply, IPPROTO_TCP};
use crate::proto::rpc::{RawBody, ReplyStatus};
use crate::proto::xdr::XdrEncode;

/// Settings of [`Outgoing`].
#[derive(Debug, Clone, Copy)]
pub struct OutgoingConfig {
    /// The port of the hosts' portmappers (111; tests point it elsewhere).
    pub portmap_port: u16,
    /// Bound on one call, the portmapper question included.
    pub timeout: Duration,
}

impl Default for OutgoingConfig {
    fn default() -> Self {
        OutgoingConfig {
            portmap_port: crate::proto::nfs3::PORTMAP_PORT as u16,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Sends [`OutboundCall`]s from a thread of its own.
pub struct Outgoing {
    tx: mpsc::UnboundedSender<OutboundCall>,
}

impl Outgoing {
    /// Starts the calling thread. It ends when the `Outgoing` is dropped (calls in progress are
    /// abandoned).
    pub fn start(config: OutgoingConfig) -> io::Result<Outgoing> {
        let (tx, mut rx) = mpsc::unbounded_channel::<OutboundCall>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("slatenfs-callout".into())
            .spawn(move || {
                // One thread: the calls' futures need not be `Send`.
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    while let Some(call) = rx.recv().await {
                        tokio::task::spawn_local(async move {
                            let result =
                                tokio::time::timeout(config.timeout, perform(&call, config))
                                    .await
                                    .unwrap_or_else(|_| {
                                        Err(OutboundError::Transport {
                                            host: call.to,
                                            why: format!("no reply within {:?}", config.timeout),
                                        })
                                    });
                            (call.done)(result);
                        });
                    }
                })
            })?;
        Ok(Outgoing { tx })
    }
}

impl Outbox for Outgoing {
    fn send(&self, call: OutboundCall) {
        if let Err(mpsc::error::SendError(call)) = self.tx.send(call) {
            let host = call.to;
            (call.done)(Err(OutboundError::Transport {
                host,
                why: "the calling thread has stopped".into(),
            }));
        }
    }
}

/// The AUTH_SYS credential of the server's calls (uid 0, as a kernel lock manager's).
fn credential() -> Credential {
    Credential::Sys(AuthSys {
        machinename: smallvec::SmallVec::from_slice(b"slatenfs"),
        ..AuthSys::default()
    })
}

async fn perform(
    call: &OutboundCall,
    config: OutgoingConfig,
) -> Result<ReplyStatus, OutboundError> {
    let transport = |e: io::Error| OutboundError::Transport {
        host: call.to,
        why: e.to_string(),
    };
    let not_registered = |why: String| OutboundError::NotRegistered {
        host: call.to,
        prog: call.prog,
        vers: call.vers,
        why,
    };
    let query = PortmapCall::Getport(Mapping {
        prog: call.prog,
        vers: call.vers,
        prot: IPPROTO_TCP,
        port: 0,
    });
    let portmapper = SocketAddr::new(call.to, config.portmap_port);
    let mut stream = connect(call.from, portmapper)
        .await
        .map_err(|e| not_registered(format!("portmapper: {e}")))?;
    let status = rpc_call(
        &mut stream,
        portmap::PROGRAM,
        portmap::VERSION,
        query.proc_num(),
        &query,
    )
    .await
    .map_err(|e| not_registered(format!("portmapper: {e}")))?;
    let port = match status {
        ReplyStatus::Success(body) => match PortmapReply::decode(query.proc_num(), &body) {
            Ok(PortmapReply::Getport(p)) => p,
            _ => return Err(not_registered("malformed GETPORT reply".into())),
        },
        other => return Err(not_registered(format!("portmapper answered {other:?}"))),
    };
    let port = match u16::try_from(port) {
        Ok(p) if p != 0 => p,
        _ => return Err(not_registered("not registered".into())),
    };
    let mut stream = connect(call.from, SocketAddr::new(call.to, port))
        .await
        .map_err(transport)?;
    rpc_call(
        &mut stream,
        call.prog,
        call.vers,
        call.procedure,
        &RawBody(&call.args),
    )
    .await
    .map_err(transport)
}

/// Connects to `to`, from `from` (any port) when given.
async fn connect(from: Option<IpAddr>, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = match to {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = from.filter(|ip| ip.is_ipv4() == to.is_ipv4() && !ip.is_unspecified()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(to).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One call on `stream`, and its reply's status.
async fn rpc_call(
    stream: &mut TcpStream,
    prog: u32,
    vers: u32,
    procedure: u32,
    args: &dyn XdrEncode,
) -> io::Result<ReplyStatus> {
    let mut engine = ClientConnection::new(ClientConfig::default());
    let xid = engine
        .send_call(prog, vers, procedure, &credential(), args)
        .map_err(io::Error::other)?;
    while let Some(chunk) = engine.poll_transmit() {
        stream.write_all(&chunk).await?;
    }
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if let Some(reply) = engine.poll_reply() {
            if reply.xid == xid {
                return Ok(reply.status);
            }
            continue;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the reply",
            ));
        }
        engine
            .handle_input_bytes(Bytes::copy_from_slice(&buf[..n]))
            .map_err(io::Error::other)?;
    }
}
