//! A Server-Sent Events reader for the live board: opens the stream like a browser's
//! `EventSource` would (with `Last-Event-ID` when resuming) and hands over each event and
//! heartbeat comment as it arrives.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

/// One thing read off the stream.
#[derive(Debug, Clone)]
pub enum Item {
    Event {
        name: String,
        id: Option<String>,
        data: Value,
    },
    /// A comment line (`: heartbeat`).
    Comment(String),
}

/// An open stream; closed when dropped.
pub struct Board {
    rx: mpsc::Receiver<Item>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Board {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The status and (for a non-200) the body of an attempt to open a board.
pub enum Opened {
    Stream(Board),
    Refused(u16, Value),
}

impl Opened {
    pub fn board(self) -> Board {
        match self {
            Opened::Stream(b) => b,
            Opened::Refused(s, body) => panic!("board refused: {s} {body}"),
        }
    }

    pub fn refused(self) -> (u16, Value) {
        match self {
            Opened::Stream(_) => panic!("board opened, expected a refusal"),
            Opened::Refused(s, b) => (s, b),
        }
    }
}

/// Opens `GET {base}/v1/occurrences/{occ}/live` as `token`.
pub async fn open(base: &str, token: &str, occ: i64, last_event_id: Option<&str>) -> Opened {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let mut rb = http
        .get(format!("{base}/v1/occurrences/{occ}/live"))
        .bearer_auth(token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        rb = rb.header("last-event-id", id);
    }
    let res = rb.send().await.expect("open the live board");
    let status = res.status().as_u16();
    if status != 200 {
        let body = res.json().await.unwrap_or(Value::Null);
        return Opened::Refused(status, body);
    }
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(async move {
        let mut res = res;
        let mut buf = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf[..end].to_string();
                buf.drain(..end + 2);
                if let Some(item) = parse(&block)
                    && tx.send(item).await.is_err()
                {
                    return;
                }
            }
        }
    });
    Opened::Stream(Board { rx, task })
}

fn parse(block: &str) -> Option<Item> {
    let (mut name, mut id, mut data) = (None, None, String::new());
    for line in block.lines() {
        if let Some(c) = line.strip_prefix(':') {
            return Some(Item::Comment(c.trim().to_string()));
        }
        match line.split_once(':') {
            Some(("event", v)) => name = Some(v.trim().to_string()),
            Some(("id", v)) => id = Some(v.trim().to_string()),
            Some(("data", v)) => data.push_str(v.trim_start()),
            _ => {}
        }
    }
    let name = name?;
    Some(Item::Event {
        name,
        id,
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
    })
}

impl Board {
    /// The next item within `wait` (None if nothing came).
    pub async fn next_within(&mut self, wait: Duration) -> Option<Item> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next event (skipping comments) within `wait`, as (name, id, data); panics when
    /// none comes.
    pub async fn event(&mut self, wait: Duration) -> (String, String, Value) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Item::Event { name, id, data }) => {
                    return (name, id.unwrap_or_default(), data);
                }
                Some(Item::Comment(_)) => continue,
                None => panic!("no event on the live board within {wait:?}"),
            }
        }
    }

    /// Events until one about `user_id` arrives (within `wait`), returned with those before.
    pub async fn until_user(&mut self, user_id: i64, wait: Duration) -> Vec<Value> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!("no change for user {user_id} within {wait:?}; saw {seen:?}");
            }
            let (name, _, data) = self.event(left).await;
            assert_eq!(name, "change", "{data}");
            let done = data["user_id"] == user_id;
            seen.push(data);
            if done {
                return seen;
            }
        }
    }
}
