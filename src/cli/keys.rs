//! `latchkey keys rotate|list`: the keys that sign access tokens.

use std::io::Write;

use super::{KeysCommand, open_store};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::crypto::Sealer;
use crate::tokens;

pub(super) async fn run(
    config: &Config,
    command: KeysCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match command {
        KeysCommand::Rotate => {
            // Sealer::load would create a key file when there is none; a key
            // the service does not share would make the new key useless to it.
            anyhow::ensure!(
                config.secret_key.is_some() || config.secret_key_file().exists(),
                "no secret key: set LATCHKEY_SECRET_KEY to the service's (or run beside its key file {})",
                config.secret_key_file().display()
            );
            let sealer = Sealer::load(config.secret_key.as_deref(), &config.secret_key_file())?;
            let kid = tokens::rotate(&*store, &sealer, &SystemClock).await?;
            writeln!(out, "new current key: {kid}")?;
            writeln!(
                out,
                "running instances publish it within a second and sign with it a minute from now; the previous key stays in the JWKS until its tokens expire"
            )?;
        }
        KeysCommand::List => {
            writeln!(out, "{:<43}  {:<25}  RETIRED", "KID", "CREATED")?;
            for key in store
                .signing_keys(tokens::ALGORITHM, chrono::DateTime::UNIX_EPOCH)
                .await?
            {
                writeln!(
                    out,
                    "{:<43}  {:<25}  {}",
                    key.kid,
                    key.created_at.to_rfc3339(),
                    key.retired_at
                        .map_or_else(|| "- (current)".to_owned(), |at| at.to_rfc3339())
                )?;
            }
        }
    }
    Ok(())
}
