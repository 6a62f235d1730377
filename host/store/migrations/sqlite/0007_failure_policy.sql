-- What a live decision whose rules failed becomes: `fail_closed` (nothing applied, the login is
-- blocked; the default), `last_decision` (the user's stored organization and groups stand) or
-- `fallback_organization` (the user goes to `fallback_organization`, which only that policy
-- names).
ALTER TABLE realms ADD COLUMN failure_policy TEXT NOT NULL DEFAULT 'fail_closed'
    CHECK (failure_policy IN ('fail_closed', 'last_decision', 'fallback_organization'));
ALTER TABLE realms ADD COLUMN fallback_organization TEXT;

-- For a live decision whose rules failed: the failure policy that applied, why, and what it put
-- in effect (JSON text); NULL for a decision that was made, and for previews and shadow runs.
ALTER TABLE decisions ADD COLUMN failure_policy TEXT;
