//! Password hashing off the async runtime. argon2id is deliberately costly
//! (about 15 ms of one core and 19 MiB per hash), so hashes run on at most
//! one thread per core, and only a bounded number may wait for a thread:
//! past that the caller gets `Overloaded` at once, instead of every request
//! slowing down and memory growing without bound.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::{Password, PasswordHash};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password hashes are waiting")]
    Overloaded,
    #[error("invalid argon2 parameters: {0}")]
    Params(argon2::Error),
    #[error("hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("the hashing task failed")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    /// One permit per hashing thread.
    running: Arc<Semaphore>,
    /// Permits for running plus waiting hashes; none left means overloaded.
    admitted: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        workers: usize,
        queue: usize,
    ) -> Result<Self, HashError> {
        let params =
            Params::new(memory_kib, iterations, parallelism, None).map_err(HashError::Params)?;
        let workers = workers.max(1);
        Ok(Self {
            params,
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        let params = self.params.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| PasswordHash::from_phc(hash.to_string()))
                .map_err(HashError::Hash)
        })
        .await
    }

    /// Checks `password` against `hash` with the parameters stored in the hash.
    pub async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, HashError> {
        let password = password.clone();
        let hash = hash.clone();
        self.run(move || {
            let parsed = argon2::PasswordHash::new(hash.as_str()).map_err(HashError::Hash)?;
            Ok(Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Overloaded)?;
        let _running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Overloaded)?;
        tokio::task::spawn_blocking(work).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(workers: usize, queue: usize) -> Hasher {
        Hasher::new(1024, 1, 1, workers, queue).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let hasher = Hasher::new(19_456, 2, 1, 1, 0).unwrap();
        let password = Password::new("correct horse battery staple");
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(hasher.verify(&password, &hash).await.unwrap());
        assert!(
            !hasher
                .verify(&Password::new("correct horse battery stapl"), &hash)
                .await
                .unwrap()
        );
        // Old hashes keep verifying after the parameters change.
        assert!(cheap(1, 0).verify(&password, &hash).await.unwrap());
    }

    #[tokio::test]
    async fn salts_differ() {
        let hasher = cheap(1, 0);
        let password = Password::new("same password twice");
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
    }

    #[tokio::test]
    async fn refuses_work_beyond_the_queue() {
        let hasher = Hasher::new(65_536, 4, 1, 1, 1).unwrap();
        let password = Password::new("a password to hash slowly");
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let hasher = hasher.clone();
                let password = password.clone();
                tokio::spawn(async move { hasher.hash(&password).await })
            })
            .collect();
        let mut overloaded = 0;
        for task in tasks {
            if matches!(task.await.unwrap(), Err(HashError::Overloaded)) {
                overloaded += 1;
            }
        }
        assert!(
            overloaded >= 1,
            "six hashes on one thread with one queue slot must shed load"
        );
        assert!(
            overloaded <= 4,
            "the running and the queued hash must complete"
        );
    }
}
