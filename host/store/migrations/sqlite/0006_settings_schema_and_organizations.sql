-- The JSON Schema a module version publishes of its settings (`muster_settings_schema`), as the
-- module answered it; NULL for a module that publishes none.
ALTER TABLE module_versions ADD COLUMN settings_schema TEXT;

-- Whether a decision naming an organization the tenant does not have creates it (1) or fails
-- (0, the default).
ALTER TABLE realms ADD COLUMN create_organizations BIGINT NOT NULL DEFAULT 0 CHECK (create_organizations IN (0, 1));
