//! Rate limits on authentication, kept in memory per server: failed authentications per source
//! address (any route: API keys, the operator token, SCIM tokens and secrets), and token requests
//! per SCIM client and per source address on the OAuth2 token endpoint.
//!
//! An address past its failure budget is refused before its credentials are looked at, whatever
//! they are, until the budget refills: a guess that happens to be right learns nothing. IPv6
//! addresses count per `/64`, the block one client is usually given. Behind a reverse proxy the
//! source address is the proxy's (`docs/security.md`).

use std::{
    net::IpAddr,
    num::{NonZeroU32, NonZeroUsize},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _};
use lru::LruCache;

/// Addresses remembered as refused at once; past that the least recently refused is forgotten
/// (it may fail a few more times before it is refused again).
const REFUSED_ADDRESSES: NonZeroUsize = NonZeroUsize::new(65_536).expect("65536 is not zero");
/// Two refusals of one address this close together belong to one burst (audited once).
const BURST_GAP: Duration = Duration::from_secs(60);

/// A refusal: when to try again, and whether it starts a new burst (so the caller audits it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// How long the client must wait.
    pub retry_after: Duration,
    /// The first refusal of this burst.
    pub new_burst: bool,
}

/// Which budget a source address is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source(IpAddr);

impl Source {
    /// An IPv4 address as it is, an IPv6 address by its `/64` (an IPv4-mapped one as IPv4).
    fn of(address: IpAddr) -> Source {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => Source(IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into())),
            },
            v4 => Source(v4),
        }
    }
}

/// Until when a client is refused, and when it last was.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    until: Instant,
    last: Instant,
}

/// The rate limits (see the module documentation).
pub struct Throttle {
    failures: DefaultKeyedRateLimiter<Source>,
    /// Addresses refused for failing too often.
    refused: Mutex<LruCache<Source, Refusal>>,
    /// When the last refusal in `refused` ends, in nanoseconds after `started`: before then
    /// `admit` looks an address up, after it every address is admitted without taking the lock
    /// (the common case, on every authenticated request).
    refusing_until: AtomicU64,
    /// The origin of `refusing_until`.
    started: Instant,
    tokens_by_client: DefaultKeyedRateLimiter<String>,
    tokens_by_address: DefaultKeyedRateLimiter<Source>,
    /// Token requests refused, by client, only to tell one burst from the next.
    token_refusals: Mutex<LruCache<String, Refusal>>,
}

impl Throttle {
    /// Limits of `failures_per_minute` failed authentications per source address and
    /// `tokens_per_minute` token requests per SCIM client and per source address (each also the
    /// burst allowed at once).
    pub fn new(failures_per_minute: NonZeroU32, tokens_per_minute: NonZeroU32) -> Throttle {
        Throttle {
            failures: DefaultKeyedRateLimiter::keyed(Quota::per_minute(failures_per_minute)),
            refused: Mutex::new(LruCache::new(REFUSED_ADDRESSES)),
            refusing_until: AtomicU64::new(0),
            started: Instant::now(),
            tokens_by_client: DefaultKeyedRateLimiter::keyed(Quota::per_minute(tokens_per_minute)),
            tokens_by_address: DefaultKeyedRateLimiter::keyed(Quota::per_minute(tokens_per_minute)),
            token_refusals: Mutex::new(LruCache::new(REFUSED_ADDRESSES)),
        }
    }

    /// `Err` while `address` is refused for failing too often: the caller answers `429` without
    /// looking at the credentials.
    pub fn admit(&self, address: IpAddr) -> Result<(), Limited> {
        if self.nanos_since_start(Instant::now()) >= self.refusing_until.load(Ordering::Relaxed) {
            return Ok(());
        }
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        match refused.peek(&Source::of(address)) {
            Some(refusal) => {
                let now = Instant::now();
                let retry_after = refusal.until.saturating_duration_since(now);
                if retry_after.is_zero() { Ok(()) } else { Err(Limited { retry_after, new_burst: false }) }
            }
            None => Ok(()),
        }
    }

    /// Counts a failed authentication from `address`; `Some` when it is one too many, and the
    /// address is refused from now on for the time it names.
    pub fn failed(&self, address: IpAddr) -> Option<Limited> {
        let source = Source::of(address);
        let not_until = self.failures.check_key(&source).err()?;
        let retry_after = not_until.wait_time_from(self.failures.clock().now()).max(Duration::from_secs(1));
        let limited = refuse(&self.refused, source, retry_after);
        let until = self.nanos_since_start(Instant::now() + retry_after);
        self.refusing_until.fetch_max(until, Ordering::Relaxed);
        Some(limited)
    }

    /// Counts a token request of SCIM client `client_id` from `address`; `Err` past either
    /// budget.
    pub fn token_request(&self, client_id: &str, address: IpAddr) -> Result<(), Limited> {
        let source = Source::of(address);
        let clock = self.tokens_by_address.clock();
        let over = match self.tokens_by_address.check_key(&source) {
            Err(not_until) => Some(not_until.wait_time_from(clock.now())),
            Ok(()) => {
                self.tokens_by_client.check_key(&client_id.to_owned()).err().map(|n| n.wait_time_from(clock.now()))
            }
        };
        match over {
            Some(wait) => Err(refuse(&self.token_refusals, client_id.to_owned(), wait.max(Duration::from_secs(1)))),
            None => Ok(()),
        }
    }

    /// `at` in nanoseconds after `started`, saturating.
    fn nanos_since_start(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Forgets budgets that are full again, so the memory held follows the clients that are
    /// being limited now, not every client ever seen.
    pub fn forget_idle(&self) {
        for limiter in [&self.failures, &self.tokens_by_address] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.tokens_by_client.retain_recent();
        self.tokens_by_client.shrink_to_fit();
    }
}

/// Records a refusal of `key` for `retry_after` in `refusals`, telling whether it starts a burst.
fn refuse<K: std::hash::Hash + Eq>(refusals: &Mutex<LruCache<K, Refusal>>, key: K, retry_after: Duration) -> Limited {
    let now = Instant::now();
    let mut refusals = refusals.lock().unwrap_or_else(|e| e.into_inner());
    let new_burst = refusals.peek(&key).is_none_or(|refusal| now.duration_since(refusal.last) > BURST_GAP);
    refusals.put(key, Refusal { until: now + retry_after, last: now });
    Limited { retry_after, new_burst }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: NonZeroU32 = NonZeroU32::MIN;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn an_address_is_refused_after_its_failure_budget_and_others_are_not() {
        let throttle = Throttle::new(nz(3), nz(100));
        let attacker: IpAddr = "192.0.2.1".parse().unwrap();
        let bystander: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.admit(attacker), Ok(()));
            assert_eq!(throttle.failed(attacker), None);
        }
        let limited = throttle.failed(attacker).expect("the fourth failure is one too many");
        assert!(limited.new_burst);
        assert!(limited.retry_after >= Duration::from_secs(1));
        let refused = throttle.admit(attacker).expect_err("refused before its credentials are looked at");
        assert!(!refused.new_burst, "one burst is audited once");
        assert_eq!(throttle.admit(bystander), Ok(()));
        assert_eq!(throttle.failed(bystander), None);
        // Refused again within the burst: not a new one.
        assert_eq!(throttle.failed(attacker).map(|l| l.new_burst), Some(false));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let throttle = Throttle::new(ONE, nz(100));
        assert_eq!(throttle.failed("2001:db8:1:2::1".parse().unwrap()), None);
        assert!(throttle.failed("2001:db8:1:2:ffff::9".parse().unwrap()).is_some(), "same /64");
        assert_eq!(throttle.failed("2001:db8:1:3::1".parse().unwrap()), None, "another /64");
        assert_eq!(throttle.failed("::ffff:198.51.100.7".parse().unwrap()), None);
        assert!(throttle.failed("198.51.100.7".parse().unwrap()).is_some(), "the same IPv4 address");
    }

    #[test]
    fn token_requests_are_limited_per_client_and_per_address() {
        let throttle = Throttle::new(nz(100), nz(2));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let three: IpAddr = "192.0.2.3".parse().unwrap();
        assert_eq!(throttle.token_request("sc_a", one), Ok(()));
        assert_eq!(throttle.token_request("sc_a", two), Ok(()));
        let limited = throttle.token_request("sc_a", three).expect_err("client sc_a is past its budget");
        assert!(limited.new_burst);
        assert!(!throttle.token_request("sc_a", three).unwrap_err().new_burst, "the same burst");
        assert_eq!(throttle.admit(three), Ok(()), "a token limit does not refuse the address's other logins");
        assert_eq!(throttle.token_request("sc_b", one), Ok(()));
        assert!(throttle.token_request("sc_c", one).is_err(), "address one is past its budget");
        throttle.forget_idle();
    }
}
