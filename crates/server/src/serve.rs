//! The HTTP listener: a cap on open connections (past it, new ones wait in the kernel's
//! backlog instead of taking memory and file descriptors), a deadline for each request's
//! headers (a client that trickles them in, or keeps an idle connection, is closed), and a
//! graceful stop. axum's own `serve` has neither limit.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// The listener's limits (`[http]` in the configuration file).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (and an idle connection is kept).
    pub header_read_timeout_s: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout_s: 10,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish. Handlers see the client's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = Duration::from_secs(limits.header_read_timeout_s.max(1));
    // Each connection holds a receiver: the sender learns when the last one is gone.
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: wait
                    // a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            let router = router.clone();
            async move { router.oneshot(req.map(axum::body::Body::new)).await }
        });
        let mut closing_rx = closing_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = pin!(
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service)
            );
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = closing_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(closing_rx);
        });
    }
    drop(listener);
    drop(closing_rx);
    let _ = closing.send(true);
    closing.closed().await;
}
