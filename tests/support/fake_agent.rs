//! A stand-in agent service for the orchestrator's failure tests: answers `POST /agent` with a
//! chosen status, or only after a delay.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};

use crate::process::Background;

type Shared = (
    Arc<AtomicUsize>,
    Arc<Mutex<Option<HeaderMap>>>,
    u16,
    Duration,
);

pub struct FakeAgent {
    calls: Arc<AtomicUsize>,
    last_headers: Arc<Mutex<Option<HeaderMap>>>,
    server: Background,
}

impl FakeAgent {
    /// Answers every call with `status` after `delay`.
    pub async fn start(status: u16, delay: Duration) -> Self {
        let calls = Arc::new(AtomicUsize::new(0));
        let last_headers = Arc::new(Mutex::new(None));
        let state: Shared = (calls.clone(), last_headers.clone(), status, delay);
        let app = Router::new().route("/agent", post(agent)).with_state(state);
        let server = Background::serve(app).await;
        Self {
            calls,
            last_headers,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Every header line of the last request (a name may repeat).
    pub fn last_headers(&self) -> HeaderMap {
        self.last_headers
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
    }
}

async fn agent(
    State((calls, last, status, delay)): State<Shared>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    calls.fetch_add(1, Ordering::SeqCst);
    *last.lock().unwrap() = Some(headers);
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(status).unwrap();
    (
        status,
        Json(json!({ "answer": "from the fake agent", "sessionId": "s" })),
    )
}
