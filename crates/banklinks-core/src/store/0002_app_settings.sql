-- Which environment and profile the app opened last, and other small app-wide choices.
-- Never secrets: those are in the keychain.
CREATE TABLE app_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
