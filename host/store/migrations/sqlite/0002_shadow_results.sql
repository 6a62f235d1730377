-- Shadow mode: a shadow decision points at the live decision it ran beside and says whether its
-- output differed; NULL on every other decision.
ALTER TABLE decisions ADD COLUMN shadow_of TEXT;
ALTER TABLE decisions ADD COLUMN differs BIGINT;
CREATE INDEX decisions_shadow_by_realm ON decisions (tenant_id, realm_id, shadow, created_at);
