//! The server's own secret, and what it protects: secrets kept at rest
//! (TOTP seeds, signing keys) are sealed with XChaCha20-Poly1305, and short
//! codes are stored as keyed digests (HMAC-SHA-256) so a stolen database
//! cannot be brute-forced offline for its 6-digit codes without the key.
//!
//! One 256-bit master key comes from configuration (`LATCHKEY_SECRET_KEY`)
//! or, on a zero-configuration start, from a key file created beside the
//! database. Independent subkeys are derived from it with HKDF, one per use.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("LATCHKEY_SECRET_KEY must be 32 bytes in base64 (try: openssl rand -base64 32)")]
    Malformed,
    #[error("cannot read or create the key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("sealed data is corrupt or was sealed with another key")]
pub struct OpenError;

/// Seals and opens secrets at rest, and computes keyed digests.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    mac_key: [u8; KEY_BYTES],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    pub fn from_master_key(master: &[u8; KEY_BYTES]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"latchkey"), master);
        let mut encryption_key = [0_u8; KEY_BYTES];
        let mut mac_key = [0_u8; KEY_BYTES];
        // Expanding 32 bytes from SHA-256 HKDF cannot fail (limit is 8160).
        let _ = hkdf.expand(b"at-rest encryption v1", &mut encryption_key);
        let _ = hkdf.expand(b"code digest v1", &mut mac_key);
        Self {
            cipher: XChaCha20Poly1305::new(&encryption_key.into()),
            mac_key,
        }
    }

    /// The configured key (base64), or the key file at `key_file`, created
    /// with a fresh random key (mode 0600) when missing.
    pub fn load(configured: Option<&str>, key_file: &Path) -> Result<Self, KeyError> {
        let master = match configured {
            Some(encoded) => decode_key(encoded)?,
            None => read_or_create_key_file(key_file)?,
        };
        Ok(Self::from_master_key(&master))
    }

    /// `nonce || ciphertext`; `context` (for example the owner's id) is
    /// authenticated, so a sealed value moved to another row will not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self.cipher.encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: context,
            },
        );
        // Encryption fails only for messages over 256 GiB.
        let mut out = nonce.to_vec();
        out.extend(sealed.unwrap_or_default());
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_BYTES {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| OpenError)
    }

    /// HMAC-SHA-256 of `value` under the server key, separated by `purpose`.
    pub fn digest(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

fn decode_key(encoded: &str) -> Result<[u8; KEY_BYTES], KeyError> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|_| KeyError::Malformed)?;
    bytes.try_into().map_err(|_| KeyError::Malformed)
}

fn read_or_create_key_file(path: &Path) -> Result<[u8; KEY_BYTES], KeyError> {
    let file_error = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(encoded) => decode_key(&encoded),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0_u8; KEY_BYTES];
            OsRng.fill_bytes(&mut key);
            write_private(path, STANDARD.encode(key).as_bytes()).map_err(file_error)?;
            tracing::warn!(path = %path.display(), "created a new secret key file; set LATCHKEY_SECRET_KEY to share one key between instances");
            Ok(key)
        }
        Err(error) => Err(file_error(error)),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_master_key(&[7; KEY_BYTES])
    }

    #[test]
    fn sealed_values_open_only_in_their_context_and_with_their_key() {
        let sealed = sealer().seal(b"JBSWY3DPEHPK3PXP", b"user-1");
        assert_eq!(
            sealer().open(&sealed, b"user-1").unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(sealer().open(&sealed, b"user-2").is_err());
        assert!(
            Sealer::from_master_key(&[8; KEY_BYTES])
                .open(&sealed, b"user-1")
                .is_err()
        );
        assert!(sealer().open(&sealed[..10], b"user-1").is_err());
        assert_ne!(
            sealer().seal(b"x", b""),
            sealer().seal(b"x", b""),
            "fresh nonce each time"
        );
    }

    #[test]
    fn digests_depend_on_key_and_purpose() {
        assert_eq!(
            sealer().digest("sms", b"123456"),
            sealer().digest("sms", b"123456")
        );
        assert_ne!(
            sealer().digest("sms", b"123456"),
            sealer().digest("email", b"123456")
        );
        assert_ne!(
            sealer().digest("sms", b"123456"),
            Sealer::from_master_key(&[8; KEY_BYTES]).digest("sms", b"123456")
        );
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.key");
        let first = Sealer::load(None, &path).unwrap();
        let second = Sealer::load(None, &path).unwrap();
        let sealed = first.seal(b"secret", b"");
        assert_eq!(second.open(&sealed, b"").unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(matches!(
            Sealer::load(Some("not base64!"), &path),
            Err(KeyError::Malformed)
        ));
    }
}
