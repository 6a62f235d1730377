-- The JSON Schema a module version publishes of its settings (`muster_settings_schema`), as the
-- module answered it; NULL for a module that publishes none.
ALTER TABLE module_versions ADD COLUMN settings_schema TEXT;
