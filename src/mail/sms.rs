//! Where SMS goes: an HTTP provider with a Twilio-style Messages API, or,
//! when none is configured, text files beside the emails.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::DeliveryError;
use crate::store::OutboxMessage;

const SMS_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub enum SmsTransport {
    Http {
        client: reqwest::Client,
        endpoint: Url,
        account: String,
        token: String,
        from: String,
    },
    File {
        dir: PathBuf,
    },
}

impl std::fmt::Debug for SmsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http { endpoint, .. } => f
                .debug_struct("SmsTransport::Http")
                .field("endpoint", &endpoint.as_str())
                .finish(),
            Self::File { dir } => f
                .debug_struct("SmsTransport::File")
                .field("dir", dir)
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmsConfigError {
    #[error("invalid LATCHKEY_SMS_URL")]
    Url,
    #[error(
        "LATCHKEY_SMS_URL needs LATCHKEY_SMS_ACCOUNT, LATCHKEY_SMS_TOKEN and LATCHKEY_SMS_FROM"
    )]
    Incomplete,
    #[error("cannot start the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

impl SmsTransport {
    /// `base_url` is the provider's API root (for Twilio `https://api.twilio.com`);
    /// messages are posted to `{base}/2010-04-01/Accounts/{account}/Messages.json`.
    pub fn from_config(
        base_url: Option<&str>,
        account: Option<&str>,
        token: Option<&str>,
        from: Option<&str>,
        file_dir: PathBuf,
    ) -> Result<Self, SmsConfigError> {
        let Some(base_url) = base_url else {
            return Ok(Self::File { dir: file_dir });
        };
        let (Some(account), Some(token), Some(from)) = (account, token, from) else {
            return Err(SmsConfigError::Incomplete);
        };
        let base = Url::parse(base_url.trim_end_matches('/')).map_err(|_| SmsConfigError::Url)?;
        let endpoint = Url::parse(
            &format!("{base}/2010-04-01/Accounts/{account}/Messages.json")
                .replace("//2010", "/2010"),
        )
        .map_err(|_| SmsConfigError::Url)?;
        let client = reqwest::Client::builder().timeout(SMS_TIMEOUT).build()?;
        Ok(Self::Http {
            client,
            endpoint,
            account: account.to_owned(),
            token: token.to_owned(),
            from: from.to_owned(),
        })
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Self::File { .. })
    }

    /// Hands the message to the provider; `Ok` only on its 2xx answer.
    pub async fn deliver(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        match self {
            Self::Http {
                client,
                endpoint,
                account,
                token,
                from,
            } => {
                let form = [
                    ("To", message.recipient.as_str()),
                    ("From", from.as_str()),
                    ("Body", message.text_body.as_str()),
                ];
                let response = client
                    .post(endpoint.clone())
                    .basic_auth(account, Some(token))
                    .form(&form)
                    .send()
                    .await
                    .map_err(|error| DeliveryError {
                        permanent: false,
                        reason: format!("SMS provider unreachable: {}", error.without_url()),
                    })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                // 4xx means the request itself is wrong (bad number, bad
                // credentials) and will not improve, except 429 (slow down).
                let permanent =
                    status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
                Err(DeliveryError {
                    permanent,
                    reason: format!("SMS provider answered {status}"),
                })
            }
            Self::File { dir } => {
                let folder = dir.join("sms");
                let path = folder.join(format!("{}.txt", message.id));
                let contents = format!("To: {}\n\n{}\n", message.recipient, message.text_body);
                let written = async {
                    tokio::fs::create_dir_all(&folder).await?;
                    tokio::fs::write(&path, contents).await
                };
                written.await.map_err(|error| DeliveryError {
                    permanent: false,
                    reason: format!("cannot write the SMS file: {error}"),
                })?;
                tracing::info!(path = %path.display(), "SMS written to the mail folder (no SMS provider configured)");
                Ok(())
            }
        }
    }
}
