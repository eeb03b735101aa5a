//! A real HTTP receiver on a local port, standing in for Slack, Discord, Teams or a webhook
//! endpoint: it records every request and answers from a script (200 once the script is
//! empty).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// A status and the headers to answer with.
type Answer = (u16, Vec<(String, String)>);

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Status and headers to answer with, in order.
    script: Mutex<VecDeque<Answer>>,
}

/// What the receiver answers with: something an internal service would not want repeated.
pub const ANSWER_BODY: &str = r#"{"aws_secret_access_key":"receiver-body-must-not-leak"}"#;

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                s.received.lock().unwrap().push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                });
                let (status, headers) = s
                    .script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((200, vec![]));
                let mut resp: Response =
                    (StatusCode::from_u16(status).unwrap(), ANSWER_BODY).into_response();
                for (k, v) in headers {
                    resp.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        v.parse().unwrap(),
                    );
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these statuses and headers.
    pub fn script(&self, answers: &[(u16, &[(&str, &str)])]) {
        let mut script = self.shared.script.lock().unwrap();
        for (status, headers) in answers {
            script.push_back((
                *status,
                headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ));
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
