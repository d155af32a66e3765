-- An account an operator invited (`POST /admin/users`, `latchkey users
-- invite`) has no password of its owner's until its link is used. While it
-- waits, a resend of the verification link sends the invitation again
-- instead: a verification link would activate it without a password. A
-- sign-up that replaces the waiting account clears the mark.
ALTER TABLE users ADD COLUMN invited_at TEXT;
