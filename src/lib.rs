//! latchkey: sign-up, email verification and two-factor login in one binary.
//!
//! The modules follow the sign-up flow (see ARCHITECTURE.md): `domain` types
//! checked at the edge, `flows` for each step, `store` for the database,
//! `mail` for the outbox, `http` for the API, `startup` to put them together.

pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod flows;
pub mod hashing;
pub mod http;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod retention;
pub mod startup;
pub mod state;
pub mod store;
pub mod tokens;

pub use config::Config;
pub use startup::App;
