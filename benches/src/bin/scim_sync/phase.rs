//! One phase of the sync: a queue of SCIM writes drained by `connections` keep-alive
//! connections, each taking the next write as soon as its previous one is answered (Entra
//! works the same way: a few objects in flight, the next sent when one is done).

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::{Method, Uri, header::HeaderValue};

use crate::http::{Connection, Target};

/// One write to send.
pub struct Write {
    pub method: Method,
    pub uri: Uri,
    pub body: Bytes,
}

/// What a phase did.
pub struct Outcome {
    /// Writes answered 2xx.
    pub successes: u64,
    /// Errors by kind (`status 409`, `connect`, `request`, …).
    pub errors: BTreeMap<String, u64>,
    /// The first few error answers or failures, for stderr.
    pub samples: Vec<String>,
    /// Round trip of each answered write, in µs.
    pub latency: Histogram<u64>,
    /// From the first send to the last answer.
    pub wall: Duration,
    /// With `capture_ids`: the `id` of each write's answer, by the write's position.
    pub ids: Vec<Option<String>>,
}

impl Outcome {
    /// All writes tallied, answered or not.
    pub fn writes(&self) -> u64 {
        self.successes + self.errors.values().sum::<u64>()
    }
}

/// Sends every write over `connections` connections and tallies the answers; with
/// `capture_ids`, keeps the `id` of each 2xx answer (the created resource's).
pub async fn run(
    target: &Target,
    authorization: &HeaderValue,
    writes: Vec<Write>,
    connections: u32,
    capture_ids: bool,
    sample_limit: usize,
) -> Outcome {
    let writes = Arc::new(writes);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (target, authorization, writes, next) =
                (target.clone(), authorization.clone(), Arc::clone(&writes), Arc::clone(&next));
            tokio::spawn(async move { drain(&target, &authorization, &writes, &next, capture_ids, sample_limit).await })
        })
        .collect();
    let mut outcome = Outcome {
        successes: 0,
        errors: BTreeMap::new(),
        samples: Vec::new(),
        latency: histogram(),
        wall: Duration::ZERO,
        ids: if capture_ids { vec![None; writes.len()] } else { Vec::new() },
    };
    for task in tasks {
        let part = task.await.expect("a connection task panicked");
        outcome.successes += part.successes;
        for (kind, count) in part.errors {
            *outcome.errors.entry(kind).or_default() += count;
        }
        outcome.samples.extend(part.samples);
        outcome.latency.add(&part.latency).expect("histograms of the same bounds add");
        for (position, id) in part.ids {
            outcome.ids[position] = Some(id);
        }
    }
    outcome.wall = started.elapsed();
    outcome.samples.truncate(sample_limit);
    outcome
}

/// A connection's share of a phase.
struct Part {
    successes: u64,
    errors: BTreeMap<String, u64>,
    samples: Vec<String>,
    latency: Histogram<u64>,
    ids: Vec<(usize, String)>,
}

/// Takes writes from the queue until it is empty; reconnects after a failed connection.
async fn drain(
    target: &Target,
    authorization: &HeaderValue,
    writes: &[Write],
    next: &AtomicUsize,
    capture_ids: bool,
    sample_limit: usize,
) -> Part {
    let mut part =
        Part { successes: 0, errors: BTreeMap::new(), samples: Vec::new(), latency: histogram(), ids: Vec::new() };
    let mut connection: Option<Connection> = None;
    loop {
        let position = next.fetch_add(1, Ordering::Relaxed);
        let Some(write) = writes.get(position) else { break };
        let sent = Instant::now();
        let answer = match connection.as_mut() {
            Some(connection) => Ok(connection),
            None => target.connect().await.map(|c| connection.insert(c)),
        };
        let answer = match answer {
            Ok(open) => {
                open.send(target.request(write.method.clone(), write.uri.clone(), authorization, write.body.clone()))
                    .await
            }
            Err(failure) => Err(failure),
        };
        match answer {
            Ok((status, body)) => {
                part.latency.saturating_record(sent.elapsed().as_micros() as u64);
                if status.is_success() {
                    part.successes += 1;
                    if capture_ids {
                        match id_of(&body) {
                            Some(id) => part.ids.push((position, id)),
                            None => note(
                                &mut part,
                                "answer without id".into(),
                                format!("{} {}: {status} without an id", write.method, write.uri),
                                sample_limit,
                            ),
                        }
                    }
                } else {
                    let text = String::from_utf8_lossy(&body);
                    note(
                        &mut part,
                        format!("status {}", status.as_u16()),
                        format!("{} {}: {status}: {text}", write.method, write.uri),
                        sample_limit,
                    );
                }
            }
            Err(failure) => {
                connection = None;
                note(
                    &mut part,
                    failure.kind.to_owned(),
                    format!("{} {}: {failure}", write.method, write.uri),
                    sample_limit,
                );
            }
        }
    }
    part
}

fn note(part: &mut Part, kind: String, sample: String, sample_limit: usize) {
    *part.errors.entry(kind).or_default() += 1;
    if part.samples.len() < sample_limit {
        part.samples.push(sample);
    }
}

/// The top-level `id` of a SCIM resource answer.
fn id_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Resource {
        id: String,
    }
    serde_json::from_slice::<Resource>(body).ok().map(|r| r.id)
}

/// A histogram of µs from 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}
