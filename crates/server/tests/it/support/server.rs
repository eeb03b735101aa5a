//! The server on a real port, for tests that need real connections (agents, streams).

use std::net::SocketAddr;
use std::sync::Arc;

use optralis::clock::{SharedClock, SystemClock};
use optralis::store::Store;
use optralis::{ApiSettings, AppState, app};
use tokio::sync::watch;

use super::test_notifier;

/// The server on a real port, restartable on the same port and database.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    store: Store,
}

impl RunningServer {
    pub async fn start(db_url: &str, addr: Option<SocketAddr>) -> Self {
        Self::start_with(db_url, addr, ApiSettings::default()).await
    }

    pub async fn start_with(db_url: &str, addr: Option<SocketAddr>, settings: ApiSettings) -> Self {
        let store = Store::connect(db_url, Arc::new(SystemClock) as SharedClock)
            .await
            .unwrap();
        let listener = match addr {
            Some(a) => {
                // The old socket may linger for a moment after a restart.
                let mut tries = 0;
                loop {
                    match tokio::net::TcpListener::bind(a).await {
                        Ok(l) => break l,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("rebind {a}: {e}"),
                    }
                }
            }
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let addr = listener.local_addr().unwrap();
        let (stop, mut rx) = watch::channel(false);
        let notifier = test_notifier();
        let state = AppState::new(store.clone(), settings, notifier.clone())
            .await
            .unwrap();
        let worker = optralis::notify::spawn_worker(store.clone(), notifier, rx.clone());
        let alerting = state.alerting.clone().spawn(rx.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app(state))
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
            let _ = worker.await;
            let _ = alerting.await;
        });
        Self {
            addr,
            url: format!("http://{addr}"),
            stop,
            task,
            store,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting, finishes in-flight requests, closes the database.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.store.close().await;
    }
}
