-- A realm's automatic rollback: when the active version of a kind reaches `min_evaluations` live
-- evaluations in the last minute with at least `max_failure_rate` of them failed, it is rolled
-- back. Both NULL: off (the default); both set otherwise.
ALTER TABLE realms ADD COLUMN auto_rollback_max_failure_rate DOUBLE PRECISION
    CHECK (auto_rollback_max_failure_rate > 0 AND auto_rollback_max_failure_rate <= 1);
ALTER TABLE realms ADD COLUMN auto_rollback_min_evaluations BIGINT
    CHECK (auto_rollback_min_evaluations >= 1);
ALTER TABLE realms ADD CONSTRAINT realms_auto_rollback_whole
    CHECK ((auto_rollback_max_failure_rate IS NULL) = (auto_rollback_min_evaluations IS NULL));
