//! What the runtime bounds so that misbehaving or hostile clients cannot exhaust the server:
//! connections, how long a connection may sit idle or stall, how much reply data may wait for
//! slow readers, and how long a shutdown may take.
use std::time::Duration;

/// Connections accepted at once when `--max-connections` is not given (NFS clients use one
/// connection per mount, `nconnect` up to 16).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The runtime's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, over all cores; more are closed as soon as accepted, without
    /// touching the others.
    pub max_connections: usize,
    /// A connection with nothing in flight, nothing to send and no partial record is closed
    /// after this long (clients reconnect transparently; knfsd uses 6 minutes).
    pub idle_timeout: Duration,
    /// A record that stopped half way (slowloris) is given this long from its first byte.
    pub record_timeout: Duration,
    /// A reply write that makes no progress (a client that stopped reading) for this long
    /// closes the connection.
    pub write_timeout: Duration,
    /// After a stop signal, connections get this long to finish the calls they have in flight
    /// and send the replies; what is left then is closed.
    pub drain_timeout: Duration,
    /// Reply bytes one connection may hold (being produced, by the service's estimate, or
    /// encoded and not yet written); beyond it the connection reads no further calls.
    pub connection_reply_bytes: usize,
    /// The same over all the connections of one core.
    pub core_reply_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(360),
            record_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
            connection_reply_bytes: 32 << 20,
            core_reply_bytes: 64 << 20,
        }
    }
}
