//! Several servers on one database: background jobs (rollups, retention, the offline sweep,
//! the session purge) run on one of them at a time, and a report one server ingests reaches
//! the live streams of the others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use optralis::clock::{SharedClock, SystemClock};
use optralis::store::{Job, Store};

use optralis::principal::Role;
use optralis_agent::Agent;
use optralis_agent::collect::native;

use crate::agent_e2e::{blocking, options};
use crate::support::stream::{stream_lines, wait_for_line};
use crate::support::{Backend, RunningServer, TestDb};

async fn store(url: &str) -> Store {
    Store::connect(url, Arc::new(SystemClock) as SharedClock)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_background_job_runs_on_one_server_at_a_time() {
    let db = TestDb::new(Backend::Postgres).await;
    let (a, b) = (store(&db.url).await, store(&db.url).await);
    let lease = a
        .try_lease(Job::Rollups)
        .await
        .unwrap()
        .expect("a free job");
    assert!(
        b.try_lease(Job::Rollups).await.unwrap().is_none(),
        "a second server ran the rollups at the same time"
    );
    let other = b.try_lease(Job::Retention).await.unwrap();
    other.expect("another job is free").release().await.unwrap();
    lease.release().await.unwrap();

    let lease = b.try_lease(Job::Rollups).await.unwrap().expect("released");
    assert!(a.try_lease(Job::Rollups).await.unwrap().is_none());
    // A run that ends without releasing (an error, a cancelled task) frees the job with its
    // connection, rather than holding it for good.
    drop(lease);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(lease) = a.try_lease(Job::Rollups).await.unwrap() {
            lease.release().await.unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a dropped lease still holds the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn on_sqlite_the_one_server_always_holds_the_lease() {
    let db = TestDb::new(Backend::Sqlite).await;
    let s = store(&db.url).await;
    let first = s.try_lease(Job::Rollups).await.unwrap().expect("granted");
    let second = s.try_lease(Job::Rollups).await.unwrap().expect("granted");
    first.release().await.unwrap();
    second.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_ingested_by_one_server_reaches_a_live_stream_on_another() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = RunningServer::start(&db.url, None).await;
    let b = RunningServer::start(&db.url, None).await;
    let org = b.store().org_by_name("default").await.unwrap();
    let (_, token) = b
        .store()
        .create_api_token(&org, "stream", Role::Observer)
        .await
        .unwrap();
    let on_b = stream_lines(&b.url, &token);
    assert_eq!(
        on_b.recv_timeout(Duration::from_secs(10)).unwrap(),
        "content-type: text/event-stream"
    );
    let key = a.store().create_enroll_key(&org).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&a.url, &key, dir.path());
    let machine = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        assert_eq!(agent.flush().unwrap().acknowledged, 1);
        agent.machine_id().unwrap().to_owned()
    })
    .await;
    // Ingested by A, announced by B (PostgreSQL NOTIFY between them).
    wait_for_line(&on_b, &machine, Duration::from_secs(10));
    // B is left running: its graceful stop would wait for the stream still open on it.
    a.stop().await;
}

/// POST `body` as JSON to `url` with an optional bearer token: the status and the answer.
fn post(url: &str, token: Option<&str>, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let mut req = ureq::post(url)
        .config()
        .http_status_as_error(false)
        .build()
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req
        .send(serde_json::to_vec(body).unwrap().as_slice())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_machine_token_stops_working_on_every_server_at_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = RunningServer::start(&db.url, None).await;
    let b = RunningServer::start(&db.url, None).await;
    let org = a.store().org_by_name("default").await.unwrap();
    let key = a.store().create_enroll_key(&org).await.unwrap();
    let (url_a, url_b) = (a.url.clone(), b.url.clone());
    let clock = a.store().clock();
    blocking(move || {
        let enroll = |proof: Option<&str>| {
            let mut body = serde_json::json!({
                "enroll_key": key, "fingerprint": "fp-replicas-0123456789abcdef",
                "facts": crate::support::facts("replica-test"),
            });
            if let Some(p) = proof {
                body["machine_token"] = p.into();
            }
            let (status, answer) = post(&format!("{url_a}/api/v1/agent/enroll"), None, &body);
            assert!(status == 200 || status == 201, "{status} {answer}");
            answer["machine_token"].as_str().unwrap().to_owned()
        };
        let mut seq = 0;
        let mut report = |token: &str| {
            seq += 1;
            let r = optralis_proto::sample::report(seq, clock.now_ms());
            post(
                &format!("{url_b}/api/v1/agent/reports"),
                Some(token),
                &serde_json::json!({"reports": [r]}),
            )
            .0
        };
        let old = enroll(None);
        assert_eq!(report(&old), 200, "server B accepts (and caches) the token");
        // The machine enrolls again through A, as itself: A issues a new token.
        let new = enroll(Some(&old));
        assert_ne!(new, old);
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            match report(&old) {
                401 => break,
                200 => assert!(
                    Instant::now() < deadline,
                    "server B still accepts the replaced token after 1 s"
                ),
                other => panic!("unexpected {other}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(report(&new), 200, "the new token works on B");
    })
    .await;
    a.stop().await;
    b.stop().await;
}
