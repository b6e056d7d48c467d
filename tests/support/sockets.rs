//! Raw-socket helpers for tests that play a slow or silent client.

use std::time::Duration;

use tokio::{io::AsyncReadExt, net::TcpStream};

/// Reads from `socket` until the server closes it or answers; returns what was read, or
/// `None` if nothing happened within `limit`.
pub async fn read_until_closed(socket: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    received.extend_from_slice(&buffer[..n]);
                    if received.windows(4).any(|w| w == b"\r\n\r\n") {
                        return;
                    }
                }
            }
        }
    })
    .await;
    outcome
        .ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}
