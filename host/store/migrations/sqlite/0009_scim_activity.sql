-- How each realm's SCIM endpoint is used: kept by the audit log's append of `scim.request`
-- entries (one per authenticated SCIM request), so the realm's SCIM status is one row to read,
-- not a scan of the log. Counts since the realm's first SCIM request; the last request and the
-- last error (status 400 or above) as their audit entries record them.
CREATE TABLE scim_activity (
    tenant_id         TEXT    NOT NULL,
    realm_id          TEXT    NOT NULL,
    requests          BIGINT  NOT NULL,
    errors            BIGINT  NOT NULL,
    last_at           BIGINT  NOT NULL,
    last_method       TEXT    NOT NULL,
    last_path         TEXT    NOT NULL,
    last_status       BIGINT  NOT NULL,
    last_detail       TEXT,
    last_error_at     BIGINT,
    last_error_method TEXT,
    last_error_path   TEXT,
    last_error_status BIGINT,
    last_error_detail TEXT,
    PRIMARY KEY (tenant_id, realm_id),
    FOREIGN KEY (tenant_id, realm_id) REFERENCES realms (tenant_id, id)
);
