//! The acknowledgement log: one line per event, appended and flushed as it happens, so that
//! whatever the server acknowledged is on record before the next call leaves.
//!
//! ```text
//! I <round> <worker> <seq> <op...>     intent: the call is about to be sent
//! A <round> <worker> <seq> <verf>      acknowledged (the write verifier of a WRITE or COMMIT
//!                                      reply in hex, '-' for other calls)
//! F <round> <worker> <seq> <status>    answered with an error (the outcome is in doubt)
//! X <round> <worker> <seq> <outcome>   what a check found of an op whose outcome was in doubt
//!                                      (applied / absent), so later checks hold it to that
//! ```
//!
//! Ops (paths are relative to the worker's directory `r<round>w<worker>`; `<file>` numbers the
//! worker's files):
//!
//! ```text
//! mkdir <path>
//! create <path> <file>
//! write <file> <wseq> <offset> <len> <crc32> unstable|sync
//! commit <file>
//! rename <from> <to>
//! link <path> <new path>
//! remove <path>
//! ```

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// What an op did, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Mkdir {
        path: String,
    },
    Create {
        path: String,
        file: u64,
    },
    Write {
        file: u64,
        wseq: u64,
        offset: u64,
        len: u64,
        crc: u32,
        sync: bool,
    },
    Commit {
        file: u64,
    },
    Rename {
        from: String,
        to: String,
    },
    Link {
        path: String,
        new: String,
    },
    Remove {
        path: String,
    },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Mkdir { path } => write!(f, "mkdir {path}"),
            Op::Create { path, file } => write!(f, "create {path} {file}"),
            Op::Write {
                file,
                wseq,
                offset,
                len,
                crc,
                sync,
            } => write!(
                f,
                "write {file} {wseq} {offset} {len} {crc:08x} {}",
                if *sync { "sync" } else { "unstable" }
            ),
            Op::Commit { file } => write!(f, "commit {file}"),
            Op::Rename { from, to } => write!(f, "rename {from} {to}"),
            Op::Link { path, new } => write!(f, "link {path} {new}"),
            Op::Remove { path } => write!(f, "remove {path}"),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Intent(Op),
    Ack(Option<[u8; 8]>),
    Failed(String),
    Resolved(bool),
}

/// A line: which worker of which round, its op's sequence number, and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub round: u32,
    pub worker: u32,
    pub seq: u64,
    pub event: Event,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = |tag: &str| format!("{tag} {} {} {}", self.round, self.worker, self.seq);
        match &self.event {
            Event::Intent(op) => write!(f, "{} {op}", head("I")),
            Event::Ack(None) => write!(f, "{} -", head("A")),
            Event::Ack(Some(v)) => write!(f, "{} {}", head("A"), hex(v)),
            Event::Failed(s) => write!(f, "{} {s}", head("F")),
            Event::Resolved(applied) => write!(
                f,
                "{} {}",
                head("X"),
                if *applied { "applied" } else { "absent" }
            ),
        }
    }
}

fn hex(v: &[u8; 8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex8(s: &str) -> Option<[u8; 8]> {
    if s.len() != 16 {
        return None;
    }
    let mut v = [0u8; 8];
    for (i, b) in v.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(v)
}

fn parse_op(words: &[&str]) -> Option<Op> {
    let num = |i: usize| words.get(i)?.parse::<u64>().ok();
    let word = |i: usize| words.get(i).map(|w| w.to_string());
    Some(match *words.first()? {
        "mkdir" => Op::Mkdir { path: word(1)? },
        "create" => Op::Create {
            path: word(1)?,
            file: num(2)?,
        },
        "write" => Op::Write {
            file: num(1)?,
            wseq: num(2)?,
            offset: num(3)?,
            len: num(4)?,
            crc: u32::from_str_radix(words.get(5)?, 16).ok()?,
            sync: match *words.get(6)? {
                "sync" => true,
                "unstable" => false,
                _ => return None,
            },
        },
        "commit" => Op::Commit { file: num(1)? },
        "rename" => Op::Rename {
            from: word(1)?,
            to: word(2)?,
        },
        "link" => Op::Link {
            path: word(1)?,
            new: word(2)?,
        },
        "remove" => Op::Remove { path: word(1)? },
        _ => return None,
    })
}

impl Line {
    /// Parses one line; `None` for anything malformed (a line cut short when the load
    /// generator was stopped is the only expected case, and only the last one).
    pub fn parse(text: &str) -> Option<Line> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (round, worker, seq) = (
            words.get(1)?.parse().ok()?,
            words.get(2)?.parse().ok()?,
            words.get(3)?.parse().ok()?,
        );
        let event = match *words.first()? {
            "I" => Event::Intent(parse_op(words.get(4..)?)?),
            "A" => match *words.get(4)? {
                "-" => Event::Ack(None),
                v => Event::Ack(Some(parse_hex8(v)?)),
            },
            "F" => Event::Failed(words.get(4..)?.join(" ")),
            "X" => Event::Resolved(match *words.get(4)? {
                "applied" => true,
                "absent" => false,
                _ => return None,
            }),
            _ => return None,
        };
        Some(Line {
            round,
            worker,
            seq,
            event,
        })
    }
}

/// Every well-formed line of the log at `path`, in order.
pub fn read(path: &Path) -> Result<Vec<Line>, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for text in BufReader::new(f).lines() {
        let text = text.map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(line) = Line::parse(&text) {
            out.push(line);
        }
    }
    Ok(out)
}

/// An open log that lines are appended to, each written out (one `write` of the whole line)
/// before `append` returns. Several workers of one process share it through a mutex.
pub struct Appender {
    file: File,
}

impl Appender {
    /// Opens `path` for appending (created if missing).
    pub fn open(path: &Path) -> Result<Appender, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Appender { file })
    }

    /// Appends `line`.
    pub fn append(&mut self, line: &Line) -> Result<(), String> {
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("ack log: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let ops = [
            Op::Mkdir { path: "a".into() },
            Op::Create {
                path: "a/f1".into(),
                file: 1,
            },
            Op::Write {
                file: 1,
                wseq: 3,
                offset: 4096,
                len: 77,
                crc: 0xdead_beef,
                sync: false,
            },
            Op::Commit { file: 1 },
            Op::Rename {
                from: "a/f1".into(),
                to: "b/n2".into(),
            },
            Op::Link {
                path: "b/n2".into(),
                new: "l3".into(),
            },
            Op::Remove { path: "l3".into() },
        ];
        for (i, op) in ops.into_iter().enumerate() {
            for event in [
                Event::Intent(op.clone()),
                Event::Ack(Some([1, 2, 3, 4, 5, 6, 7, 0xff])),
                Event::Ack(None),
                Event::Failed("NFS3ERR_IO".into()),
                Event::Resolved(i % 2 == 0),
            ] {
                let line = Line {
                    round: 3,
                    worker: 1,
                    seq: i as u64,
                    event,
                };
                assert_eq!(Line::parse(&line.to_string()), Some(line));
            }
        }
        assert_eq!(Line::parse("I 1 2"), None);
        assert_eq!(Line::parse("I 1 2 3 write 1 2"), None);
    }
}
