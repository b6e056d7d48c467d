//! A streamed answer against real sockets (`serve` on loopback): a caller that stops reading
//! gets its connection cut after the write timeout, the producer is dropped, and the server
//! goes on serving.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, http::StatusCode, routing::get};
use service_kit::{
    config::EnvConfig,
    error::ApiFailure,
    serve::{ServerLimits, serve},
    sse::EventStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl ApiFailure for Never {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        (StatusCode::INTERNAL_SERVER_ERROR, "never")
    }
}

/// Sets its flag when dropped: the producer's future was dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

const PIECE: usize = 16 * 1024;

#[tokio::test]
async fn a_caller_that_stops_reading_is_cut_after_the_write_timeout_and_the_server_goes_on() {
    let produced = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let (p, d) = (produced.clone(), dropped.clone());
    let app = Router::new()
        .route(
            "/stream",
            get(move |events: EventStream| {
                let (produced, dropped) = (p.clone(), d.clone());
                async move {
                    events.respond(move |relay| async move {
                        let _guard = Dropped(dropped);
                        // Far more than any buffer between here and the caller holds.
                        let piece = "x".repeat(PIECE);
                        for _ in 0..100_000 {
                            relay.text(&piece).await;
                            produced.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok::<(), Never>(())
                    })
                }
            }),
        )
        .route("/ping", get(|| async { "pong" }));
    let limits =
        ServerLimits::from_vars([("HTTP_STREAM_WRITE_TIMEOUT_MS".to_owned(), "300".to_owned())])
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        serve(listener, app, &limits, std::future::pending::<()>()).await;
    });

    // A caller that asks and then never reads.
    let mut stalled = tokio::net::TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while !dropped.load(Ordering::SeqCst) {
        assert!(started.elapsed() < Duration::from_secs(10), "never cut");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Bounded: what was produced is what the buffers held, not an unbounded queue.
    let buffered = produced.load(Ordering::SeqCst) * PIECE;
    assert!(buffered < 64 * 1024 * 1024, "{buffered} bytes produced");
    assert!(
        produced.load(Ordering::SeqCst) < 100_000,
        "it was cut, not finished"
    );

    // The connection is closed: reading drains what the kernel held, then ends — well before
    // the 10 s header timeout would close an idle keep-alive connection.
    let mut sink = vec![0; 1 << 20];
    let drained = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match stalled.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection was not closed");

    // The server is unaffected.
    let mut other = tokio::net::TcpStream::connect(address).await.unwrap();
    other
        .write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("pong"));
}
