-- Whose word on a user's provider groups counts when a login's claims and SCIM disagree:
-- `newest` (the default: a login replaces the list with its claims, a SCIM membership write adds
-- or removes its one group), `scim` (the realm's SCIM groups are SCIM's alone; claims bring only
-- groups SCIM does not manage) or `claims` (once the user has logged in, its claims alone).
ALTER TABLE realms ADD COLUMN membership_source TEXT NOT NULL DEFAULT 'newest'
    CHECK (membership_source IN ('newest', 'scim', 'claims'));
