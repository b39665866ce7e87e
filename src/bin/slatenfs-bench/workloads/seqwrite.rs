//! seqwrite: files of `--seqwrite-file-mb` written with 1 MiB WRITE UNSTABLE calls, one file
//! at a time per connection, a COMMIT at the end of each; removed after the window unless
//! `--keep`.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{ClientError, Connection, Request};
use slatenfs::proto::nfs3::proc3;

use super::{Pieces, MIB};
use crate::calls::{commit_file, create_file, made_ok, status_ok, unstable_write};
use crate::content::file_key;
use crate::pipeline::{Ctx, Load};

pub struct SeqWriteLoad {
    dir: Bytes,
    prefix: String,
    file_size: u64,
    files: Vec<WrittenFile>,
    /// The file WRITEs are being issued for.
    current: Option<usize>,
    /// A CREATE is in flight: the next file cannot start yet.
    creating: bool,
    /// Files whose WRITEs all succeeded, to COMMIT.
    commits: VecDeque<usize>,
    keep: bool,
}

struct WrittenFile {
    name: Bytes,
    key: u64,
    fh: Option<Bytes>,
    pieces: Pieces,
    /// WRITEs in flight.
    outstanding: u32,
    committed: bool,
    failed: bool,
}

/// The call kind in the low two bits of a tag; the file's index above them.
#[derive(Clone, Copy)]
enum Call {
    Create = 0,
    Write = 1,
    Commit = 2,
}

fn tag(file: usize, call: Call) -> u64 {
    (file as u64) << 2 | call as u64
}

/// The file index and call kind of a [`tag`].
fn untag(tag: u64) -> (usize, Call) {
    let call = match tag & 3 {
        0 => Call::Create,
        1 => Call::Write,
        _ => Call::Commit,
    };
    ((tag >> 2) as usize, call)
}

impl SeqWriteLoad {
    pub fn new(dir: Bytes, prefix: String, file_size: u64, keep: bool) -> SeqWriteLoad {
        SeqWriteLoad {
            dir,
            prefix,
            file_size,
            files: Vec::new(),
            current: None,
            creating: false,
            commits: VecDeque::new(),
            keep,
        }
    }
}

impl Load for SeqWriteLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        if let Some(i) = self.commits.pop_front() {
            let fh = self.files[i].fh.as_ref()?;
            return Some((tag(i, Call::Commit), commit_file(fh)));
        }
        match self.current {
            None => {
                if self.creating {
                    return None;
                }
                let i = self.files.len();
                let name = Bytes::from(format!("{}{i}", self.prefix));
                self.files.push(WrittenFile {
                    key: file_key(&name),
                    name: name.clone(),
                    fh: None,
                    pieces: Pieces::new(self.file_size),
                    outstanding: 0,
                    committed: false,
                    failed: false,
                });
                self.current = Some(i);
                self.creating = true;
                Some((tag(i, Call::Create), create_file(&self.dir, name, true)))
            }
            Some(i) => {
                let f = &mut self.files[i];
                let fh = f.fh.as_ref()?;
                let (offset, len) = f.pieces.next_piece()?;
                f.outstanding += 1;
                let write = unstable_write(fh, f.key, offset, len);
                if f.pieces.all_issued() {
                    self.current = None;
                }
                Some((tag(i, Call::Write), write))
            }
        }
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let (i, call) = untag(tag);
        let Some(f) = self.files.get_mut(i) else {
            cx.error("reply for an unknown file");
            return;
        };
        match call {
            Call::Create => {
                self.creating = false;
                match made_ok(proc3::CREATE, result) {
                    Ok(fh) => f.fh = Some(fh),
                    Err(e) => {
                        f.failed = true;
                        if self.current == Some(i) {
                            self.current = None;
                        }
                        cx.error(e);
                    }
                }
            }
            Call::Write => {
                f.outstanding = f.outstanding.saturating_sub(1);
                match cx.write_acknowledged(result, MIB as usize) {
                    Ok(n) => cx.op_done(sent, n),
                    Err(e) => {
                        f.failed = true;
                        cx.error(e);
                    }
                }
                if f.pieces.all_issued() && f.outstanding == 0 && !f.failed {
                    self.commits.push_back(i);
                }
            }
            Call::Commit => match status_ok(proc3::COMMIT, result) {
                Ok(()) => f.committed = true,
                Err(e) => cx.error(e),
            },
        }
    }

    fn finish(&mut self, conn: &mut Connection, cx: &mut Ctx) {
        for f in &mut self.files {
            let Some(fh) = &f.fh else { continue };
            if !f.committed && !f.failed {
                match conn.commit(fh) {
                    Ok(_) => f.committed = true,
                    Err(e) => cx.error(format!("final COMMIT: {e}")),
                }
            }
        }
        if !self.keep {
            for f in &self.files {
                if f.fh.is_some() {
                    if let Err(e) = conn.remove(&self.dir, &f.name) {
                        cx.error(format!("cleanup REMOVE: {e}"));
                    }
                }
            }
        }
    }
}
