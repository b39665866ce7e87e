//! One UDP socket of one core: datagrams into the sans-IO datagram engine, calls out to their
//! owner cores, each reply back as one datagram to its sender.
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{select, Either};
use glommio::net::UdpSocket;
use log::{debug, warn};

use crate::proto::connection::ServerConfig;
use crate::proto::datagram::{DatagramServer, Received, MAX_DATAGRAM};

use super::conn::Dispatch;
use super::service::{Peer, Transport};
use super::shutdown::StopSignal;

/// Receives datagrams on `socket` until `stop`, admitting the calls `programs` allows.
pub(super) async fn serve<D: Dispatch>(
    socket: UdpSocket,
    programs: Arc<ServerConfig>,
    core: Rc<D>,
    stop: StopSignal,
) {
    let Ok(bound) = socket.local_addr() else {
        warn!("UDP socket without a local address; not serving it");
        return;
    };
    let socket = Rc::new(socket);
    let engine = Rc::new(DatagramServer::new(programs));
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let received = {
            let recv = Box::pin(socket.recv_from(&mut buf));
            let stopped = Box::pin(stop.wait());
            match select(recv, stopped).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => return,
            }
        };
        let (n, from) = match received {
            Ok(r) => r,
            Err(e) => {
                debug!("UDP {bound}: receive failed: {e}");
                continue;
            }
        };
        match engine.receive(Bytes::copy_from_slice(&buf[..n])) {
            Received::Drop => {}
            Received::Reply(reply) => send(&socket, &reply, from).await,
            Received::Call(call) => {
                let Ok(permit) = core.admission().acquire_static_permit(1).await else {
                    return;
                };
                let peer = Peer {
                    remote: from,
                    local: local_address(bound, from),
                    transport: Transport::Udp,
                };
                let (core, socket, engine) = (core.clone(), socket.clone(), engine.clone());
                glommio::spawn_local(async move {
                    let xid = call.xid;
                    let reply = core.dispatch(call, peer).await;
                    if let Some(bytes) = engine.reply(xid, &reply) {
                        send(&socket, &bytes, from).await;
                    }
                    drop(permit);
                })
                .detach();
            }
        }
    }
}

async fn send(socket: &UdpSocket, datagram: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(datagram, to).await {
        debug!("UDP reply to {to}: {e}");
    }
}

/// The address a datagram from `from` reached: the socket's own address, or, for a socket
/// bound to every address, the one the kernel routes replies to `from` from (a connected UDP
/// socket's local address; nothing is sent).
fn local_address(bound: SocketAddr, from: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let any: IpAddr = match from {
        SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
        SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
    };
    StdUdpSocket::bind(SocketAddr::new(any, 0))
        .and_then(|s| s.connect(from).map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| SocketAddr::new(a.ip(), bound.port()))
        .unwrap_or(bound)
}
