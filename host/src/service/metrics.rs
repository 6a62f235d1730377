//! Prometheus metrics: what `GET /metrics` exposes.
//!
//! Labels never carry tenant, realm or user ids: the endpoint is unauthenticated (scraped from
//! the operator's network), and ids would also make the series count unbounded. For the same
//! reason every label takes its value from a closed set: HTTP methods are the standard ones or
//! `other` ([`method_label`]), routes the router's templates or `unmatched`.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// Labels of one rule evaluation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EvaluationLabels {
    /// What triggered it: `login`, `dry_run`, `scim_create`, …
    pub trigger: String,
    /// `ok`, or the kind of failure (`fuel_exhausted`, `timeout`, `store`, …).
    pub result: String,
}

/// Labels of one evaluation-latency observation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TriggerLabels {
    /// What triggered it.
    pub trigger: String,
}

/// Labels of one HTTP request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The HTTP method, as [`method_label`] names it.
    pub method: &'static str,
    /// The matched route template (`/v1/tenants/{tenant}/realms/{realm}/login`), or `unmatched`.
    pub route: String,
    /// The status code.
    pub status: u16,
}

/// Labels of one request-latency observation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The HTTP method, as [`method_label`] names it.
    pub method: &'static str,
    /// The matched route template, or `unmatched`.
    pub route: String,
}

/// The methods that get a label of their own; any other is `other`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The `method` label of a request: the standard method itself, or `other` for any other (a
/// client can send made-up methods, each of which would otherwise be a series of its own).
/// Methods are case-sensitive: `get` is not `GET`.
pub fn method_label(method: &str) -> &'static str {
    METHODS.into_iter().find(|known| *known == method).unwrap_or("other")
}

/// Labels of an error count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The error's code as clients see it (`bad_request`, `not_found`, …) or, for rule
    /// failures, the engine's kind (`fuel_exhausted`, …).
    pub kind: String,
}

/// Labels of a cache lookup.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `module` (compiled modules) or `version` (stored version rows).
    pub cache: &'static str,
    /// `hit` or `miss`.
    pub result: &'static str,
}

/// Labels of a shadow evaluation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShadowLabels {
    /// `same`, `differs`, `failed` (the candidate failed), or `dropped` (too many in flight).
    pub result: &'static str,
}

/// Labels of a live decision whose rules failed. Not the realm or the module version: both are
/// a tenant's (unbounded, and the endpoint is unauthenticated); the decision record has them.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleFailureLabels {
    /// The failure policy that applied (`fail_closed`, `last_decision`, `fallback_organization`).
    pub policy: &'static str,
    /// The kind of failure (`trap`, `fuel_exhausted`, `timeout`, `module_load`, …).
    pub kind: &'static str,
}

/// Every metric the host keeps, registered once.
pub struct Metrics {
    registry: Registry,
    /// Rule evaluations by trigger and result.
    pub evaluations: Family<EvaluationLabels, Counter>,
    /// Time spent in rule modules per evaluation (both kinds together), in seconds.
    pub evaluation_seconds: Family<TriggerLabels, Histogram>,
    /// HTTP requests by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// HTTP request latency in seconds, by method and route.
    pub http_request_seconds: Family<RouteLabels, Histogram>,
    /// Errors by kind: API error codes and rule-failure kinds.
    pub errors: Family<ErrorLabels, Counter>,
    /// Module and version cache lookups.
    pub cache: Family<CacheLabels, Counter>,
    /// Shadow evaluations by result.
    pub shadow: Family<ShadowLabels, Counter>,
    /// Decision records deleted by retention.
    pub decisions_purged: Counter,
    /// Live decisions whose rules failed, by the failure policy that applied and the failure.
    pub rule_failures: Family<RuleFailureLabels, Counter>,
}

/// Latency buckets from 10 µs to about 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 21))
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix("muster"),
            evaluations: Family::default(),
            evaluation_seconds: Family::new_with_constructor(latency_histogram),
            http_requests: Family::default(),
            http_request_seconds: Family::new_with_constructor(latency_histogram),
            errors: Family::default(),
            cache: Family::default(),
            shadow: Family::default(),
            decisions_purged: Counter::default(),
            rule_failures: Family::default(),
        };
        metrics.registered()
    }
}

impl Metrics {
    /// Registers every metric with the registry (families are shared handles: the clones
    /// registered are the ones recorded into).
    fn registered(mut self) -> Self {
        let registry = &mut self.registry;
        registry.register("evaluations", "Rule evaluations by trigger and result", self.evaluations.clone());
        registry.register(
            "evaluation_seconds",
            "Time spent in rule modules per evaluation",
            self.evaluation_seconds.clone(),
        );
        registry.register("http_requests", "HTTP requests by method, route and status", self.http_requests.clone());
        registry.register(
            "http_request_seconds",
            "HTTP request latency by method and route",
            self.http_request_seconds.clone(),
        );
        registry.register("errors", "Errors by kind (API error codes, rule failure kinds)", self.errors.clone());
        registry.register("cache_lookups", "Module and version cache lookups", self.cache.clone());
        registry.register("shadow_evaluations", "Shadow evaluations by result", self.shadow.clone());
        registry.register("decisions_purged", "Decision records deleted by retention", self.decisions_purged.clone());
        registry.register(
            "rule_failures",
            "Live decisions whose rules failed, by failure policy applied and failure kind",
            self.rule_failures.clone(),
        );
        self
    }

    /// Counts an error of `kind`.
    pub fn error(&self, kind: &str) {
        self.errors.get_or_create(&ErrorLabels { kind: kind.to_owned() }).inc();
    }

    /// Counts a cache lookup.
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        self.cache.get_or_create(&CacheLabels { cache, result: if hit { "hit" } else { "miss" } }).inc();
    }

    /// Counts a shadow evaluation.
    pub fn shadow(&self, result: &'static str) {
        self.shadow.get_or_create(&ShadowLabels { result }).inc();
    }

    /// Counts a live decision whose rules failed (`kind`) and the failure policy that applied.
    pub fn rule_failure(&self, policy: &'static str, kind: &'static str) {
        self.rule_failures.get_or_create(&RuleFailureLabels { policy, kind }).inc();
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_with_their_labels() {
        let metrics = Metrics::default();
        metrics.evaluations.get_or_create(&EvaluationLabels { trigger: "login".into(), result: "ok".into() }).inc();
        metrics.evaluation_seconds.get_or_create(&TriggerLabels { trigger: "login".into() }).observe(0.000_07);
        metrics.cache_lookup("module", true);
        metrics.error("fuel_exhausted");
        metrics.rule_failure("last_decision", "trap");
        let text = metrics.render();
        assert!(text.contains(r#"muster_rule_failures_total{policy="last_decision",kind="trap"} 1"#), "{text}");
        assert!(text.contains(r#"muster_evaluations_total{trigger="login",result="ok"} 1"#), "{text}");
        assert!(text.contains(r#"muster_evaluation_seconds_count{trigger="login"} 1"#), "{text}");
        assert!(text.contains(r#"muster_cache_lookups_total{cache="module",result="hit"} 1"#), "{text}");
        assert!(text.contains(r#"muster_errors_total{kind="fuel_exhausted"} 1"#), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn methods_outside_the_standard_ones_are_other() {
        for method in METHODS {
            assert_eq!(method_label(method), method);
        }
        for made_up in ["FOO", "get", "TRACE", "CONNECT", "PROPFIND", "", "GET "] {
            assert_eq!(method_label(made_up), "other", "{made_up:?}");
        }
    }
}
