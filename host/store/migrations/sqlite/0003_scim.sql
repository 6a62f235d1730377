-- SCIM provisioning, SQLite dialect. Keep it in step with ../postgres/0003_scim.sql: the two differ
-- only where the dialects must (the separator of the backfill below).

-- User names are case-insensitive (SCIM userName is caseExact=false): `user_name_key` is the
-- lower-cased name (Rust's `to_lowercase()` when the store writes it), unique per realm in place of
-- the name itself. The backfill uses SQL's lower(); should two existing names of a realm differ only
-- in case, the older user keeps the plain key and the others get their id appended (after a control
-- character no user name has), so the migration cannot fail on existing data and the clash surfaces
-- as a Conflict when one of them is next written.
ALTER TABLE users ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET user_name_key = lower(user_name);
UPDATE users SET user_name_key = lower(user_name) || char(1) || id
WHERE EXISTS (
    SELECT 1 FROM users AS older
    WHERE older.tenant_id = users.tenant_id AND older.realm_id = users.realm_id
      AND lower(older.user_name) = lower(users.user_name)
      AND (older.created_at < users.created_at OR (older.created_at = users.created_at AND older.id < users.id))
);
DROP INDEX users_user_name;
CREATE UNIQUE INDEX users_user_name_key ON users (tenant_id, realm_id, user_name_key);

-- The SCIM resource as SCIM last wrote it (JSON; NULL for a user only ever seen at login), the
-- version behind the SCIM ETag (+1 on every write of the row), and when the user was deactivated.
ALTER TABLE users ADD COLUMN scim TEXT;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
UPDATE users SET deactivated_at = updated_at WHERE status = 'deactivated';

-- Whether the realm's SCIM endpoint accepts a credential's secret as a plain bearer token (the
-- default is OAuth2 client-credentials tokens only).
ALTER TABLE realms ADD COLUMN scim_bearer_enabled BIGINT NOT NULL DEFAULT 0 CHECK (scim_bearer_enabled IN (0, 1));

-- SCIM groups: provider groups pushed by SCIM. Display names are unique per realm ignoring case.
CREATE TABLE scim_groups (
    tenant_id        TEXT   NOT NULL,
    realm_id         TEXT   NOT NULL,
    id               TEXT   NOT NULL,
    display_name     TEXT   NOT NULL,
    display_name_key TEXT   NOT NULL,
    external_id      TEXT,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, id),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);
CREATE UNIQUE INDEX scim_groups_display_name_key ON scim_groups (tenant_id, realm_id, display_name_key);
-- NULLs are distinct: many groups may have no external id.
CREATE UNIQUE INDEX scim_groups_external_id ON scim_groups (tenant_id, realm_id, external_id);

-- Stored memberships, a deactivated user's included (suspended: the reads leave them out).
CREATE TABLE scim_group_members (
    tenant_id TEXT NOT NULL,
    realm_id  TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, realm_id, group_id, user_id),
    FOREIGN KEY (tenant_id, realm_id, group_id) REFERENCES scim_groups (tenant_id, realm_id, id),
    FOREIGN KEY (tenant_id, realm_id, user_id) REFERENCES users (tenant_id, realm_id, id)
);
CREATE INDEX scim_group_members_by_user ON scim_group_members (tenant_id, realm_id, user_id);

-- Login sessions; `id` is the SHA-256 (lower-case hex) of the session token.
CREATE TABLE sessions (
    tenant_id      TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    realm_id       TEXT   NOT NULL,
    user_id        TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, realm_id, user_id) REFERENCES users (tenant_id, realm_id, id)
);
CREATE INDEX sessions_by_user ON sessions (tenant_id, realm_id, user_id);

-- SCIM client credentials of a realm: `id` is the OAuth2 client id (`sc_…`), globally unique.
CREATE TABLE scim_credentials (
    id            TEXT   NOT NULL PRIMARY KEY,
    tenant_id     TEXT   NOT NULL,
    realm_id      TEXT   NOT NULL,
    label         TEXT   NOT NULL,
    secret_sha256 TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    rotated_at    BIGINT,
    revoked_at    BIGINT,
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);
CREATE INDEX scim_credentials_by_realm ON scim_credentials (tenant_id, realm_id, created_at);

-- Access tokens issued to SCIM credentials; only their SHA-256 is stored.
CREATE TABLE scim_tokens (
    token_sha256  TEXT   NOT NULL PRIMARY KEY,
    tenant_id     TEXT   NOT NULL,
    realm_id      TEXT   NOT NULL,
    credential_id TEXT   NOT NULL REFERENCES scim_credentials (id),
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX scim_tokens_by_expiry ON scim_tokens (expires_at);
CREATE INDEX scim_tokens_by_credential ON scim_tokens (credential_id);
