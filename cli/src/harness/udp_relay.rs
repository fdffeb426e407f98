//! A loopback UDP relay between function instances and the agent's QUIC fallback server, which
//! the fault benchmark can make drop every datagram for a while (a network partition).
//!
//! Each client address gets its own upstream socket, so the server sees one peer per client as
//! it would without the relay. Dropping is in both directions.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

use anyhow::{Context, Result};
use tokio::{
    net::UdpSocket,
    task::{JoinHandle, JoinSet},
};

/// Large enough for any QUIC datagram.
const DATAGRAM_MAX: usize = 65_536;

/// The relay; its tasks end when it drops.
pub struct UdpRelay {
    /// The port clients send to.
    pub port: u16,
    dropping: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    /// Holds the flows' tasks: aborting it ends them all.
    relay: JoinHandle<()>,
}

impl UdpRelay {
    /// Relays datagrams sent to a fresh loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<UdpRelay> {
        let front = Arc::new(
            UdpSocket::bind("127.0.0.1:0")
                .await
                .context("binding the relay's UDP port")?,
        );
        let port = front.local_addr()?.port();
        let dropping = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let relay = tokio::spawn(forward_from_clients(
            front,
            upstream,
            dropping.clone(),
            dropped.clone(),
        ));
        Ok(UdpRelay {
            port,
            dropping,
            dropped,
            relay,
        })
    }

    /// While set, every datagram either way is discarded.
    pub fn set_dropping(&self, drop: bool) {
        self.dropping.store(drop, Ordering::SeqCst);
    }

    /// Datagrams discarded so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

async fn forward_from_clients(
    front: Arc<UdpSocket>,
    upstream: SocketAddr,
    dropping: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut tasks = JoinSet::new();
    let mut flows: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; DATAGRAM_MAX];
    loop {
        let Ok((n, client)) = front.recv_from(&mut buf).await else {
            continue;
        };
        if dropping.load(Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let flow = match flows.get(&client) {
            Some(flow) => flow.clone(),
            None => {
                let Ok(socket) = UdpSocket::bind("127.0.0.1:0").await else {
                    continue;
                };
                if socket.connect(upstream).await.is_err() {
                    continue;
                }
                let socket = Arc::new(socket);
                tasks.spawn(forward_to_client(
                    socket.clone(),
                    front.clone(),
                    client,
                    dropping.clone(),
                    dropped.clone(),
                ));
                flows.insert(client, socket.clone());
                socket
            }
        };
        let _ = flow.send(&buf[..n]).await;
    }
}

async fn forward_to_client(
    upstream: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    dropping: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; DATAGRAM_MAX];
    loop {
        let Ok(n) = upstream.recv(&mut buf).await else {
            continue;
        };
        if dropping.load(Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let _ = front.send_to(&buf[..n], client).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn relays_both_ways_and_drops_while_told() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let relay = UdpRelay::start(server.local_addr().unwrap()).await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(("127.0.0.1", relay.port)).await.unwrap();
        let mut buf = [0u8; 16];

        client.send(b"ping").await.unwrap();
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        server.send_to(b"pong", from).await.unwrap();
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pong");

        relay.set_dropping(true);
        client.send(b"lost").await.unwrap();
        let late =
            tokio::time::timeout(std::time::Duration::from_millis(200), server.recv(&mut buf));
        assert!(late.await.is_err(), "a datagram crossed while dropping");
        assert_eq!(relay.dropped(), 1);

        relay.set_dropping(false);
        client.send(b"again").await.unwrap();
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"again");
    }
}
