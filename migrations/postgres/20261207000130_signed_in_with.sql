-- How each session was signed in (the password; the password and a second
-- factor; a passkey alone; a new account's verification link), so the
-- access tokens issued for it can say (`aal`, `amr`), and a service can ask
-- for two factors. Sessions from before have none.
ALTER TABLE sessions ADD COLUMN signed_in_with TEXT;
