//! The common path of a server connection does not allocate per call: received records are split
//! off one reused buffer, replies are written into one reused buffer, and the queues keep their
//! capacity. Counted with a global allocator (its own test binary, one test, so that nothing
//! else allocates concurrently).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::{client_output, ReadRes};
use slatenfs::proto::auth::{AuthSys, Credential};
use slatenfs::proto::client::{ClientConfig, ClientConnection};
use slatenfs::proto::connection::{ServerConfig, ServerConnection};
use slatenfs::proto::rpc::{RawBody, ReplyBody};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_allocations_per_call() {
    // One batch of 64 GETATTR-sized calls with AUTH_SYS, as a client would pipeline them.
    let mut client = ClientConnection::new(ClientConfig::default());
    let cred = Credential::Sys(AuthSys {
        stamp: 1,
        machinename: smallvec::SmallVec::from_slice(b"client01"),
        uid: 1000,
        gid: 1000,
        gids: (0..8).collect(),
    });
    for _ in 0..64 {
        client
            .send_call(
                100_003,
                3,
                1,
                &cred,
                &RawBody(&[
                    0, 0, 0, 32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
                    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
                ]),
            )
            .unwrap();
    }
    let batch = client_output(&mut client);

    let config = Arc::new(ServerConfig::new(1 << 20).program(100_003, 3, 3, 21));
    let mut server = ServerConnection::new(config);
    let attrs = [0u8; 88];
    let data = Bytes::from(vec![0x5a; 32 * 1024]);
    let mut run = |rounds: usize| {
        let mut calls = Vec::with_capacity(64);
        for _ in 0..rounds {
            server.handle_input(&batch).unwrap();
            calls.extend(std::iter::from_fn(|| server.poll_call()));
            for call in calls.drain(..) {
                if call.xid % 8 == 0 {
                    // Every eighth call is answered with a payload (the READ path).
                    server.send_reply(
                        call.xid,
                        ReplyBody::Success(&ReadRes {
                            eof: false,
                            data: data.clone(),
                        }),
                    );
                } else {
                    server.send_reply(call.xid, ReplyBody::Success(&RawBody(&attrs)));
                }
            }
            while let Some(out) = server.poll_transmit() {
                std::hint::black_box(out);
            }
        }
    };
    run(20); // warm up: buffers and queues reach their working size
    let before = ALLOCS.load(Ordering::Relaxed);
    let rounds = 200;
    run(rounds);
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let calls = rounds * 64;
    eprintln!("{allocs} allocations for {calls} calls");
    // What allocates is a new buffer chunk (plus its shared header) when the current one is full
    // and still referenced by live records or reply segments: receive chunks of 64 KiB, send
    // chunks of 32 KiB, patch chunks of 4 KiB. That is amortised over dozens of calls; nothing
    // allocates per call.
    assert!(
        allocs * 20 < calls,
        "{allocs} allocations for {calls} calls"
    );
}
