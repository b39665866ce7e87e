//! Calls a server makes to its clients (a lock manager's GRANTED callbacks, a status monitor's
//! restart notifications): what to call, and the [`Outbox`] that delivers them. The caller
//! describes the call; whoever implements [`Outbox`] finds the program's port through the
//! host's portmapper, sends it and reports the reply. No IO here.

use std::net::IpAddr;

use super::rpc::ReplyStatus;

/// One call to a program on another host.
pub struct OutboundCall {
    /// The host to call.
    pub to: IpAddr,
    /// The local address to call from (clients check where callbacks come from); `None`: any.
    pub from: Option<IpAddr>,
    pub prog: u32,
    pub vers: u32,
    pub procedure: u32,
    /// The encoded arguments.
    pub args: Vec<u8>,
    /// Told what became of the call, exactly once, on the outbox's thread.
    pub done: Box<dyn FnOnce(Result<ReplyStatus, OutboundError>) + Send>,
}

impl std::fmt::Debug for OutboundCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundCall")
            .field("to", &self.to)
            .field("from", &self.from)
            .field("prog", &self.prog)
            .field("vers", &self.vers)
            .field("procedure", &self.procedure)
            .field("args", &self.args.len())
            .finish()
    }
}

/// Why an outbound call got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The host's portmapper does not know the program (or could not be asked).
    #[error("program {prog} version {vers} is not registered on {host}: {why}")]
    NotRegistered {
        host: IpAddr,
        prog: u32,
        vers: u32,
        why: String,
    },
    /// Connecting, sending or waiting failed.
    #[error("call to {host}: {why}")]
    Transport { host: IpAddr, why: String },
}

/// Delivers outbound calls.
pub trait Outbox: Send + Sync {
    /// Queues `call`; its `done` runs once the call is answered or has failed.
    fn send(&self, call: OutboundCall);
}

/// An outbox that fails every call at once (a server with nobody to call back, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOutbox;

impl Outbox for NoOutbox {
    fn send(&self, call: OutboundCall) {
        (call.done)(Err(OutboundError::Transport {
            host: call.to,
            why: "no outbound calls on this server".into(),
        }));
    }
}
