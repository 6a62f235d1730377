-- A realm's own bounds of each evaluation, within the operator's (the engine's limits): its fuel,
-- its wall-clock time in milliseconds and its largest linear memory in bytes. NULL: the
-- operator's.
ALTER TABLE realms ADD COLUMN limit_fuel BIGINT CHECK (limit_fuel > 0);
ALTER TABLE realms ADD COLUMN limit_timeout_ms BIGINT CHECK (limit_timeout_ms > 0);
ALTER TABLE realms ADD COLUMN limit_max_memory_bytes BIGINT CHECK (limit_max_memory_bytes > 0);

-- The bounds a decision's rules ran under (JSON text: fuel, timeout_ms, max_memory_bytes); NULL
-- for a decision recorded before they were kept.
ALTER TABLE decisions ADD COLUMN limits TEXT;
