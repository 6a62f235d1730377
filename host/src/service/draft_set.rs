//! The drafts a run puts in place of stored versions: at most one per kind, each a stored
//! version's module with other settings, already prepared (by [`super::drafts`]).

use crate::decision::evaluator::LoadedModule;
use muster_store::model::RuleKind;

/// A draft of one kind, prepared and ready to run.
#[derive(Clone)]
pub struct Draft {
    kind: RuleKind,
    loaded: LoadedModule,
}

impl Draft {
    /// `loaded` in place of the rules of `kind`.
    pub(super) fn new(kind: RuleKind, loaded: LoadedModule) -> Self {
        Self { kind, loaded }
    }

    /// The stored version whose module it runs.
    pub fn version(&self) -> i64 {
        self.loaded.reference.version
    }

    /// The module with the draft's settings, ready for the evaluator.
    pub fn loaded(&self) -> &LoadedModule {
        &self.loaded
    }
}

/// The drafts a preview runs: at most one per kind, each in place of what the preview's
/// selection names of its kind. The default is none.
#[derive(Clone, Default)]
pub struct Drafts {
    user_rules: Option<Draft>,
    group_rules: Option<Draft>,
}

impl Drafts {
    /// `draft` alone.
    pub fn of(draft: Draft) -> Self {
        Self::default().with(draft)
    }

    /// These drafts, with `draft` in place of any of its kind.
    pub fn with(mut self, draft: Draft) -> Self {
        match draft.kind {
            RuleKind::User => self.user_rules = Some(draft),
            RuleKind::Group => self.group_rules = Some(draft),
        }
        self
    }

    /// The draft of `kind`, if there is one.
    pub fn of_kind(&self, kind: RuleKind) -> Option<&Draft> {
        match kind {
            RuleKind::User => self.user_rules.as_ref(),
            RuleKind::Group => self.group_rules.as_ref(),
        }
    }
}
