-- Banklinks' local store. Secrets never go here: tokens, client secrets, private keys, PKCE
-- verifiers and nonces live in the OS keychain; rows only name them.

CREATE TABLE environments (
    id            TEXT PRIMARY KEY,            -- 'demo', 'moneyhub', or a custom id
    kind          TEXT NOT NULL CHECK (kind IN ('demo', 'moneyhub', 'custom')),
    name          TEXT NOT NULL,
    identity_url  TEXT NOT NULL,
    api_url       TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    settings_json TEXT NOT NULL DEFAULT '{}',  -- auth method, response type, redirect URI…
    created_at    TEXT NOT NULL
);

CREATE TABLE profiles (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,              -- the Moneyhub user
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (environment_id, user_id)
);

CREATE TABLE institutions (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    bank_ref       TEXT,
    account_types  TEXT NOT NULL DEFAULT '[]',
    sync_status    TEXT,
    auth_status    TEXT,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (environment_id, id)
);

CREATE TABLE connections (
    profile_id        TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    id                TEXT NOT NULL,           -- '<bankId>:<uuid>'
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    error             TEXT,
    extended_status   TEXT,
    connected_on      TEXT,
    last_updated      TEXT,
    last_synced_at    TEXT,
    expires_at        TEXT,
    tpp_consent       INTEGER NOT NULL DEFAULT 0,
    single_sync_only  INTEGER NOT NULL DEFAULT 0,
    -- Local state.
    last_seen_at      TEXT NOT NULL,           -- when the app last heard of it from Moneyhub
    last_manual_sync  TEXT,
    server_retry_at   TEXT,
    PRIMARY KEY (profile_id, id)
);

CREATE TABLE accounts (
    profile_id      TEXT NOT NULL,
    id              TEXT NOT NULL,
    connection_id   TEXT NOT NULL,
    name            TEXT NOT NULL,
    account_type    TEXT NOT NULL,
    currency        TEXT NOT NULL,
    balance_minor   INTEGER NOT NULL,
    balance_date    TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (profile_id, id),
    FOREIGN KEY (profile_id, connection_id) REFERENCES connections(profile_id, id) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE balances (
    profile_id    TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    day           TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    PRIMARY KEY (profile_id, account_id, day),
    FOREIGN KEY (profile_id, account_id) REFERENCES accounts(profile_id, id) ON DELETE CASCADE
);

CREATE TABLE transactions (
    profile_id    TEXT NOT NULL,
    id            TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    booked_at     TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    description   TEXT NOT NULL,
    category_id   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'posted')),
    modified_at   TEXT,
    PRIMARY KEY (profile_id, id),
    FOREIGN KEY (profile_id, account_id) REFERENCES accounts(profile_id, id) ON DELETE CASCADE
);
CREATE INDEX transactions_by_account_date ON transactions (profile_id, account_id, booked_at DESC);

CREATE TABLE sync_runs (
    profile_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    action         TEXT,
    fetch_status   TEXT,
    created_at     TEXT,
    PRIMARY KEY (profile_id, id)
);

CREATE TABLE pending_authorizations (
    state          TEXT PRIMARY KEY,
    profile_id     TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    purpose_json   TEXT NOT NULL,              -- no secrets: the verifier and nonce are in the keychain
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);

-- Append-only: rows are never updated or deleted (a connection's removal leaves its receipt).
CREATE TABLE journal (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id     TEXT NOT NULL,
    connection_id  TEXT,
    at             TEXT NOT NULL,
    event          TEXT NOT NULL,
    actor          TEXT NOT NULL CHECK (actor IN ('user', 'automatic')),
    details_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX journal_by_connection ON journal (profile_id, connection_id, seq);
CREATE TRIGGER journal_is_append_only_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_is_append_only_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
