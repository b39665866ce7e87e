//! Filesystem errors: one variant per NFSv3 error kind (RFC 1813 nfsstat3).

use crate::store::StoreError;

/// A filesystem error. The NFS adapter maps each variant to its `nfsstat3`.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// NFS3ERR_PERM: not owner / operation not permitted.
    #[error("operation not permitted")]
    Perm,
    /// NFS3ERR_NOENT.
    #[error("no such file or directory")]
    NoEnt,
    /// NFS3ERR_IO: a hard error (with detail for the log).
    #[error("I/O error: {0}")]
    Io(String),
    /// NFS3ERR_NXIO.
    #[error("no such device or address")]
    NxIo,
    /// NFS3ERR_ACCES.
    #[error("permission denied")]
    Access,
    /// NFS3ERR_EXIST.
    #[error("file exists")]
    Exist,
    /// NFS3ERR_XDEV.
    #[error("cross-device link")]
    XDev,
    /// NFS3ERR_NODEV.
    #[error("no such device")]
    NoDev,
    /// NFS3ERR_NOTDIR.
    #[error("not a directory")]
    NotDir,
    /// NFS3ERR_ISDIR.
    #[error("is a directory")]
    IsDir,
    /// NFS3ERR_INVAL.
    #[error("invalid argument")]
    Inval,
    /// NFS3ERR_FBIG.
    #[error("file too large")]
    FBig,
    /// NFS3ERR_NOSPC.
    #[error("no space left")]
    NoSpc,
    /// NFS3ERR_ROFS.
    #[error("read-only filesystem")]
    RoFs,
    /// NFS3ERR_MLINK.
    #[error("too many links")]
    MLink,
    /// NFS3ERR_NAMETOOLONG.
    #[error("name too long")]
    NameTooLong,
    /// NFS3ERR_NOTEMPTY.
    #[error("directory not empty")]
    NotEmpty,
    /// NFS3ERR_DQUOT.
    #[error("quota exceeded")]
    DQuot,
    /// NFS3ERR_STALE: the object no longer exists.
    #[error("stale file handle")]
    Stale,
    /// NFS3ERR_REMOTE.
    #[error("too many levels of remote in path")]
    Remote,
    /// NFS3ERR_BADHANDLE: the handle is not one of ours.
    #[error("bad file handle")]
    BadHandle,
    /// NFS3ERR_NOT_SYNC: SETATTR guard mismatch.
    #[error("ctime guard mismatch")]
    NotSync,
    /// NFS3ERR_BAD_COOKIE.
    #[error("bad readdir cookie")]
    BadCookie,
    /// NFS3ERR_NOTSUPP.
    #[error("operation not supported")]
    NotSupp,
    /// NFS3ERR_TOOSMALL.
    #[error("buffer too small")]
    TooSmall,
    /// NFS3ERR_SERVERFAULT (with detail for the log).
    #[error("server fault: {0}")]
    ServerFault(String),
    /// NFS3ERR_BADTYPE.
    #[error("bad object type")]
    BadType,
    /// NFS3ERR_JUKEBOX: try again later.
    #[error("try again later")]
    Jukebox,
    /// A storage error (maps to NFS3ERR_IO).
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl FsError {
    /// Whether the adapter should answer NFS3ERR_IO.
    pub fn is_io(&self) -> bool {
        matches!(self, FsError::Io(_) | FsError::Store(_)) && !self.is_retry_later()
    }

    /// Whether the object store did not answer in time (NFS3ERR_JUKEBOX: try again later):
    /// nothing was done ([`StoreError::Unavailable`]), or the change was made and is not yet
    /// confirmed durable ([`StoreError::NotYetDurable`]).
    pub fn is_retry_later(&self) -> bool {
        matches!(
            self,
            FsError::Jukebox
                | FsError::Store(StoreError::Unavailable(_) | StoreError::NotYetDurable(_))
        )
    }

    /// The write a changing operation made and could not confirm durable in time, if that
    /// is why it failed.
    pub fn not_yet_durable(&self) -> Option<crate::store::WriteTicket> {
        match self {
            FsError::Store(StoreError::NotYetDurable(t)) => Some(*t),
            _ => None,
        }
    }
}

/// Result alias of the filesystem layer.
pub type FsResult<T> = Result<T, FsError>;
