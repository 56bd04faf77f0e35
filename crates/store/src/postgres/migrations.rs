//! The PostgreSQL schema and its migrations: one SQL script per schema version, applied in order,
//! with the table `baton_schema` recording how many a database has had.
//!
//! Several replicas may start at once against one database: migrating takes a transaction-level
//! advisory lock first, so one of them migrates and the others then find the schema current.
//! All pending scripts run in that one transaction (PostgreSQL's DDL is transactional), so a failed
//! migration leaves the database as it was. A database whose schema is newer than this build's is
//! refused and left untouched: a build never migrates backwards.
//!
//! The layout differs from SQLite's where PostgreSQL has no reason for SQLite's workarounds: the
//! transcript is one row per entry keyed by (session, seq), and replies are keyed by (session,
//! client message id), so a retry is recognised however old.

use sqlx::PgPool;

use crate::StoreError;

/// The schema, one entry per version; `baton_schema.version` records how many have been applied.
/// Never edit an entry once released: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    assistant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    next_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_active BIGINT NOT NULL,
    idle_timeout_us BIGINT NOT NULL,
    ended_at BIGINT
);
-- No index over last_active: every turn changes it, and an index on it would make each turn's
-- update of the row a non-HOT one (a new index entry per turn). The sweep of idle sessions reads
-- the table instead, at most once a minute per server.
CREATE TABLE transcript (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE replies (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    client_message_id TEXT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (session_id, client_message_id)
);
CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE transfers (
    key BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    queue TEXT,
    state TEXT NOT NULL,
    open BOOLEAN NOT NULL,
    agent_id TEXT,
    chat_id TEXT,
    value TEXT NOT NULL,
    request TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX transfers_open_per_session ON transfers (session_id) WHERE open;
CREATE INDEX transfers_by_chat ON transfers (chat_id) WHERE chat_id IS NOT NULL;
CREATE TABLE agents (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    queues TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE agent_tokens (
    hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens (username);
CREATE TABLE tickets (
    key BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    transfer_id TEXT,
    queue TEXT,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE bus_spill (
    id BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A turn without a transfer, the common case, in one statement and so one round trip (its own
-- transaction): the session's row locked, the refusals decided before anything is written, then
-- the reply, the entries and the row. `outcome` is ok, not_found, expired or conflict.
CREATE FUNCTION baton_commit_turn(
    p_id TEXT, p_expected BIGINT, p_state TEXT, p_at BIGINT, p_message_id TEXT, p_response TEXT,
    p_ats BIGINT[], p_kinds TEXT[], p_payloads TEXT[]
) RETURNS TABLE (outcome TEXT, version BIGINT, first_seq BIGINT) LANGUAGE plpgsql AS $$
DECLARE
    s RECORD;
BEGIN
    SELECT sessions.version AS v, sessions.next_seq AS seq, sessions.last_active AS active,
           sessions.idle_timeout_us AS timeout, sessions.ended_at AS ended
    INTO s FROM sessions WHERE sessions.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::TEXT, 0::BIGINT, 0::BIGINT;
        RETURN;
    END IF;
    IF s.ended IS NOT NULL OR p_at > s.active + s.timeout THEN
        RETURN QUERY SELECT 'expired'::TEXT, s.v, s.seq;
        RETURN;
    END IF;
    IF s.v <> p_expected THEN
        RETURN QUERY SELECT 'conflict'::TEXT, s.v, s.seq;
        RETURN;
    END IF;
    IF p_message_id IS NOT NULL THEN
        INSERT INTO replies (session_id, client_message_id, response) VALUES (p_id, p_message_id, p_response)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'conflict'::TEXT, s.v, s.seq;
            RETURN;
        END IF;
    END IF;
    INSERT INTO transcript (session_id, seq, at, kind, payload)
    SELECT p_id, s.seq + entry.ord - 1, entry.at, entry.kind, entry.payload
    FROM UNNEST(p_ats, p_kinds, p_payloads) WITH ORDINALITY AS entry (at, kind, payload, ord);
    UPDATE sessions SET state = p_state, version = s.v + 1,
        next_seq = s.seq + COALESCE(array_length(p_ats, 1), 0), last_active = GREATEST(s.active, p_at)
    WHERE sessions.id = p_id;
    RETURN QUERY SELECT 'ok'::TEXT, s.v + 1, s.seq;
END
$$;
"#,
    r#"
-- The process holding the desk among the replicas (under the advisory lock of `lead`), so the
-- next holder knows whether another held it in between.
CREATE TABLE desk_holder (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    replica TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL DEFAULT now()
);
"#,
];

/// The advisory lock key migrations hold: "baton" in ASCII.
const MIGRATION_LOCK: i64 = 0x0062_6174_6f6e;

/// Brings the database's schema to this build's version, in one transaction.
pub(super) async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS baton_schema (version BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    let recorded: Option<i64> = sqlx::query_scalar("SELECT version FROM baton_schema")
        .fetch_optional(&mut *tx)
        .await?;
    let applied = match recorded {
        None => {
            sqlx::query("INSERT INTO baton_schema (version) VALUES (0)")
                .execute(&mut *tx)
                .await?;
            0
        }
        Some(version) => match usize::try_from(version) {
            Ok(applied) if applied <= MIGRATIONS.len() => applied,
            _ => {
                return Err(StoreError::SchemaTooNew {
                    found: version,
                    supported: MIGRATIONS.len(),
                });
            }
        },
    };
    for migration in &MIGRATIONS[applied..] {
        sqlx::raw_sql(migration).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE baton_schema SET version = $1")
        .bind(i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
