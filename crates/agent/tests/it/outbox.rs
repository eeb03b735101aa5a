//! The on-disk outbox: order, acknowledgement, caps that drop the oldest and count them,
//! and persistence across a restart.

use optralis_agent::send::outbox::{Outbox, OutboxLimits};
use optralis_proto::agent::Report;
use optralis_proto::sample;

fn push(o: &Outbox, ts: i64) -> u64 {
    o.push(ts, |seq, stats| {
        let mut r = sample::report(seq, ts);
        r.outbox = stats;
        r
    })
    .unwrap()
}

fn seqs(o: &Outbox) -> Vec<u64> {
    o.peek(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|q| q.seq)
        .collect()
}

#[test]
fn reports_wait_in_order_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let o = Outbox::open(&dir.path().join("o.redb"), OutboxLimits::default()).unwrap();
    for i in 0..5 {
        assert_eq!(push(&o, 1000 + i), i as u64 + 1);
    }
    let batch = o.peek(2).unwrap();
    assert_eq!(batch.iter().map(|q| q.seq).collect::<Vec<_>>(), [1, 2]);
    let r: Report = serde_json::from_slice(&batch[1].json).unwrap();
    assert_eq!((r.seq, r.ts_ms, r.outbox.pending), (2, 1001, 1));
    assert_eq!(o.ack(&[1, 2, 99]).unwrap(), 2);
    assert_eq!(seqs(&o), [3, 4, 5]);
    assert_eq!(o.stats().unwrap().pending, 3);
}

#[test]
fn survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.redb");
    {
        let o = Outbox::open(&path, OutboxLimits::default()).unwrap();
        push(&o, 1);
        push(&o, 2);
        o.ack(&[1]).unwrap();
    }
    let o = Outbox::open(&path, OutboxLimits::default()).unwrap();
    assert_eq!(seqs(&o), [2]);
    assert_eq!(push(&o, 3), 3, "sequence numbers continue");
}

#[test]
fn caps_drop_the_oldest_and_count_them() {
    let dir = tempfile::tempdir().unwrap();
    let limits = OutboxLimits {
        max_reports: 3,
        max_bytes: u64::MAX,
        max_age_ms: i64::MAX / 2,
    };
    let o = Outbox::open(&dir.path().join("count.redb"), limits).unwrap();
    for i in 0..5 {
        push(&o, i);
    }
    assert_eq!(seqs(&o), [3, 4, 5]);
    assert_eq!(o.stats().unwrap().dropped_total, 2);
    // The next report tells the server what was dropped.
    let seq = push(&o, 6);
    let last = o
        .peek(10)
        .unwrap()
        .into_iter()
        .find(|q| q.seq == seq)
        .unwrap();
    let r: Report = serde_json::from_slice(&last.json).unwrap();
    assert_eq!(r.outbox.dropped_total, 2);

    let limits = OutboxLimits {
        max_reports: 1000,
        max_bytes: u64::MAX,
        max_age_ms: 10_000,
    };
    let o = Outbox::open(&dir.path().join("age.redb"), limits).unwrap();
    push(&o, 0);
    push(&o, 5_000);
    push(&o, 12_000);
    assert_eq!(
        seqs(&o),
        [2, 3],
        "the one older than 10 s at the last push went"
    );

    let one = serde_json::to_vec(&sample::report(1, 0)).unwrap().len() as u64 + 8;
    let limits = OutboxLimits {
        max_reports: 1000,
        max_bytes: one * 2 + one / 2,
        max_age_ms: i64::MAX / 2,
    };
    let o = Outbox::open(&dir.path().join("bytes.redb"), limits).unwrap();
    for i in 0..4 {
        push(&o, i);
    }
    assert_eq!(seqs(&o).len(), 2, "two reports fit in the byte cap");
    assert_eq!(o.stats().unwrap().dropped_total, 2);
}

#[test]
fn continues_after_the_servers_last_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let o = Outbox::open(&dir.path().join("o.redb"), OutboxLimits::default()).unwrap();
    o.continue_after(41).unwrap();
    assert_eq!(push(&o, 0), 42);
    o.continue_after(10).unwrap();
    assert_eq!(push(&o, 0), 43, "never goes backwards");
}
