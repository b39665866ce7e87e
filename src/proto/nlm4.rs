//! Network Lock Manager version 4 (program 100021): the byte-range locks of NFSv3 clients.
//!
//! Layouts from the Open Group's "Protocols for Interworking: XNFS, Version 3W" (chapter 10,
//! `nlm_prot.x`) and RFC 1813 appendix II. Version 4 is the one that goes with NFSv3: 64-bit
//! offsets and lengths, file handles as `netobj`.
//!
//! ```text
//! nlm4_lock:     caller_name<1024> | fh netobj | oh netobj | svid int32 | l_offset u64 | l_len u64
//! nlm4_lockargs: cookie netobj | block bool | exclusive bool | alock nlm4_lock | reclaim bool | state int32
//! nlm4_res:      cookie netobj | stat nlm4_stats
//! ```
//!
//! Besides the synchronous procedures there are asynchronous twins: a `*_MSG` call (answered with
//! an empty reply) whose result comes back later as a separate `*_RES` call to the caller's lock
//! manager. Servers send GRANTED (or GRANTED_MSG) to a client whose blocked lock they granted.
//! Everything borrows from the decoded input; `l_len` 0 means "to the end of the file".

use crate::proto::xdr::{self, DecodeError, XdrDecode, XdrEncode, XdrResult, XdrSink, XdrWrite};

use super::nfs3::types::xdr_enum;

/// NLM program number.
pub const PROGRAM: u32 = 100_021;
/// The NLM version served (the one for NFSv3).
pub const VERSION: u32 = 4;
/// Highest NLM v4 procedure number (FREE_ALL).
pub const MAX_PROC: u32 = 23;
/// Longest `caller_name` and `nlm4_notify.name` (`LM_MAXSTRLEN`).
pub const LM_MAXSTRLEN: usize = 1024;
/// Longest `netobj` (`MAXNETOBJ_SZ`): cookies, file handles, owner handles.
pub const MAXNETOBJ_SZ: usize = 1024;

/// NLM v4 procedure numbers. 16 to 19 are not defined by the protocol (Linux uses 16 privately
/// between its statd and its kernel lock manager).
pub mod nlmproc4 {
    pub const NULL: u32 = 0;
    pub const TEST: u32 = 1;
    pub const LOCK: u32 = 2;
    pub const CANCEL: u32 = 3;
    pub const UNLOCK: u32 = 4;
    pub const GRANTED: u32 = 5;
    pub const TEST_MSG: u32 = 6;
    pub const LOCK_MSG: u32 = 7;
    pub const CANCEL_MSG: u32 = 8;
    pub const UNLOCK_MSG: u32 = 9;
    pub const GRANTED_MSG: u32 = 10;
    pub const TEST_RES: u32 = 11;
    pub const LOCK_RES: u32 = 12;
    pub const CANCEL_RES: u32 = 13;
    pub const UNLOCK_RES: u32 = 14;
    pub const GRANTED_RES: u32 = 15;
    pub const SHARE: u32 = 20;
    pub const UNSHARE: u32 = 21;
    pub const NM_LOCK: u32 = 22;
    pub const FREE_ALL: u32 = 23;

    /// The name of procedure `proc` (for logs).
    pub fn name(proc: u32) -> &'static str {
        match proc {
            NULL => "NULL",
            TEST => "TEST",
            LOCK => "LOCK",
            CANCEL => "CANCEL",
            UNLOCK => "UNLOCK",
            GRANTED => "GRANTED",
            TEST_MSG => "TEST_MSG",
            LOCK_MSG => "LOCK_MSG",
            CANCEL_MSG => "CANCEL_MSG",
            UNLOCK_MSG => "UNLOCK_MSG",
            GRANTED_MSG => "GRANTED_MSG",
            TEST_RES => "TEST_RES",
            LOCK_RES => "LOCK_RES",
            CANCEL_RES => "CANCEL_RES",
            UNLOCK_RES => "UNLOCK_RES",
            GRANTED_RES => "GRANTED_RES",
            SHARE => "SHARE",
            UNSHARE => "UNSHARE",
            NM_LOCK => "NM_LOCK",
            FREE_ALL => "FREE_ALL",
            _ => "UNKNOWN",
        }
    }
}

xdr_enum! {
    /// `nlm4_stats`.
    pub enum Nlm4Stats {
        Granted = 0,
        Denied = 1,
        DeniedNolocks = 2,
        Blocked = 3,
        DeniedGracePeriod = 4,
        Deadlck = 5,
        Rofs = 6,
        StaleFh = 7,
        Fbig = 8,
        Failed = 9,
    }
}

xdr_enum! {
    /// `fsh4_mode`: what a DOS share reservation denies to others.
    pub enum Fsh4Mode {
        DenyNone = 0,
        DenyRead = 1,
        DenyWrite = 2,
        DenyReadWrite = 3,
    }
}

xdr_enum! {
    /// `fsh4_access`: what a DOS share reservation opens the file for.
    pub enum Fsh4Access {
        None = 0,
        Read = 1,
        Write = 2,
        ReadWrite = 3,
    }
}

fn netobj(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::opaque_var(MAXNETOBJ_SZ)(input)
}

fn name(input: &[u8]) -> XdrResult<'_, &[u8]> {
    xdr::string(LM_MAXSTRLEN)(input)
}

/// `nlm4_lock`: who locks which range of which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4Lock<'a> {
    /// The client's host name (Linux: its `uname -n`).
    pub caller_name: &'a [u8],
    /// The NFS file handle.
    pub fh: &'a [u8],
    /// The owner handle: opaque to the server, constant per lock owner.
    pub oh: &'a [u8],
    /// The lock owner on the client (Linux: a per-process number).
    pub svid: i32,
    pub l_offset: u64,
    /// 0: to the end of the file.
    pub l_len: u64,
}

impl XdrEncode for Nlm4Lock<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.caller_name);
        out.put_xdr_opaque_var(self.fh);
        out.put_xdr_opaque_var(self.oh);
        out.put_xdr_i32(self.svid);
        out.put_xdr_u64(self.l_offset);
        out.put_xdr_u64(self.l_len);
    }
}

impl<'a> XdrDecode<'a> for Nlm4Lock<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, caller_name) = name(input)?;
        let (input, fh) = netobj(input)?;
        let (input, oh) = netobj(input)?;
        let (input, svid) = xdr::i32(input)?;
        let (input, l_offset) = xdr::u64(input)?;
        let (input, l_len) = xdr::u64(input)?;
        Ok((
            input,
            Nlm4Lock {
                caller_name,
                fh,
                oh,
                svid,
                l_offset,
                l_len,
            },
        ))
    }
}

/// `nlm4_holder`: the lock that makes a TEST fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4Holder<'a> {
    pub exclusive: bool,
    pub svid: i32,
    pub oh: &'a [u8],
    pub l_offset: u64,
    pub l_len: u64,
}

impl XdrEncode for Nlm4Holder<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_bool(self.exclusive);
        out.put_xdr_i32(self.svid);
        out.put_xdr_opaque_var(self.oh);
        out.put_xdr_u64(self.l_offset);
        out.put_xdr_u64(self.l_len);
    }
}

impl<'a> XdrDecode<'a> for Nlm4Holder<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, exclusive) = xdr::bool(input)?;
        let (input, svid) = xdr::i32(input)?;
        let (input, oh) = netobj(input)?;
        let (input, l_offset) = xdr::u64(input)?;
        let (input, l_len) = xdr::u64(input)?;
        Ok((
            input,
            Nlm4Holder {
                exclusive,
                svid,
                oh,
                l_offset,
                l_len,
            },
        ))
    }
}

/// `nlm4_testargs`: TEST, TEST_MSG, GRANTED and GRANTED_MSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4TestArgs<'a> {
    pub cookie: &'a [u8],
    pub exclusive: bool,
    pub alock: Nlm4Lock<'a>,
}

impl XdrEncode for Nlm4TestArgs<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        out.put_xdr_bool(self.exclusive);
        self.alock.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Nlm4TestArgs<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, exclusive) = xdr::bool(input)?;
        let (input, alock) = Nlm4Lock::decode(input)?;
        Ok((
            input,
            Nlm4TestArgs {
                cookie,
                exclusive,
                alock,
            },
        ))
    }
}

/// `nlm4_lockargs`: LOCK, LOCK_MSG and NM_LOCK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4LockArgs<'a> {
    pub cookie: &'a [u8],
    /// Wait for a conflicting lock to go away (the server answers BLOCKED and calls back
    /// GRANTED later).
    pub block: bool,
    pub exclusive: bool,
    pub alock: Nlm4Lock<'a>,
    /// A lock the client held before the server restarted (only during the grace period).
    pub reclaim: bool,
    /// The client's NSM state number.
    pub state: i32,
}

impl XdrEncode for Nlm4LockArgs<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        out.put_xdr_bool(self.block);
        out.put_xdr_bool(self.exclusive);
        self.alock.encode(out);
        out.put_xdr_bool(self.reclaim);
        out.put_xdr_i32(self.state);
    }
}

impl<'a> XdrDecode<'a> for Nlm4LockArgs<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, block) = xdr::bool(input)?;
        let (input, exclusive) = xdr::bool(input)?;
        let (input, alock) = Nlm4Lock::decode(input)?;
        let (input, reclaim) = xdr::bool(input)?;
        let (input, state) = xdr::i32(input)?;
        Ok((
            input,
            Nlm4LockArgs {
                cookie,
                block,
                exclusive,
                alock,
                reclaim,
                state,
            },
        ))
    }
}

/// `nlm4_cancargs`: CANCEL and CANCEL_MSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4CancArgs<'a> {
    pub cookie: &'a [u8],
    pub block: bool,
    pub exclusive: bool,
    pub alock: Nlm4Lock<'a>,
}

impl XdrEncode for Nlm4CancArgs<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        out.put_xdr_bool(self.block);
        out.put_xdr_bool(self.exclusive);
        self.alock.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Nlm4CancArgs<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, block) = xdr::bool(input)?;
        let (input, exclusive) = xdr::bool(input)?;
        let (input, alock) = Nlm4Lock::decode(input)?;
        Ok((
            input,
            Nlm4CancArgs {
                cookie,
                block,
                exclusive,
                alock,
            },
        ))
    }
}

/// `nlm4_unlockargs`: UNLOCK and UNLOCK_MSG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4UnlockArgs<'a> {
    pub cookie: &'a [u8],
    pub alock: Nlm4Lock<'a>,
}

impl XdrEncode for Nlm4UnlockArgs<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        self.alock.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Nlm4UnlockArgs<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, alock) = Nlm4Lock::decode(input)?;
        Ok((input, Nlm4UnlockArgs { cookie, alock }))
    }
}

/// `nlm4_share`: a DOS-style share reservation on a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4Share<'a> {
    pub caller_name: &'a [u8],
    pub fh: &'a [u8],
    pub oh: &'a [u8],
    pub mode: Fsh4Mode,
    pub access: Fsh4Access,
}

impl XdrEncode for Nlm4Share<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.caller_name);
        out.put_xdr_opaque_var(self.fh);
        out.put_xdr_opaque_var(self.oh);
        self.mode.encode(out);
        self.access.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Nlm4Share<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, caller_name) = name(input)?;
        let (input, fh) = netobj(input)?;
        let (input, oh) = netobj(input)?;
        let (input, mode) = Fsh4Mode::decode(input)?;
        let (input, access) = Fsh4Access::decode(input)?;
        Ok((
            input,
            Nlm4Share {
                caller_name,
                fh,
                oh,
                mode,
                access,
            },
        ))
    }
}

/// `nlm4_shareargs`: SHARE and UNSHARE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4ShareArgs<'a> {
    pub cookie: &'a [u8],
    pub share: Nlm4Share<'a>,
    pub reclaim: bool,
}

impl XdrEncode for Nlm4ShareArgs<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        self.share.encode(out);
        out.put_xdr_bool(self.reclaim);
    }
}

impl<'a> XdrDecode<'a> for Nlm4ShareArgs<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, share) = Nlm4Share::decode(input)?;
        let (input, reclaim) = xdr::bool(input)?;
        Ok((
            input,
            Nlm4ShareArgs {
                cookie,
                share,
                reclaim,
            },
        ))
    }
}

/// `nlm4_notify`: FREE_ALL, from a client that restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4Notify<'a> {
    pub name: &'a [u8],
    pub state: i32,
}

impl XdrEncode for Nlm4Notify<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.name);
        out.put_xdr_i32(self.state);
    }
}

impl<'a> XdrDecode<'a> for Nlm4Notify<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, name) = name(input)?;
        let (input, state) = xdr::i32(input)?;
        Ok((input, Nlm4Notify { name, state }))
    }
}

/// `nlm4_res`: the result of LOCK, CANCEL, UNLOCK, GRANTED and NM_LOCK, and the argument of
/// their `*_RES` callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4Res<'a> {
    pub cookie: &'a [u8],
    pub stat: Nlm4Stats,
}

impl XdrEncode for Nlm4Res<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        self.stat.encode(out);
    }
}

impl<'a> XdrDecode<'a> for Nlm4Res<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, stat) = Nlm4Stats::decode(input)?;
        Ok((input, Nlm4Res { cookie, stat }))
    }
}

/// `nlm4_testrply`: DENIED carries the conflicting lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nlm4TestRply<'a> {
    Denied(Nlm4Holder<'a>),
    /// Any other status (never [`Nlm4Stats::Denied`]: encoded as FAILED if it is).
    Other(Nlm4Stats),
}

impl Nlm4TestRply<'_> {
    pub fn stat(&self) -> Nlm4Stats {
        match self {
            Nlm4TestRply::Denied(_) => Nlm4Stats::Denied,
            Nlm4TestRply::Other(Nlm4Stats::Denied) => Nlm4Stats::Failed,
            Nlm4TestRply::Other(s) => *s,
        }
    }
}

/// `nlm4_testres`: the result of TEST, and the argument of TEST_RES.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4TestRes<'a> {
    pub cookie: &'a [u8],
    pub stat: Nlm4TestRply<'a>,
}

impl XdrEncode for Nlm4TestRes<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        self.stat.stat().encode(out);
        if let Nlm4TestRply::Denied(holder) = &self.stat {
            holder.encode(out);
        }
    }
}

impl<'a> XdrDecode<'a> for Nlm4TestRes<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, stat) = Nlm4Stats::decode(input)?;
        let (input, stat) = match stat {
            Nlm4Stats::Denied => {
                let (input, holder) = Nlm4Holder::decode(input)?;
                (input, Nlm4TestRply::Denied(holder))
            }
            other => (input, Nlm4TestRply::Other(other)),
        };
        Ok((input, Nlm4TestRes { cookie, stat }))
    }
}

/// `nlm4_shareres`: the result of SHARE and UNSHARE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nlm4ShareRes<'a> {
    pub cookie: &'a [u8],
    pub stat: Nlm4Stats,
    pub sequence: i32,
}

impl XdrEncode for Nlm4ShareRes<'_> {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_var(self.cookie);
        self.stat.encode(out);
        out.put_xdr_i32(self.sequence);
    }
}

impl<'a> XdrDecode<'a> for Nlm4ShareRes<'a> {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (input, cookie) = netobj(input)?;
        let (input, stat) = Nlm4Stats::decode(input)?;
        let (input, sequence) = xdr::i32(input)?;
        Ok((
            input,
            Nlm4ShareRes {
                cookie,
                stat,
                sequence,
            },
        ))
    }
}

/// One decoded NLM v4 call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nlm4Call<'a> {
    Null,
    Test(Nlm4TestArgs<'a>),
    Lock(Nlm4LockArgs<'a>),
    Cancel(Nlm4CancArgs<'a>),
    Unlock(Nlm4UnlockArgs<'a>),
    /// Server to client: a blocked lock was granted.
    Granted(Nlm4TestArgs<'a>),
    TestMsg(Nlm4TestArgs<'a>),
    LockMsg(Nlm4LockArgs<'a>),
    CancelMsg(Nlm4CancArgs<'a>),
    UnlockMsg(Nlm4UnlockArgs<'a>),
    GrantedMsg(Nlm4TestArgs<'a>),
    TestRes(Nlm4TestRes<'a>),
    LockRes(Nlm4Res<'a>),
    CancelRes(Nlm4Res<'a>),
    UnlockRes(Nlm4Res<'a>),
    /// Client to server: what became of a GRANTED_MSG.
    GrantedRes(Nlm4Res<'a>),
    Share(Nlm4ShareArgs<'a>),
    Unshare(Nlm4ShareArgs<'a>),
    /// LOCK without status monitoring.
    NmLock(Nlm4LockArgs<'a>),
    FreeAll(Nlm4Notify<'a>),
}

impl<'a> Nlm4Call<'a> {
    /// Decodes the arguments of procedure `proc`. Procedures 16–19 and those above 23 are
    /// [`DecodeError::UnknownProcedure`] (PROC_UNAVAIL); trailing bytes are ignored.
    pub fn decode(proc: u32, args: &'a [u8]) -> Result<Nlm4Call<'a>, DecodeError> {
        use nlmproc4::*;
        fn d<'a, T: XdrDecode<'a>>(args: &'a [u8]) -> Result<T, DecodeError> {
            xdr::decode_prefix(args)
        }
        Ok(match proc {
            NULL => Nlm4Call::Null,
            TEST => Nlm4Call::Test(d(args)?),
            LOCK => Nlm4Call::Lock(d(args)?),
            CANCEL => Nlm4Call::Cancel(d(args)?),
            UNLOCK => Nlm4Call::Unlock(d(args)?),
            GRANTED => Nlm4Call::Granted(d(args)?),
            TEST_MSG => Nlm4Call::TestMsg(d(args)?),
            LOCK_MSG => Nlm4Call::LockMsg(d(args)?),
            CANCEL_MSG => Nlm4Call::CancelMsg(d(args)?),
            UNLOCK_MSG => Nlm4Call::UnlockMsg(d(args)?),
            GRANTED_MSG => Nlm4Call::GrantedMsg(d(args)?),
            TEST_RES => Nlm4Call::TestRes(d(args)?),
            LOCK_RES => Nlm4Call::LockRes(d(args)?),
            CANCEL_RES => Nlm4Call::CancelRes(d(args)?),
            UNLOCK_RES => Nlm4Call::UnlockRes(d(args)?),
            GRANTED_RES => Nlm4Call::GrantedRes(d(args)?),
            SHARE => Nlm4Call::Share(d(args)?),
            UNSHARE => Nlm4Call::Unshare(d(args)?),
            NM_LOCK => Nlm4Call::NmLock(d(args)?),
            FREE_ALL => Nlm4Call::FreeAll(d(args)?),
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }

    pub fn proc_num(&self) -> u32 {
        use nlmproc4::*;
        match self {
            Nlm4Call::Null => NULL,
            Nlm4Call::Test(_) => TEST,
            Nlm4Call::Lock(_) => LOCK,
            Nlm4Call::Cancel(_) => CANCEL,
            Nlm4Call::Unlock(_) => UNLOCK,
            Nlm4Call::Granted(_) => GRANTED,
            Nlm4Call::TestMsg(_) => TEST_MSG,
            Nlm4Call::LockMsg(_) => LOCK_MSG,
            Nlm4Call::CancelMsg(_) => CANCEL_MSG,
            Nlm4Call::UnlockMsg(_) => UNLOCK_MSG,
            Nlm4Call::GrantedMsg(_) => GRANTED_MSG,
            Nlm4Call::TestRes(_) => TEST_RES,
            Nlm4Call::LockRes(_) => LOCK_RES,
            Nlm4Call::CancelRes(_) => CANCEL_RES,
            Nlm4Call::UnlockRes(_) => UNLOCK_RES,
            Nlm4Call::GrantedRes(_) => GRANTED_RES,
            Nlm4Call::Share(_) => SHARE,
            Nlm4Call::Unshare(_) => UNSHARE,
            Nlm4Call::NmLock(_) => NM_LOCK,
            Nlm4Call::FreeAll(_) => FREE_ALL,
        }
    }

    /// The file handle the call is about, if it names one (every lock and share procedure).
    pub fn file_handle(&self) -> Option<&'a [u8]> {
        match self {
            Nlm4Call::Test(a)
            | Nlm4Call::Granted(a)
            | Nlm4Call::TestMsg(a)
            | Nlm4Call::GrantedMsg(a) => Some(a.alock.fh),
            Nlm4Call::Lock(a) | Nlm4Call::LockMsg(a) | Nlm4Call::NmLock(a) => Some(a.alock.fh),
            Nlm4Call::Cancel(a) | Nlm4Call::CancelMsg(a) => Some(a.alock.fh),
            Nlm4Call::Unlock(a) | Nlm4Call::UnlockMsg(a) => Some(a.alock.fh),
            Nlm4Call::Share(a) | Nlm4Call::Unshare(a) => Some(a.share.fh),
            Nlm4Call::Null
            | Nlm4Call::TestRes(_)
            | Nlm4Call::LockRes(_)
            | Nlm4Call::CancelRes(_)
            | Nlm4Call::UnlockRes(_)
            | Nlm4Call::GrantedRes(_)
            | Nlm4Call::FreeAll(_) => None,
        }
    }
}

/// Encodes the argument body (client mode, and a server's callbacks).
impl XdrEncode for Nlm4Call<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Nlm4Call::Null => {}
            Nlm4Call::Test(a)
            | Nlm4Call::Granted(a)
            | Nlm4Call::TestMsg(a)
            | Nlm4Call::GrantedMsg(a) => a.encode(out),
            Nlm4Call::Lock(a) | Nlm4Call::LockMsg(a) | Nlm4Call::NmLock(a) => a.encode(out),
            Nlm4Call::Cancel(a) | Nlm4Call::CancelMsg(a) => a.encode(out),
            Nlm4Call::Unlock(a) | Nlm4Call::UnlockMsg(a) => a.encode(out),
            Nlm4Call::TestRes(r) => r.encode(out),
            Nlm4Call::LockRes(r)
            | Nlm4Call::CancelRes(r)
            | Nlm4Call::UnlockRes(r)
            | Nlm4Call::GrantedRes(r) => r.encode(out),
            Nlm4Call::Share(a) | Nlm4Call::Unshare(a) => a.encode(out),
            Nlm4Call::FreeAll(n) => n.encode(out),
        }
    }
}

/// The result of one NLM v4 procedure. The `*_MSG`, `*_RES` and FREE_ALL procedures return
/// nothing ([`Nlm4Reply::Void`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nlm4Reply<'a> {
    /// NULL and every procedure without results.
    Void,
    Test(Nlm4TestRes<'a>),
    /// LOCK, CANCEL, UNLOCK, GRANTED, NM_LOCK.
    Res(Nlm4Res<'a>),
    /// SHARE, UNSHARE.
    Share(Nlm4ShareRes<'a>),
}

impl XdrEncode for Nlm4Reply<'_> {
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Nlm4Reply::Void => {}
            Nlm4Reply::Test(r) => r.encode(out),
            Nlm4Reply::Res(r) => r.encode(out),
            Nlm4Reply::Share(r) => r.encode(out),
        }
    }
}

impl<'a> Nlm4Reply<'a> {
    /// Decodes the result of procedure `proc` (client mode). Trailing bytes are ignored.
    pub fn decode(proc: u32, body: &'a [u8]) -> Result<Nlm4Reply<'a>, DecodeError> {
        use nlmproc4::*;
        Ok(match proc {
            TEST => Nlm4Reply::Test(xdr::decode_prefix(body)?),
            LOCK | CANCEL | UNLOCK | GRANTED | NM_LOCK => Nlm4Reply::Res(xdr::decode_prefix(body)?),
            SHARE | UNSHARE => Nlm4Reply::Share(xdr::decode_prefix(body)?),
            NULL | TEST_MSG..=GRANTED_RES | FREE_ALL => Nlm4Reply::Void,
            other => return Err(DecodeError::UnknownProcedure(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::xdr::encode_to_vec;

    fn be(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// A LOCK call as the Linux client sends it for `fcntl(F_SETLKW, F_WRLCK, 0, EOF)`: cookie
    /// of 4 bytes, block, exclusive, caller "nfsvm", an 8-byte handle, oh "42@nfsvm", svid 42,
    /// offset 0, length 0 (to EOF), not a reclaim, NSM state 3. Word by word from
    /// `nlm4_lockargs`.
    fn lock_wire() -> Vec<u8> {
        let mut w = be(&[4]);
        w.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // cookie
        w.extend(be(&[1, 1])); // block, exclusive
        w.extend(be(&[5]));
        w.extend_from_slice(b"nfsvm\0\0\0"); // caller_name + 3 bytes of padding
        w.extend(be(&[8]));
        w.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]); // fh
        w.extend(be(&[8]));
        w.extend_from_slice(b"42@nfsvm"); // oh
        w.extend(be(&[42])); // svid
        w.extend(be(&[0, 0, 0, 0])); // l_offset, l_len (two hypers)
        w.extend(be(&[0, 3])); // reclaim, state
        w
    }

    #[test]
    fn lockargs_golden_bytes() {
        let wire = lock_wire();
        let call = Nlm4Call::decode(nlmproc4::LOCK, &wire).unwrap();
        let Nlm4Call::Lock(args) = call else {
            panic!("{call:?}")
        };
        assert_eq!(args.cookie, &[0xde, 0xad, 0xbe, 0xef]);
        assert!(args.block && args.exclusive && !args.reclaim);
        assert_eq!(args.state, 3);
        assert_eq!(args.alock.caller_name, b"nfsvm");
        assert_eq!(args.alock.fh, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(args.alock.oh, b"42@nfsvm");
        assert_eq!(
            (args.alock.svid, args.alock.l_offset, args.alock.l_len),
            (42, 0, 0)
        );
        assert_eq!(call.file_handle(), Some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]));
        assert_eq!(encode_to_vec(&call), wire);
        // NM_LOCK and LOCK_MSG take the same arguments.
        assert_eq!(
            Nlm4Call::decode(nlmproc4::NM_LOCK, &wire).unwrap(),
            Nlm4Call::NmLock(args)
        );
    }

    #[test]
    fn large_offsets_are_64_bit() {
        let lock = Nlm4Lock {
            caller_name: b"h",
            fh: b"",
            oh: b"",
            svid: -1,
            l_offset: 0x0123_4567_89ab_cdef,
            l_len: u64::MAX,
        };
        let wire = encode_to_vec(&lock);
        assert_eq!(
            &wire[wire.len() - 20..],
            &[
                0xff, 0xff, 0xff, 0xff, // svid -1
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, // l_offset
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // l_len
            ]
        );
        assert_eq!(xdr::decode_prefix::<Nlm4Lock>(&wire).unwrap(), lock);
    }

    #[test]
    fn testres_denied_carries_the_holder() {
        let res = Nlm4TestRes {
            cookie: &[9],
            stat: Nlm4TestRply::Denied(Nlm4Holder {
                exclusive: true,
                svid: 7,
                oh: b"ab",
                l_offset: 10,
                l_len: 5,
            }),
        };
        let wire = encode_to_vec(&Nlm4Reply::Test(res));
        let mut want = be(&[1]);
        want.extend_from_slice(&[9, 0, 0, 0]);
        want.extend(be(&[1, 1, 7, 2]));
        want.extend_from_slice(b"ab\0\0");
        want.extend(be(&[0, 10, 0, 5]));
        assert_eq!(wire, want);
        assert_eq!(
            Nlm4Reply::decode(nlmproc4::TEST, &wire).unwrap(),
            Nlm4Reply::Test(res)
        );
        // Any other status has no holder.
        let granted = Nlm4TestRes {
            cookie: &[],
            stat: Nlm4TestRply::Other(Nlm4Stats::Granted),
        };
        assert_eq!(encode_to_vec(&granted), be(&[0, 0]));
    }

    #[test]
    fn share_and_notify_golden_bytes() {
        let args = Nlm4ShareArgs {
            cookie: &[],
            share: Nlm4Share {
                caller_name: b"c",
                fh: &[7; 4],
                oh: b"o",
                mode: Fsh4Mode::DenyWrite,
                access: Fsh4Access::Read,
            },
            reclaim: true,
        };
        let mut want = be(&[0, 1]);
        want.extend_from_slice(b"c\0\0\0");
        want.extend(be(&[4, 0x0707_0707, 1]));
        want.extend_from_slice(b"o\0\0\0");
        want.extend(be(&[2, 1, 1]));
        assert_eq!(encode_to_vec(&args), want);
        assert_eq!(
            Nlm4Call::decode(nlmproc4::SHARE, &want).unwrap(),
            Nlm4Call::Share(args)
        );
        let res = Nlm4ShareRes {
            cookie: &[],
            stat: Nlm4Stats::DeniedGracePeriod,
            sequence: 0,
        };
        assert_eq!(encode_to_vec(&res), be(&[0, 4, 0]));

        let notify = be(&[2, 0x6869_0000, 5]);
        assert_eq!(
            Nlm4Call::decode(nlmproc4::FREE_ALL, &notify).unwrap(),
            Nlm4Call::FreeAll(Nlm4Notify {
                name: b"hi",
                state: 5
            })
        );
    }

    #[test]
    fn res_callbacks_and_void_replies() {
        let wire = be(&[4, 0x0102_0304, 3]);
        assert_eq!(
            Nlm4Call::decode(nlmproc4::GRANTED_RES, &wire).unwrap(),
            Nlm4Call::GrantedRes(Nlm4Res {
                cookie: &[1, 2, 3, 4],
                stat: Nlm4Stats::Blocked
            })
        );
        for proc in [0, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 23] {
            assert_eq!(Nlm4Reply::decode(proc, &[]).unwrap(), Nlm4Reply::Void);
        }
    }

    #[test]
    fn bounds_and_unknown_procedures() {
        for proc in [16, 17, 18, 19, 24, 1000] {
            assert_eq!(
                Nlm4Call::decode(proc, &[]),
                Err(DecodeError::UnknownProcedure(proc))
            );
        }
        // A caller name over LM_MAXSTRLEN is refused before anything is taken.
        let mut wire = be(&[0, 0]);
        wire.extend(be(&[LM_MAXSTRLEN as u32 + 1]));
        wire.resize(wire.len() + 2048, 0);
        assert_eq!(
            Nlm4Call::decode(nlmproc4::TEST, &wire),
            Err(DecodeError::TooLong)
        );
        // Truncated anywhere: an error, never a panic.
        let full = lock_wire();
        for cut in 0..full.len() {
            assert!(
                Nlm4Call::decode(nlmproc4::LOCK, &full[..cut]).is_err(),
                "{cut}"
            );
        }
        // An undefined status in a reply.
        assert!(Nlm4Reply::decode(nlmproc4::LOCK, &be(&[0, 10])).is_err());
    }
}
