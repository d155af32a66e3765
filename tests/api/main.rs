//! The integration suite: one binary (one link step), every test against the
//! real app on port 0 with a fresh database, on SQLite and on PostgreSQL,
//! delivering mail to a real SMTP server on loopback.

mod helpers;

mod audit;
mod cli;
mod naughty;
mod outbox;
mod register;
mod resend;
mod verify;
