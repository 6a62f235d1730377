//! The client loops: each connection sends logins one after another until the plan ends and
//! tallies what came back.
//!
//! * **Closed loop** (no rate): a connection sends the next login as soon as the answer to the
//!   previous one is read; latency is send → answer read.
//! * **Open loop** (`--rate`): request *k* of the whole run is due at `begin + k / rate`. A free
//!   connection claims the next slot, waits for its due time and sends; when every connection is
//!   busy, due requests wait, and that wait counts: latency runs from the due time to the answer,
//!   so a stalled server is not hidden by the generator slowing down (coordinated omission).
//!   Tokio's timer has 1 ms resolution, so a connection wakes for its slot up to 1 ms early
//!   rather than late, and latency runs from the due time or the actual send, whichever came
//!   first. The service time (send → answer) is kept beside it.
//!
//! Only requests due (closed loop: sent) after the warm-up are tallied.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::{Method, StatusCode, Uri, header::HeaderValue};

use crate::http::{Connection, Target};

/// When the run starts, starts counting and stops, and (open loop) its rate.
#[derive(Clone, Copy)]
pub struct Plan {
    /// Sending starts (the warm-up begins).
    pub begin: Instant,
    /// Counting starts.
    pub measure_from: Instant,
    /// Sending stops; requests in flight are still read and tallied.
    pub end: Instant,
    /// Open loop: requests per second over all connections.
    pub rate: Option<f64>,
}

/// What every connection shares: the login requests and the counters handing out users and
/// open-loop slots.
pub struct Logins {
    target: Target,
    uri: Uri,
    authorization: HeaderValue,
    bodies: Vec<Bytes>,
    next_user: AtomicU64,
    next_slot: AtomicU64,
}

impl Logins {
    /// Logins to `uri` on `target`, one body per user, users taken round-robin.
    pub fn new(target: Target, uri: Uri, authorization: HeaderValue, bodies: Vec<Bytes>) -> Self {
        Logins { target, uri, authorization, bodies, next_user: AtomicU64::new(0), next_slot: AtomicU64::new(0) }
    }

    /// The next user's login request.
    fn next_request(&self) -> hyper::Request<http_body_util::Full<Bytes>> {
        let user = self.next_user.fetch_add(1, Ordering::Relaxed) % self.bodies.len() as u64;
        self.request_for(user)
    }

    fn request_for(&self, user: u64) -> hyper::Request<http_body_util::Full<Bytes>> {
        self.target.request(Method::POST, self.uri.clone(), &self.authorization, self.bodies[user as usize].clone())
    }
}

/// Runs `connections` connection loops of `requests` to the end of `plan`; what they saw.
pub async fn run(requests: &Arc<Logins>, connections: u32, plan: Plan, show_errors: usize) -> anyhow::Result<Tally> {
    let loops: Vec<_> =
        (0..connections).map(|_| tokio::spawn(connection_loop(Arc::clone(requests), plan, show_errors))).collect();
    let mut tally = Tally::new(show_errors);
    for connection in loops {
        tally.merge(connection.await.context("a connection loop panicked")?);
    }
    Ok(tally)
}

/// Logs every user in once, over `connections` connections, so that the run measures returning
/// users (an existing user's login updates rows instead of inserting them); fails at the first
/// error. The run then starts again from the first user.
pub async fn prime(logins: &Arc<Logins>, connections: u32) -> anyhow::Result<()> {
    let users = logins.bodies.len() as u64;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let logins = Arc::clone(logins);
            tokio::spawn(async move {
                let mut connection = logins.target.connect().await?;
                loop {
                    let user = logins.next_user.fetch_add(1, Ordering::Relaxed);
                    if user >= users {
                        return anyhow::Ok(());
                    }
                    let (status, body) = connection.send(logins.request_for(user)).await?;
                    anyhow::ensure!(
                        status == StatusCode::OK,
                        "priming user {user}: status {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                    if connection.is_closing() {
                        connection = logins.target.connect().await?;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    logins.next_user.store(0, Ordering::Relaxed);
    Ok(())
}

/// What one or more connections saw during the measured part of the run.
pub struct Tally {
    /// Latency of every request answered (any status), in µs.
    pub latency: Histogram<u64>,
    /// Open loop: send → answer, in µs (closed loop: empty, it equals `latency`).
    pub service_time: Histogram<u64>,
    /// Answers with status 200.
    pub successes: u64,
    /// Of those, logins the rules blocked (`"blocked": true`: No organization).
    pub blocked: u64,
    /// Of those, logins that created the user.
    pub created: u64,
    /// Failures by kind: `status 409`, `connect`, `request`, `response body`.
    pub errors: BTreeMap<String, u64>,
    /// The first few error answers' bodies or failures' messages.
    pub samples: Vec<String>,
    /// How many samples to keep.
    sample_limit: usize,
}

impl Tally {
    /// An empty tally keeping up to `sample_limit` error samples.
    pub fn new(sample_limit: usize) -> Self {
        Tally {
            latency: microsecond_histogram(),
            service_time: microsecond_histogram(),
            successes: 0,
            blocked: 0,
            created: 0,
            errors: BTreeMap::new(),
            samples: Vec::new(),
            sample_limit,
        }
    }

    /// Requests tallied: successes and errors.
    pub fn requests(&self) -> u64 {
        self.successes + self.errors.values().sum::<u64>()
    }

    /// Adds `other` in.
    pub fn merge(&mut self, other: Tally) {
        self.latency.add(&other.latency).expect("histograms with the same bounds add");
        self.service_time.add(&other.service_time).expect("histograms with the same bounds add");
        self.successes += other.successes;
        self.blocked += other.blocked;
        self.created += other.created;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        let room = self.sample_limit.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }

    fn answer(&mut self, status: StatusCode, body: &[u8]) {
        if status == StatusCode::OK {
            self.successes += 1;
            // The flags come first in the answer (`{"user_id":…,"created":…,"blocked":…`).
            let head = &body[..body.len().min(256)];
            self.blocked += u64::from(contains(head, br#""blocked":true"#));
            self.created += u64::from(contains(head, br#""created":true"#));
        } else {
            self.error(format!("status {}", status.as_u16()), || String::from_utf8_lossy(body).into_owned());
        }
    }

    fn error(&mut self, kind: String, detail: impl FnOnce() -> String) {
        *self.errors.entry(kind.clone()).or_default() += 1;
        if self.samples.len() < self.sample_limit {
            self.samples.push(format!("{kind}: {}", detail()));
        }
    }
}

/// Runs one connection's loop until `plan.end`; returns its tally.
async fn connection_loop(logins: Arc<Logins>, plan: Plan, sample_limit: usize) -> Tally {
    let mut tally = Tally::new(sample_limit);
    let mut connection: Option<Connection> = None;
    loop {
        let due = match plan.rate {
            None => Instant::now(),
            Some(rate) => {
                let slot = logins.next_slot.fetch_add(1, Ordering::Relaxed);
                plan.begin + Duration::from_secs_f64(slot as f64 / rate)
            }
        };
        if due >= plan.end {
            return tally;
        }
        if let Some(wake) = due.checked_sub(TIMER_RESOLUTION)
            && wake > Instant::now()
        {
            tokio::time::sleep_until(wake.into()).await;
        }
        let counted = due >= plan.measure_from;
        let open = match connection.as_mut() {
            Some(open) => open,
            None => match logins.target.connect().await {
                Ok(fresh) => connection.insert(fresh),
                Err(failure) => {
                    if counted {
                        tally.error(failure.kind.to_owned(), || failure.detail);
                    }
                    // Do not spin on a server that refuses connections.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let sent = Instant::now();
        let result = open.send(logins.next_request()).await;
        let done = Instant::now();
        if connection.as_ref().is_some_and(Connection::is_closing) {
            connection = None;
        }
        match result {
            Ok((status, body)) if counted => {
                tally.latency.saturating_record(micros(done - due.min(sent)));
                if plan.rate.is_some() {
                    tally.service_time.saturating_record(micros(done - sent));
                }
                tally.answer(status, &body);
            }
            Ok(_) => {}
            Err(failure) => {
                connection = None;
                if counted {
                    tally.error(failure.kind.to_owned(), || failure.detail);
                }
            }
        }
    }
}

/// How late Tokio's timer may fire (it rounds deadlines up to the next millisecond).
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// A histogram of 1 µs … 60 s at 3 significant digits (longer values are clamped to 60 s).
pub fn microsecond_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// `elapsed` in whole microseconds.
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
