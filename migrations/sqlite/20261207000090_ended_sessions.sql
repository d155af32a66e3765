-- The sessions retention deletes (expired, or revoked, before a cut-off),
-- found without reading every session: retention runs every ten minutes,
-- and without these reads the whole table each time, on SQLite while it
-- holds the one write lock. Revoked rows only in the second: most sessions
-- end by expiry.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
