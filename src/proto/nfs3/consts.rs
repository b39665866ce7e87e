//! Program numbers, versions, procedure numbers and protocol constants (RFC 1813, RFC 1833).

/// NFS program number.
pub const NFS_PROGRAM: u32 = 100_003;
/// The NFS version served.
pub const NFS_V3: u32 = 3;
/// Highest NFSv3 procedure number (COMMIT).
pub const NFS3_MAX_PROC: u32 = 21;

/// MOUNT program number.
pub const MOUNT_PROGRAM: u32 = 100_005;
/// The MOUNT version served (the one that goes with NFSv3).
pub const MOUNT_V3: u32 = 3;
/// Highest MOUNT v3 procedure number (EXPORT).
pub const MOUNT3_MAX_PROC: u32 = 5;

/// Portmapper (rpcbind) program number.
pub const PORTMAP_PROGRAM: u32 = 100_000;
/// The portmap version served (v2, RFC 1833 section 3).
pub const PORTMAP_V2: u32 = 2;
/// Highest portmap v2 procedure number (CALLIT, which is not served: PROC_UNAVAIL).
pub const PORTMAP2_MAX_PROC: u32 = 5;
/// The well-known portmapper port.
pub const PORTMAP_PORT: u32 = 111;

/// NFSACL program number. Not served: the Linux client probes it on the NFS port and must get
/// PROG_UNAVAIL (silence hangs a hard mount).
pub const NFSACL_PROGRAM: u32 = 100_227;

/// Largest NFSv3 file handle (`NFS3_FHSIZE`).
pub const NFS3_FHSIZE: usize = 64;
/// Size of `cookieverf3`.
pub const NFS3_COOKIEVERFSIZE: usize = 8;
/// Size of `createverf3`.
pub const NFS3_CREATEVERFSIZE: usize = 8;
/// Size of `writeverf3`.
pub const NFS3_WRITEVERFSIZE: usize = 8;

/// Bound applied when decoding a `filename3` (`string<>`, unbounded in the RFC). Longer names
/// are GARBAGE_ARGS; names between [`NFS3_NAME_MAX`] and this bound decode, and the filesystem
/// answers NFS3ERR_NAMETOOLONG.
pub const NFS3_NAME_DECODE_MAX: usize = 1024;
/// Longest name the filesystem accepts (what PATHCONF advertises as `name_max`).
pub const NFS3_NAME_MAX: usize = 255;
/// Bound applied when decoding an `nfspath3` (symlink target), as Linux's `PATH_MAX`.
pub const NFS3_PATH_DECODE_MAX: usize = 4096;

/// NFSv3 procedure numbers.
pub mod proc3 {
    pub const NULL: u32 = 0;
    pub const GETATTR: u32 = 1;
    pub const SETATTR: u32 = 2;
    pub const LOOKUP: u32 = 3;
    pub const ACCESS: u32 = 4;
    pub const READLINK: u32 = 5;
    pub const READ: u32 = 6;
    pub const WRITE: u32 = 7;
    pub const CREATE: u32 = 8;
    pub const MKDIR: u32 = 9;
    pub const SYMLINK: u32 = 10;
    pub const MKNOD: u32 = 11;
    pub const REMOVE: u32 = 12;
    pub const RMDIR: u32 = 13;
    pub const RENAME: u32 = 14;
    pub const LINK: u32 = 15;
    pub const READDIR: u32 = 16;
    pub const READDIRPLUS: u32 = 17;
    pub const FSSTAT: u32 = 18;
    pub const FSINFO: u32 = 19;
    pub const PATHCONF: u32 = 20;
    pub const COMMIT: u32 = 21;

    /// Procedure names, indexed by number (for logs and metrics).
    pub const NAMES: [&str; 22] = [
        "NULL",
        "GETATTR",
        "SETATTR",
        "LOOKUP",
        "ACCESS",
        "READLINK",
        "READ",
        "WRITE",
        "CREATE",
        "MKDIR",
        "SYMLINK",
        "MKNOD",
        "REMOVE",
        "RMDIR",
        "RENAME",
        "LINK",
        "READDIR",
        "READDIRPLUS",
        "FSSTAT",
        "FSINFO",
        "PATHCONF",
        "COMMIT",
    ];

    /// The name of procedure `proc`, or `"UNKNOWN"`.
    pub fn name(proc: u32) -> &'static str {
        NAMES.get(proc as usize).copied().unwrap_or("UNKNOWN")
    }
}

/// ACCESS3 permission bits.
pub mod access3 {
    pub const READ: u32 = 0x0001;
    pub const LOOKUP: u32 = 0x0002;
    pub const MODIFY: u32 = 0x0004;
    pub const EXTEND: u32 = 0x0008;
    pub const DELETE: u32 = 0x0010;
    pub const EXECUTE: u32 = 0x0020;
    /// Every bit defined by RFC 1813.
    pub const ALL: u32 = READ | LOOKUP | MODIFY | EXTEND | DELETE | EXECUTE;
}

/// FSINFO3 `properties` bits.
pub mod fsf3 {
    pub const LINK: u32 = 0x0001;
    pub const SYMLINK: u32 = 0x0002;
    pub const HOMOGENEOUS: u32 = 0x0008;
    pub const CANSETTIME: u32 = 0x0010;
}

/// Mode bits of `mode3` (RFC 1813 section 2.5, same values as POSIX).
pub mod mode3 {
    pub const SUID: u32 = 0o4000;
    pub const SGID: u32 = 0o2000;
    pub const SVTX: u32 = 0o1000;
    pub const RUSR: u32 = 0o400;
    pub const WUSR: u32 = 0o200;
    pub const XUSR: u32 = 0o100;
    pub const RGRP: u32 = 0o040;
    pub const WGRP: u32 = 0o020;
    pub const XGRP: u32 = 0o010;
    pub const ROTH: u32 = 0o004;
    pub const WOTH: u32 = 0o002;
    pub const XOTH: u32 = 0o001;
}
