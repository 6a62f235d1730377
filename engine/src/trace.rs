//! Bounding a trace: the steps past a budget of steps or bytes are dropped, and one marker step
//! says how many. The decision the trace explains is untouched.

use muster_wire::{Outcome, TraceStep};

/// What [`truncate`] dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Steps dropped.
    pub steps: usize,
    /// Their size, as the budget measured it.
    pub bytes: usize,
}

/// The text bytes of a step (its rule name and check): what [`Limits::max_trace_bytes`]
/// counts.
///
/// [`Limits::max_trace_bytes`]: crate::Limits::max_trace_bytes
pub fn text_bytes(step: &TraceStep) -> usize {
    step.rule.as_ref().map_or(0, String::len) + step.check.len()
}

/// Keeps the longest prefix of `trace` of at most `max_steps` steps whose sizes (`size` of each
/// step) add up to at most `max_bytes`; if anything was dropped, appends the marker step
/// ([`marker`]) and says what was dropped. A trace within both budgets is left as it is.
pub fn truncate(
    trace: &mut Vec<TraceStep>,
    max_steps: usize,
    max_bytes: usize,
    size: impl Fn(&TraceStep) -> usize,
) -> Option<Dropped> {
    let mut bytes = 0usize;
    let kept = trace
        .iter()
        .take(max_steps)
        .take_while(|step| {
            bytes = bytes.saturating_add(size(step));
            bytes <= max_bytes
        })
        .count();
    if kept == trace.len() {
        return None;
    }
    let dropped = trace.drain(kept..).fold(Dropped { steps: 0, bytes: 0 }, |dropped, step| Dropped {
        steps: dropped.steps + 1,
        bytes: dropped.bytes.saturating_add(size(&step)),
    });
    trace.push(marker(dropped));
    Some(dropped)
}

/// The step that ends a truncated trace: no rule, a [`Outcome::Note`] whose check starts with
/// `trace truncated:` and names how many steps (and bytes) were dropped.
pub fn marker(dropped: Dropped) -> TraceStep {
    TraceStep {
        rule: None,
        check: format!("trace truncated: {} more steps ({} bytes) dropped", dropped.steps, dropped.bytes),
        outcome: Outcome::Note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(check: &str) -> TraceStep {
        TraceStep { rule: Some("r".into()), check: check.into(), outcome: Outcome::Matched }
    }

    #[test]
    fn a_trace_within_both_budgets_is_untouched() {
        let mut trace = vec![step("ab"), step("cd")];
        assert_eq!(truncate(&mut trace, 2, 6, text_bytes), None);
        assert_eq!(trace, [step("ab"), step("cd")]);
    }

    #[test]
    fn the_steps_past_either_budget_are_dropped_and_counted_by_a_marker() {
        let mut trace = vec![step("ab"), step("cd"), step("ef")];
        assert_eq!(truncate(&mut trace, 2, 100, text_bytes), Some(Dropped { steps: 1, bytes: 3 }));
        assert_eq!(trace[..2], [step("ab"), step("cd")]);
        assert_eq!(trace[2], marker(Dropped { steps: 1, bytes: 3 }));
        assert_eq!(trace[2].check, "trace truncated: 1 more steps (3 bytes) dropped");

        let mut trace = vec![step("ab"), step("cdefgh"), step("i")];
        assert_eq!(truncate(&mut trace, 10, 5, text_bytes), Some(Dropped { steps: 2, bytes: 9 }));
        assert_eq!(trace, [step("ab"), marker(Dropped { steps: 2, bytes: 9 })], "a prefix: nothing after a drop");

        let mut trace = vec![step("ab")];
        assert_eq!(truncate(&mut trace, 0, 100, text_bytes), Some(Dropped { steps: 1, bytes: 3 }));
        assert_eq!(trace.len(), 1);
    }
}
