//! A blocking NFSv3 / MOUNT (and NLM, NSM, portmap) client over `std::net::TcpStream`, built on the sans-IO
//! [`ClientConnection`]: for the load generator (`slatenfs-bench`), tools and tests.
//!
//! Two ways to use a [`Connection`]:
//! - synchronous helpers ([`Connection::mount`], [`Connection::getattr`], [`Connection::write`],
//!   ...): one call, wait for its reply, typed result or [`ClientError`];
//! - pipelining: [`Connection::queue`] many calls, [`Connection::flush`] them, then
//!   [`Connection::recv`] replies in arrival order (any order; match them by xid).
//!
//! Replies that arrive while a synchronous helper waits for its own are kept and returned by
//! later [`Connection::recv`] calls, so both styles can be mixed.
//!
//! Flow control: the caller bounds the calls in flight. Writes block until the socket takes
//! them; with a bounded number of calls in flight the server's replies to them fit in the
//! socket buffers, so a blocked write cannot deadlock against a server blocked on its replies
//! unless both requests and replies are large (not a pattern of any benchmark workload).

mod error;
mod nlm;
mod request;

use std::collections::VecDeque;
use std::io::{IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use smallvec::SmallVec;

pub use error::ClientError;
pub use nlm::Holder;
pub use request::{accepted, decode_nfs, ok_arm, proc_name, wrong_reply, Request};

use crate::proto::auth::{AuthSys, Credential};
use crate::proto::client::{ClientConfig, ClientConnection};
use crate::proto::mount::{MountCall, MountReply, Mountres3};
use crate::proto::nfs3::*;
use crate::proto::rpc::{ReplyMsg, ReplyStatus};
use crate::proto::xdr::XdrEncode;

/// Read buffer size: one `read` takes up to this many bytes from the socket.
const READ_BUF: usize = 256 << 10;
/// Most output segments written by one `write_vectored`.
const MAX_SEGMENTS: usize = 64;

/// An AUTH_SYS credential with no supplementary groups.
pub fn auth_sys(uid: u32, gid: u32, machinename: &[u8]) -> Credential {
    Credential::Sys(AuthSys {
        stamp: 0,
        machinename: SmallVec::from_slice(&machinename[..machinename.len().min(255)]),
        uid,
        gid,
        gids: SmallVec::new(),
    })
}

/// A decoded READ result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub data: Bytes,
    pub eof: bool,
    pub attributes: PostOpAttr,
}

/// One READDIRPLUS entry, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub fileid: u64,
    pub name: Vec<u8>,
    pub cookie: u64,
    pub attributes: PostOpAttr,
    pub handle: Option<Vec<u8>>,
}

/// One page of a READDIRPLUS listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirPage {
    pub entries: Vec<DirEntry>,
    pub cookieverf: Cookieverf3,
    pub eof: bool,
}

/// One TCP connection to an ONC-RPC server (NFS or MOUNT, or both on one port).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    engine: ClientConnection,
    cred: Credential,
    buf: Vec<u8>,
    segments: Vec<Bytes>,
    /// Replies received while waiting for another one.
    stash: VecDeque<ReplyMsg>,
    broken: bool,
}

impl Connection {
    /// Connects to `addr` (TCP_NODELAY on), calling as `cred`.
    pub fn connect(addr: impl ToSocketAddrs, cred: Credential) -> Result<Connection, ClientError> {
        let stream = TcpStream::connect(addr)?;
        Connection::from_stream(stream, cred)
    }

    /// Like [`Connection::connect`], giving up after `timeout`.
    pub fn connect_timeout(
        addr: &SocketAddr,
        timeout: Duration,
        cred: Credential,
    ) -> Result<Connection, ClientError> {
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        Connection::from_stream(stream, cred)
    }

    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream, cred: Credential) -> Result<Connection, ClientError> {
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            engine: ClientConnection::new(ClientConfig::default()),
            cred,
            buf: vec![0; READ_BUF],
            segments: Vec::with_capacity(MAX_SEGMENTS),
            stash: VecDeque::new(),
            broken: false,
        })
    }

    /// How long a read may wait for the server before [`ClientError::Io`]; `None`: forever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.stream.set_read_timeout(timeout)?;
        self.stream.set_write_timeout(timeout)?;
        Ok(())
    }

    /// Calls sent (or queued) and not yet answered, stashed replies excluded.
    pub fn in_flight(&self) -> usize {
        self.engine.calls_in_flight()
    }

    /// Queues a call of any program without writing it; returns its xid.
    pub fn queue_raw(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn XdrEncode,
    ) -> Result<u32, ClientError> {
        self.check_usable()?;
        Ok(self
            .engine
            .send_call(prog, vers, procedure, &self.cred, args)?)
    }

    /// Queues an NFSv3 call without writing it; returns its xid.
    pub fn queue(&mut self, req: &Request) -> Result<u32, ClientError> {
        self.queue_raw(NFS_PROGRAM, NFS_V3, req.proc_num(), req)
    }

    /// Queues and writes an NFSv3 call; returns its xid.
    pub fn send(&mut self, req: &Request) -> Result<u32, ClientError> {
        let xid = self.queue(req)?;
        self.flush()?;
        Ok(xid)
    }

    /// Writes every queued call to the socket (blocking).
    pub fn flush(&mut self) -> Result<(), ClientError> {
        self.check_usable()?;
        let result = self.flush_inner();
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    fn flush_inner(&mut self) -> Result<(), ClientError> {
        loop {
            self.segments.clear();
            let mut segments = std::mem::take(&mut self.segments);
            self.engine
                .poll_transmit_vectored(&mut segments, MAX_SEGMENTS);
            if segments.is_empty() {
                self.segments = segments;
                return Ok(());
            }
            let written = write_all_segments(&mut self.stream, &segments);
            segments.clear();
            self.segments = segments;
            written?;
        }
    }

    /// The next reply, in arrival order, reading from the socket as needed (blocking, up to
    /// the timeout). Calls must have been flushed.
    pub fn recv(&mut self) -> Result<ReplyMsg, ClientError> {
        if let Some(r) = self.stash.pop_front() {
            return Ok(r);
        }
        self.check_usable()?;
        loop {
            if let Some(r) = self.engine.poll_reply() {
                return Ok(r);
            }
            if let Err(e) = self.read_more() {
                self.broken = true;
                return Err(e);
            }
        }
    }

    fn read_more(&mut self) -> Result<(), ClientError> {
        let n = loop {
            match self.stream.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Err(ClientError::Closed);
        }
        self.engine.handle_input(&self.buf[..n])?;
        Ok(())
    }

    fn check_usable(&self) -> Result<(), ClientError> {
        if self.broken {
            Err(ClientError::Closed)
        } else {
            Ok(())
        }
    }

    /// Waits for the reply to `xid`, keeping the other replies for [`Connection::recv`].
    pub fn wait_for(&mut self, xid: u32) -> Result<ReplyStatus, ClientError> {
        if let Some(i) = self.stash.iter().position(|r| r.xid == xid) {
            if let Some(r) = self.stash.remove(i) {
                return Ok(r.status);
            }
        }
        if !self.engine.is_outstanding(xid) {
            return Err(ClientError::Protocol(format!(
                "xid {xid:#x} is not in flight"
            )));
        }
        self.check_usable()?;
        loop {
            while let Some(r) = self.engine.poll_reply() {
                if r.xid == xid {
                    return Ok(r.status);
                }
                self.stash.push_back(r);
            }
            if let Err(e) = self.read_more() {
                self.broken = true;
                return Err(e);
            }
        }
    }

    /// One call of any program: send, wait for its reply.
    pub fn call_raw(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        args: &dyn XdrEncode,
    ) -> Result<ReplyStatus, ClientError> {
        let xid = self.queue_raw(prog, vers, procedure, args)?;
        self.flush()?;
        self.wait_for(xid)
    }

    /// One NFSv3 call; the undecoded results of an accepted call.
    pub fn call(&mut self, req: &Request) -> Result<Bytes, ClientError> {
        let xid = self.send(req)?;
        accepted(self.wait_for(xid)?)
    }

    /// MOUNT v3 MNT of `path`: the export's root file handle.
    pub fn mount(&mut self, path: &[u8]) -> Result<Vec<u8>, ClientError> {
        let st = self.call_raw(MOUNT_PROGRAM, MOUNT_V3, 1, &MountCall::Mnt(path))?;
        let body = accepted(st)?;
        match MountReply::decode(1, &body).map_err(|source| ClientError::Decode {
            procedure: "MNT",
            source,
        })? {
            MountReply::Mnt(Mountres3::Ok(ok)) => Ok(ok.fhandle.to_vec()),
            MountReply::Mnt(Mountres3::Err(s)) => Err(ClientError::Mount(s)),
            _ => Err(wrong_reply("MNT")),
        }
    }

    /// NULL of the NFS program (a ping).
    pub fn null(&mut self) -> Result<(), ClientError> {
        self.call(&Request::Null).map(|_| ())
    }

    pub fn getattr(&mut self, fh: &[u8]) -> Result<Fattr3, ClientError> {
        let body = self.call(&Request::Getattr {
            fh: Bytes::copy_from_slice(fh),
        })?;
        match decode_nfs(proc3::GETATTR, &body)? {
            Nfs3Reply::Getattr(r) => Ok(ok_arm("GETATTR", r)?.obj_attributes),
            _ => Err(wrong_reply("GETATTR")),
        }
    }

    /// LOOKUP: the handle and attributes of `name` in `dir`.
    pub fn lookup(
        &mut self,
        dir: &[u8],
        name: &[u8],
    ) -> Result<(Vec<u8>, PostOpAttr), ClientError> {
        let body = self.call(&Request::Lookup {
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
        })?;
        match decode_nfs(proc3::LOOKUP, &body)? {
            Nfs3Reply::Lookup(r) => {
                let ok = ok_arm("LOOKUP", r)?;
                Ok((ok.object.0.to_vec(), ok.obj_attributes))
            }
            _ => Err(wrong_reply("LOOKUP")),
        }
    }

    /// The handle of what CREATE or MKDIR made: from the reply, or looked up when the server
    /// left it out (RFC 1813 lets it; a retried call answered from what was done before is
    /// answered without one).
    fn made(
        &mut self,
        procedure: u32,
        body: &Bytes,
        dir: &[u8],
        name: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let handle = match decode_nfs(procedure, body)? {
            Nfs3Reply::Create(r) | Nfs3Reply::Mkdir(r) => {
                ok_arm(proc_name(procedure), r)?.obj.map(|fh| fh.0.to_vec())
            }
            _ => return Err(wrong_reply(proc_name(procedure))),
        };
        match handle {
            Some(fh) => Ok(fh),
            None => Ok(self.lookup(dir, name)?.0),
        }
    }

    /// CREATE (GUARDED when `guarded`, else UNCHECKED): the new file's handle.
    pub fn create(
        &mut self,
        dir: &[u8],
        name: &[u8],
        mode: u32,
        guarded: bool,
    ) -> Result<Vec<u8>, ClientError> {
        let body = self.call(&Request::Create {
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
            mode,
            guarded,
        })?;
        self.made(proc3::CREATE, &body, dir, name)
    }

    /// MKDIR: the new directory's handle.
    pub fn mkdir(&mut self, dir: &[u8], name: &[u8], mode: u32) -> Result<Vec<u8>, ClientError> {
        let body = self.call(&Request::Mkdir {
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
            mode,
        })?;
        self.made(proc3::MKDIR, &body, dir, name)
    }

    /// The directory `name` in `dir`, made if missing (an existing one is reused).
    pub fn mkdir_or_lookup(
        &mut self,
        dir: &[u8],
        name: &[u8],
        mode: u32,
    ) -> Result<Vec<u8>, ClientError> {
        match self.lookup(dir, name) {
            Ok((fh, _)) => Ok(fh),
            Err(e) if e.nfs_status() == Some(Nfsstat3::Noent) => {
                match self.mkdir(dir, name, mode) {
                    Ok(fh) => Ok(fh),
                    // Made concurrently by someone else.
                    Err(e) if e.nfs_status() == Some(Nfsstat3::Exist) => {
                        Ok(self.lookup(dir, name)?.0)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// WRITE; checks that the server took all of `data`.
    pub fn write(
        &mut self,
        fh: &[u8],
        offset: u64,
        stable: StableHow,
        data: Bytes,
    ) -> Result<Write3ResOk, ClientError> {
        let len = data.len();
        let body = self.call(&Request::Write {
            fh: Bytes::copy_from_slice(fh),
            offset,
            stable,
            data,
        })?;
        match decode_nfs(proc3::WRITE, &body)? {
            Nfs3Reply::Write(r) => {
                let ok = ok_arm("WRITE", r)?;
                if ok.count as usize != len {
                    return Err(ClientError::Protocol(format!(
                        "short WRITE: {} of {len} bytes",
                        ok.count
                    )));
                }
                Ok(ok)
            }
            _ => Err(wrong_reply("WRITE")),
        }
    }

    /// READ; checks that the count matches the data.
    pub fn read(&mut self, fh: &[u8], offset: u64, count: u32) -> Result<ReadResult, ClientError> {
        let body = self.call(&Request::Read {
            fh: Bytes::copy_from_slice(fh),
            offset,
            count,
        })?;
        parse_read(&body)
    }

    /// COMMIT of the whole file: the write verifier.
    pub fn commit(&mut self, fh: &[u8]) -> Result<Writeverf3, ClientError> {
        let body = self.call(&Request::Commit {
            fh: Bytes::copy_from_slice(fh),
            offset: 0,
            count: 0,
        })?;
        match decode_nfs(proc3::COMMIT, &body)? {
            Nfs3Reply::Commit(r) => Ok(ok_arm("COMMIT", r)?.verf),
            _ => Err(wrong_reply("COMMIT")),
        }
    }

    pub fn remove(&mut self, dir: &[u8], name: &[u8]) -> Result<(), ClientError> {
        let body = self.call(&Request::Remove {
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
        })?;
        match decode_nfs(proc3::REMOVE, &body)? {
            Nfs3Reply::Remove(r) => ok_arm("REMOVE", r).map(|_| ()),
            _ => Err(wrong_reply("REMOVE")),
        }
    }

    pub fn rmdir(&mut self, dir: &[u8], name: &[u8]) -> Result<(), ClientError> {
        let body = self.call(&Request::Rmdir {
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
        })?;
        match decode_nfs(proc3::RMDIR, &body)? {
            Nfs3Reply::Rmdir(r) => ok_arm("RMDIR", r).map(|_| ()),
            _ => Err(wrong_reply("RMDIR")),
        }
    }

    pub fn rename(
        &mut self,
        from_dir: &[u8],
        from: &[u8],
        to_dir: &[u8],
        to: &[u8],
    ) -> Result<(), ClientError> {
        let body = self.call(&Request::Rename {
            from_dir: Bytes::copy_from_slice(from_dir),
            from: Bytes::copy_from_slice(from),
            to_dir: Bytes::copy_from_slice(to_dir),
            to: Bytes::copy_from_slice(to),
        })?;
        match decode_nfs(proc3::RENAME, &body)? {
            Nfs3Reply::Rename(r) => ok_arm("RENAME", r).map(|_| ()),
            _ => Err(wrong_reply("RENAME")),
        }
    }

    /// LINK: `name` in `dir` becomes another name of `fh`.
    pub fn link(&mut self, fh: &[u8], dir: &[u8], name: &[u8]) -> Result<(), ClientError> {
        let body = self.call(&Request::Link {
            fh: Bytes::copy_from_slice(fh),
            dir: Bytes::copy_from_slice(dir),
            name: Bytes::copy_from_slice(name),
        })?;
        match decode_nfs(proc3::LINK, &body)? {
            Nfs3Reply::Link(r) => ok_arm("LINK", r).map(|_| ()),
            _ => Err(wrong_reply("LINK")),
        }
    }

    /// One READDIRPLUS page.
    pub fn readdirplus(
        &mut self,
        dir: &[u8],
        cookie: u64,
        cookieverf: Cookieverf3,
        dircount: u32,
        maxcount: u32,
    ) -> Result<DirPage, ClientError> {
        let body = self.call(&Request::Readdirplus {
            dir: Bytes::copy_from_slice(dir),
            cookie,
            cookieverf,
            dircount,
            maxcount,
        })?;
        parse_readdirplus(&body)
    }

    /// Every entry of `dir` ("." and ".." included if the server lists them), paging by cookie
    /// until EOF. Fails if a page without EOF is empty (the listing would not progress) or
    /// after `max_pages` pages.
    pub fn readdirplus_all(
        &mut self,
        dir: &[u8],
        max_pages: usize,
    ) -> Result<Vec<DirEntry>, ClientError> {
        let mut all = Vec::new();
        let mut cookie = 0;
        let mut verf = [0; 8];
        for _ in 0..max_pages {
            let page = self.readdirplus(dir, cookie, verf, 8192, 65536)?;
            verf = page.cookieverf;
            let eof = page.eof;
            match page.entries.last() {
                Some(last) => cookie = last.cookie,
                None if !eof => {
                    return Err(ClientError::Protocol(
                        "empty READDIRPLUS page without EOF".into(),
                    ))
                }
                None => {}
            }
            all.extend(page.entries);
            if eof {
                return Ok(all);
            }
        }
        Err(ClientError::Protocol(format!(
            "READDIRPLUS did not reach EOF in {max_pages} pages"
        )))
    }

    /// FSINFO of the filesystem of `fh`.
    pub fn fsinfo(&mut self, fh: &[u8]) -> Result<Fsinfo3ResOk, ClientError> {
        let body = self.call(&Request::Fsinfo {
            fh: Bytes::copy_from_slice(fh),
        })?;
        match decode_nfs(proc3::FSINFO, &body)? {
            Nfs3Reply::Fsinfo(r) => ok_arm("FSINFO", r),
            _ => Err(wrong_reply("FSINFO")),
        }
    }
}

/// Decodes READ results, checking that `count` matches the data.
pub fn parse_read(body: &Bytes) -> Result<ReadResult, ClientError> {
    match decode_nfs(proc3::READ, body)? {
        Nfs3Reply::Read(r) => {
            let ok = ok_arm("READ", r)?;
            if ok.count as usize != ok.data.len() {
                return Err(ClientError::Protocol(format!(
                    "READ count {} but {} data bytes",
                    ok.count,
                    ok.data.len()
                )));
            }
            Ok(ReadResult {
                data: ok.data,
                eof: ok.eof,
                attributes: ok.file_attributes,
            })
        }
        _ => Err(wrong_reply("READ")),
    }
}

/// Decodes READDIRPLUS results into an owned page.
pub fn parse_readdirplus(body: &Bytes) -> Result<DirPage, ClientError> {
    match decode_nfs(proc3::READDIRPLUS, body)? {
        Nfs3Reply::Readdirplus(r) => {
            let ok = ok_arm("READDIRPLUS", r)?;
            Ok(DirPage {
                entries: ok
                    .reply
                    .entries
                    .iter()
                    .map(|e| DirEntry {
                        fileid: e.fileid,
                        name: e.name.to_vec(),
                        cookie: e.cookie,
                        attributes: e.name_attributes,
                        handle: e.name_handle.map(|h| h.0.to_vec()),
                    })
                    .collect(),
                cookieverf: ok.cookieverf,
                eof: ok.reply.eof,
            })
        }
        _ => Err(wrong_reply("READDIRPLUS")),
    }
}

/// Writes all of `segments`, resuming after partial vectored writes.
fn write_all_segments(stream: &mut TcpStream, segments: &[Bytes]) -> Result<(), ClientError> {
    let mut first = 0; // first segment not completely written
    let mut offset = 0; // bytes of segments[first] already written
    while first < segments.len() {
        let slices: SmallVec<[IoSlice<'_>; MAX_SEGMENTS]> =
            std::iter::once(&segments[first][offset..])
                .chain(segments[first + 1..].iter().map(|s| &s[..]))
                .map(IoSlice::new)
                .collect();
        let mut n = match stream.write_vectored(&slices) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        while n > 0 && first < segments.len() {
            let left = segments[first].len() - offset;
            if n >= left {
                n -= left;
                first += 1;
                offset = 0;
            } else {
                offset += n;
                n = 0;
            }
        }
        while first < segments.len() && segments[first].len() == offset {
            first += 1;
            offset = 0;
        }
    }
    Ok(())
}
