//! [`Service`]: what the runtime needs from the programs it serves.
//!
//! The runtime owns sockets, cores and the messages between them; a service owns what calls
//! mean. It is shared by all cores (`Send + Sync`) and keeps per-core state of its own
//! ([`Service::Core`]), made on each core when the core starts, so that state may hold what
//! cannot leave its thread (an io_uring file, `Rc`s).
use std::future::Future;
use std::net::SocketAddr;

use crate::proto::connection::{Call, CallReply};

/// The transport a call came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}

/// Where a call came from, and where to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The caller's address.
    pub remote: SocketAddr,
    /// The server address the call was sent to (rpcbind answers with it; callbacks go out
    /// from it).
    pub local: SocketAddr,
    pub transport: Transport,
}

impl Peer {
    pub fn tcp(remote: SocketAddr, local: SocketAddr) -> Peer {
        Peer {
            remote,
            local,
            transport: Transport::Tcp,
        }
    }
}

/// A set of RPC programs served by the runtime. The programs each listener admits are the
/// listener's ([`super::Listener`]); the service answers what gets through.
pub trait Service: Send + Sync + 'static {
    /// What one core keeps for the calls it runs.
    type Core: 'static;

    /// Makes core `core`'s state, on that core.
    fn start_core(&self, core: usize) -> impl Future<Output = Self::Core>;

    /// The key whose owner core must run `call` (the runtime maps keys to cores); `None`: any
    /// core may, and the core that read the call runs it.
    fn route(&self, call: &Call) -> Option<u64>;

    /// The most bytes `call`'s reply may take: the runtime holds that much of its reply budget
    /// for the call while it runs (see `Limits::connection_reply_bytes`).
    fn reply_size_hint(&self, call: &Call) -> usize {
        let _ = call;
        4 << 10
    }

    /// Runs `call` from `peer` on this core and produces its reply. A panic in it is caught by
    /// the runtime (the call gets SYSTEM_ERR): what the call holds must be released on unwind.
    fn handle(&self, core: &Self::Core, call: Call, peer: Peer) -> impl Future<Output = CallReply>;

    /// The core is stopping: no call runs on it any more.
    fn stop_core(&self, core: &Self::Core, core_id: usize);
}
