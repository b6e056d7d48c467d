//! A streamed answer as server-sent events, the same way in both services:
//!
//! ```text
//! event: chunk   data: {"text":"Trattoria "}        … as the text is produced
//! event: done    data: {"answer":"…", …}             once, last
//! event: error   data: {"error":{"code","message"}}  instead of `done`, if it failed
//! ```
//!
//! The answer is produced on its own task, which holds the request's span (so every span it
//! starts is a child of the SERVER span, and that span stays open to the last event) and ends in
//! one of three ways, recorded on the SERVER span as `agent_tracing.stream.outcome`:
//!
//! - `completed` / `failed`: the producer returned; `done` or `error` is sent. A failure is a
//!   server error on the span (status ERROR, `error.type` its code) when its status is a 5xx.
//! - `cancelled`: the caller hung up. The producer's future is dropped where it waits — the
//!   model's stream and the upstream connection with it — and every span it holds ends as it
//!   drops. A caller's cancellation is not a server error: the status stays unset.
//! - `client_too_slow`: the caller stopped reading. At most [`BUFFERED_EVENTS`] events wait
//!   for it, for at most `HTTP_STREAM_WRITE_TIMEOUT_MS`; then its connection is cut and the
//!   producer dropped as above.

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use tracing::{Instrument, Span};

use crate::error::{ApiFailure, error_body};

/// Events that may wait for a caller that reads slower than the answer is produced.
pub const BUFFERED_EVENTS: usize = 32;
/// How long a stream waits for a caller that stopped reading: the default of
/// `HTTP_STREAM_WRITE_TIMEOUT_MS`, and the value when no server loop gives one (in-process tests).
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A comment line this often, so a dead caller is noticed even while the model is silent.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// What the server loop (`serve.rs`) gives each request: a way to cut its connection, and how
/// long a stream may wait for the caller to read.
#[derive(Debug, Clone)]
pub struct ConnectionControl {
    cut: Arc<Notify>,
    write_timeout: Duration,
}

impl ConnectionControl {
    pub(crate) fn new(write_timeout: Duration) -> Self {
        Self {
            cut: Arc::new(Notify::new()),
            write_timeout,
        }
    }

    /// Resolves once a stream on this connection asked for it to be cut.
    pub(crate) async fn cut_requested(&self) {
        self.cut.notified().await;
    }
}

/// The extractor a streaming handler takes: [`EventStream::respond`] turns a producer into the
/// SSE response.
#[derive(Debug)]
pub struct EventStream {
    control: Option<ConnectionControl>,
}

impl<S: Send + Sync> FromRequestParts<S> for EventStream {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self {
            control: parts.extensions.get::<ConnectionControl>().cloned(),
        })
    }
}

/// Where a producer sends the answer's text as it is produced. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Relay {
    events: mpsc::Sender<Event>,
    write_timeout: Duration,
    too_slow: Arc<Notify>,
}

impl Relay {
    /// Sends one piece of the answer (a `chunk` event). If the caller has stopped reading for
    /// the write timeout, this never returns: the stream ends as `client_too_slow` and the
    /// producer is dropped — a producer needs no error path for a caller that went away.
    pub async fn text(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let event = Event::default()
            .event("chunk")
            .json_data(ChunkData { text })
            .expect("a string serialises");
        self.send(event).await;
    }

    async fn send(&self, event: Event) {
        match tokio::time::timeout(self.write_timeout, self.events.send(event)).await {
            Ok(Ok(())) => {}
            // Hung up: the task's `closed()` branch drops the producer; nothing to do here.
            Ok(Err(_)) => std::future::pending().await,
            Err(_) => {
                self.too_slow.notify_one();
                std::future::pending().await
            }
        }
    }
}

#[derive(Serialize)]
struct ChunkData<'a> {
    text: &'a str,
}

/// How a stream ended (`agent_tracing.stream.outcome` on the SERVER span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
    Cancelled,
    ClientTooSlow,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::ClientTooSlow => "client_too_slow",
        }
    }
}

impl EventStream {
    /// Answers `200 text/event-stream` at once and runs `produce` on its own task, in the
    /// current (SERVER) span: its `Ok` becomes the `done` event, its `Err` the `error` event.
    pub fn respond<F, Fut, T, E>(self, produce: F) -> Response
    where
        F: FnOnce(Relay) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize + Send + 'static,
        E: ApiFailure + Send + 'static,
    {
        let (events, mut receiver) = mpsc::channel(BUFFERED_EVENTS);
        let write_timeout = self
            .control
            .as_ref()
            .map_or(DEFAULT_WRITE_TIMEOUT, |c| c.write_timeout);
        let too_slow = Arc::new(Notify::new());
        let relay = Relay {
            events,
            write_timeout,
            too_slow: too_slow.clone(),
        };
        let producer = produce(relay.clone());
        let span = Span::current();
        let task = async move {
            // The final event's send is raced too: a caller can stop reading at the very end.
            let run = async {
                let result = producer.await;
                finish(&relay, result).await
            };
            let outcome = tokio::select! {
                biased;
                () = relay.events.closed() => Outcome::Cancelled,
                () = too_slow.notified() => Outcome::ClientTooSlow,
                outcome = run => outcome,
            };
            if outcome == Outcome::ClientTooSlow
                && let Some(control) = &self.control
            {
                control.cut.notify_one();
            }
            Span::current().record("agent_tracing.stream.outcome", outcome.as_str());
        };
        tokio::spawn(task.instrument(span));
        let stream = futures::stream::poll_fn(move |cx| {
            receiver
                .poll_recv(cx)
                .map(|event| event.map(Ok::<_, Infallible>))
        });
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
            .into_response()
    }
}

/// Sends the last event. Every branch sends at most one, then the relay is dropped and the
/// body ends.
async fn finish<T: Serialize, E: ApiFailure>(relay: &Relay, result: Result<T, E>) -> Outcome {
    let (event, outcome) = match result {
        Ok(done) => (
            Event::default().event("done").json_data(done),
            Outcome::Completed,
        ),
        Err(error) => {
            let (status, code) = error.status_and_code();
            if status.is_server_error() {
                let span = Span::current();
                span.record("otel.status_code", "ERROR");
                span.record("error.type", code);
            }
            let body = error_body(status, code, error.to_string());
            (
                Event::default().event("error").json_data(body),
                Outcome::Failed,
            )
        }
    };
    relay.send(event.expect("the final event serialises")).await;
    outcome
}

/// The stream events, as the OpenAPI documents describe them: each event as its SSE fields
/// (the envelope schema-aware clients and fuzzers check), its data described per event.
pub mod schema {
    use utoipa::ToSchema;

    /// One server-sent event.
    #[derive(Debug, ToSchema)]
    pub struct StreamEvent {
        /// `chunk`, then `done` or `error`.
        #[schema(pattern = "^(chunk|done|error)$")]
        pub event: String,
        /// JSON: `chunk` → `{"text": "…"}` (append it to what came before); `done` → the
        /// endpoint's plain answer; `error` → `{"error": {"code", "message"}}`.
        pub data: String,
    }
}
