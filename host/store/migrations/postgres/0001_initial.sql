-- Muster's schema, PostgreSQL dialect. Keep it in step with ../sqlite/0001_initial.sql: the two differ
-- only where the dialects must (BLOB / BYTEA, trigger syntax).
--
-- Conventions: every row belongs to a tenant and every key starts with tenant_id; times are BIGINT
-- Unix milliseconds; JSON documents are TEXT; booleans are BIGINT 0/1 (the sqlx Any driver cannot
-- read SQLite's BOOLEAN declared type, and the queries are shared).

CREATE TABLE tenants (
    id                      TEXT   NOT NULL PRIMARY KEY,
    name                    TEXT   NOT NULL,
    decision_retention_days BIGINT,
    created_at              BIGINT NOT NULL,
    -- Last audit sequence number handed out: bumped in the transaction of every audited change,
    -- which also serialises a tenant's audited writes.
    audit_seq               BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id            TEXT   NOT NULL PRIMARY KEY,
    tenant_id     TEXT   NOT NULL REFERENCES tenants (id),
    kind          TEXT   NOT NULL,
    label         TEXT   NOT NULL,
    secret_sha256 TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE organizations (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE realms (
    tenant_id                 TEXT   NOT NULL REFERENCES tenants (id),
    id                        TEXT   NOT NULL,
    name                      TEXT   NOT NULL,
    default_organization      TEXT,
    user_rules_version        BIGINT,
    group_rules_version       BIGINT,
    shadow_user_rules_version BIGINT,
    shadow_group_rules_version BIGINT,
    created_at                BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Module bytes, stored once per (tenant, digest) however many versions use them.
CREATE TABLE module_blobs (
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id),
    digest     TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    wasm       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, digest)
);

CREATE TABLE module_versions (
    tenant_id         TEXT   NOT NULL,
    realm_id          TEXT   NOT NULL,
    kind              TEXT   NOT NULL,
    version           BIGINT NOT NULL,
    digest            TEXT   NOT NULL,
    size              BIGINT NOT NULL,
    settings          TEXT   NOT NULL,
    prepared_settings BYTEA  NOT NULL,
    note              TEXT   NOT NULL,
    created_by        TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, kind, version),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id),
    FOREIGN KEY (tenant_id, digest) REFERENCES module_blobs (tenant_id, digest)
);

-- Activation history per (realm, kind), a persistent stack: each row is what became active and
-- `back_seq`, the row whose state a rollback returns to.
CREATE TABLE module_activations (
    tenant_id TEXT   NOT NULL,
    realm_id  TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    seq       BIGINT NOT NULL,
    version   BIGINT NOT NULL,
    back_seq  BIGINT,
    action    TEXT   NOT NULL,
    actor     TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, kind, seq),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);

CREATE TABLE users (
    tenant_id       TEXT   NOT NULL,
    realm_id        TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    user_name       TEXT   NOT NULL,
    external_id     TEXT,
    email           TEXT,
    display_name    TEXT,
    attributes      TEXT   NOT NULL,
    provider_groups TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    organization    TEXT,
    rule_groups     TEXT   NOT NULL,
    last_login_at   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, id),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);
CREATE UNIQUE INDEX users_user_name ON users (tenant_id, realm_id, user_name);
-- NULLs are distinct: many users may have no external id.
CREATE UNIQUE INDEX users_external_id ON users (tenant_id, realm_id, external_id);

CREATE TABLE provider_groups (
    tenant_id     TEXT   NOT NULL,
    realm_id      TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    organizations TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, name),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);

CREATE TABLE decisions (
    tenant_id           TEXT   NOT NULL,
    id                  TEXT   NOT NULL,
    realm_id            TEXT   NOT NULL,
    user_id             TEXT,
    trigger_kind        TEXT   NOT NULL,
    applied             BIGINT NOT NULL CHECK (applied IN (0, 1)),
    shadow              BIGINT NOT NULL CHECK (shadow IN (0, 1)),
    input               TEXT   NOT NULL,
    user_rules_version  BIGINT,
    user_rules_digest   TEXT,
    group_rules_version BIGINT,
    group_rules_digest  TEXT,
    output              TEXT   NOT NULL,
    trace               TEXT   NOT NULL,
    duration_us         BIGINT NOT NULL,
    fuel                BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);
CREATE INDEX decisions_by_time ON decisions (tenant_id, created_at, id);
CREATE INDEX decisions_by_realm ON decisions (tenant_id, realm_id, created_at, id);
CREATE INDEX decisions_by_user ON decisions (tenant_id, user_id, created_at, id);

-- The audit log: append-only, enforced below.
CREATE TABLE audit_events (
    tenant_id TEXT   NOT NULL REFERENCES tenants (id),
    seq       BIGINT NOT NULL,
    id        TEXT   NOT NULL UNIQUE,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    target    TEXT   NOT NULL,
    details   TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_events_by_target ON audit_events (tenant_id, target, seq);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
