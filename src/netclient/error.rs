//! Errors of the blocking client.

use crate::proto::connection::ConnectionError;
use crate::proto::mount::Mountstat3;
use crate::proto::nfs3::{DecodeError, Nfsstat3};
use crate::proto::record::RecordError;
use crate::proto::rpc::ReplyStatus;

/// Why a call (or the connection) failed. Nothing a server sends makes the client panic: every
/// malformed or unexpected answer ends up here.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed, or a read timed out (`WouldBlock` / `TimedOut`).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The server sent bytes that are not well-formed RPC replies; the connection is unusable.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// An outgoing call could not be framed (over 2 GiB).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The RPC layer did not accept the call (PROG_UNAVAIL, GARBAGE_ARGS, AUTH_ERROR, ...).
    #[error("call rejected by the RPC layer: {0:?}")]
    Rpc(ReplyStatus),
    /// The results of an accepted call do not decode.
    #[error("undecodable results of {procedure}: {source}")]
    Decode {
        procedure: &'static str,
        #[source]
        source: DecodeError,
    },
    /// An NFS procedure answered an error status.
    #[error("{procedure}: {status:?}")]
    Nfs {
        procedure: &'static str,
        status: Nfsstat3,
    },
    /// MNT answered an error status.
    #[error("MNT: {0:?}")]
    Mount(Mountstat3),
    /// A reply that decodes but contradicts the protocol or the request (e.g. CREATE without a
    /// file handle, READ whose count disagrees with its data).
    #[error("protocol violation: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The NFS status, when the error is an NFS error status.
    pub fn nfs_status(&self) -> Option<Nfsstat3> {
        match self {
            ClientError::Nfs { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the connection can still be used after this error (the call failed, not the
    /// transport).
    pub fn is_call_error(&self) -> bool {
        matches!(
            self,
            ClientError::Rpc(_)
                | ClientError::Decode { .. }
                | ClientError::Nfs { .. }
                | ClientError::Mount(_)
                | ClientError::Protocol(_)
        )
    }
}
