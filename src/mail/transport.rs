//! Where mail goes: an SMTP server through lettre, or, when none is
//! configured, `.eml` files in a folder so a newcomer can read them.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::store::OutboxMessage;

const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold credentials; never print it.
        match self {
            Self::Smtp(_) => f.write_str("Transport::Smtp"),
            Self::File { dir, .. } => f.debug_struct("Transport::File").field("dir", dir).finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportConfigError {
    #[error("invalid LATCHKEY_SMTP_URL: {0}")]
    SmtpUrl(String),
    #[error("cannot create the mail folder {dir}: {source}")]
    MailDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Why a delivery failed. `permanent` failures (a 5xx answer, an address the
/// server refuses) are not retried.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    pub permanent: bool,
    pub reason: String,
}

impl DeliveryError {
    fn permanent(reason: impl Into<String>) -> Self {
        Self {
            permanent: true,
            reason: reason.into(),
        }
    }
}

impl Transport {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=starttls`,
    /// `smtps://user:pass@host:465`; `None` writes files into `mail_dir`.
    pub fn from_config(
        smtp_url: Option<&str>,
        mail_dir: PathBuf,
    ) -> Result<Self, TransportConfigError> {
        let Some(raw) = smtp_url else {
            std::fs::create_dir_all(&mail_dir).map_err(|source| TransportConfigError::MailDir {
                dir: mail_dir.clone(),
                source,
            })?;
            return Ok(Self::File {
                transport: AsyncFileTransport::new(&mail_dir),
                dir: mail_dir,
            });
        };
        let mut url = url::Url::parse(raw)
            .map_err(|error| TransportConfigError::SmtpUrl(error.to_string()))?;
        // lettre calls STARTTLS "required"; ours is the name operators know.
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "tls" && value == "starttls" {
                    "required".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            // lettre's message may echo the URL, credentials included.
            .map_err(|_| {
                TransportConfigError::SmtpUrl(
                    "expected smtp://host:port[?tls=starttls] or smtps://user:pass@host:port"
                        .to_owned(),
                )
            })?;
        let pool = PoolConfig::new().max_size(super::DELIVERIES_AT_ONCE);
        Ok(Self::Smtp(
            builder
                .timeout(Some(SMTP_TIMEOUT))
                .pool_config(pool)
                .build(),
        ))
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Self::File { .. })
    }

    /// Hands one message to the server; `Ok` only once the server accepted it.
    pub async fn deliver(
        &self,
        from: &Mailbox,
        message: &OutboxMessage,
    ) -> Result<(), DeliveryError> {
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|_| DeliveryError::permanent("recipient address is not deliverable"))?;
        let email = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(message.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                message.text_body.clone(),
                message.html_body.clone(),
            ))
            .map_err(|error| {
                DeliveryError::permanent(format!("cannot build the message: {error}"))
            })?;
        match self {
            Self::Smtp(smtp) => smtp
                .send(email)
                .await
                .map(drop)
                .map_err(|error| DeliveryError {
                    permanent: error.is_permanent(),
                    reason: error.to_string(),
                }),
            Self::File { transport, dir } => {
                let file = transport.send(email).await.map_err(|error| DeliveryError {
                    permanent: false,
                    reason: error.to_string(),
                })?;
                tracing::info!(path = %dir.join(format!("{file}.eml")).display(), "email written to the mail folder");
                Ok(())
            }
        }
    }
}
