//! A live-stream client over real HTTP: `GET /api/v1/stream` read line by line on a thread of
//! its own, each line sent on a channel (the first is the response's content type).

use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub fn stream_lines(base: &str, token: &str) -> Receiver<String> {
    let (lines, received) = channel::<String>();
    let url = format!("{base}/api/v1/stream");
    let token = token.to_owned();
    std::thread::spawn(move || {
        let mut resp = ureq::get(&url)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = lines.send(format!("content-type: {kind}"));
        let reader = std::io::BufReader::new(resp.body_mut().as_reader());
        for line in std::io::BufRead::lines(reader) {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    received
}

/// Waits for a line containing `needle`; the lines seen before it on failure.
pub fn wait_for_line(received: &Receiver<String>, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no stream line with {needle} ({e}): {seen:?}"),
        }
    }
}
