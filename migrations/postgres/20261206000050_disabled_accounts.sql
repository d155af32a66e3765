-- An operator can disable an account (the admin API, `latchkey users
-- disable`): while `disabled_at` is set it cannot sign in and nothing it
-- holds works; clearing it gives the account back as it was (`status`
-- keeps whether its address was proven).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
