//! readdir: `depth` concurrent READDIRPLUS listings of the setup's directory of 10,000 names
//! (one op = one page); each listing checks at EOF that it saw every name exactly once.

use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{parse_readdirplus, ClientError, Request};

use super::Slots;
use crate::pipeline::{Ctx, Load};
use crate::setup::READDIR_DIR;

/// One READDIRPLUS listing in progress.
struct Listing {
    cookie: u64,
    verf: [u8; 8],
    /// A bit per name of the directory.
    seen: Vec<u64>,
    count: usize,
}

impl Listing {
    fn new(n: usize) -> Listing {
        Listing {
            cookie: 0,
            verf: [0; 8],
            seen: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }

    fn reset(&mut self) {
        self.cookie = 0;
        self.verf = [0; 8];
        self.seen.iter_mut().for_each(|w| *w = 0);
        self.count = 0;
    }

    /// Takes in the next page of the listing; whether it was the last.
    fn page(&mut self, result: Result<Bytes, ClientError>) -> Result<bool, ClientError> {
        let page = parse_readdirplus(&result?)?;
        for e in &page.entries {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let Some(k) = READDIR_DIR.index_of(&e.name) else {
                return Err(ClientError::Protocol(format!(
                    "READDIRPLUS: unexpected name {:?}",
                    String::from_utf8_lossy(&e.name)
                )));
            };
            if self.seen[k / 64] & (1 << (k % 64)) != 0 {
                return Err(ClientError::Protocol(format!(
                    "READDIRPLUS: {} listed twice",
                    READDIR_DIR.entry(k)
                )));
            }
            self.seen[k / 64] |= 1 << (k % 64);
            self.count += 1;
        }
        self.verf = page.cookieverf;
        match page.entries.last() {
            Some(last) => self.cookie = last.cookie,
            None if !page.eof => {
                return Err(ClientError::Protocol(
                    "READDIRPLUS: empty page without EOF".into(),
                ))
            }
            None => {}
        }
        if page.eof && self.count != READDIR_DIR.files {
            return Err(ClientError::Protocol(format!(
                "READDIRPLUS: {} entries at EOF, expected {}",
                self.count, READDIR_DIR.files
            )));
        }
        Ok(page.eof)
    }
}

pub struct ReaddirLoad {
    dir: Bytes,
    listings: Slots<Listing>,
}

impl ReaddirLoad {
    pub fn new(dir: Bytes, depth: usize) -> ReaddirLoad {
        ReaddirLoad {
            dir,
            listings: Slots::new(depth),
        }
    }
}

impl Load for ReaddirLoad {
    fn next(&mut self) -> Option<(u64, Request)> {
        let i = self
            .listings
            .next_free(|| Listing::new(READDIR_DIR.files))?;
        let l = &self.listings.items[i];
        Some((
            i as u64,
            Request::Readdirplus {
                dir: self.dir.clone(),
                cookie: l.cookie,
                cookieverf: l.verf,
                dircount: 8192,
                maxcount: 65536,
            },
        ))
    }

    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx) {
        let i = tag as usize;
        let Some(l) = self.listings.items.get_mut(i) else {
            cx.error("reply for an unknown listing");
            return;
        };
        match l.page(result) {
            Ok(eof) => {
                cx.op_done(sent, 0);
                if eof {
                    l.reset();
                }
            }
            Err(e) => {
                cx.error(e);
                l.reset();
            }
        }
        self.listings.release(i);
    }
}
