//! Password work off the async runtime. argon2id is deliberately costly
//! (about 12 ms of one core and 19 MiB per hash), and so, less so, is the
//! password policy's strength estimate; both run on a fixed
//! pool of one thread per core, and only a bounded number may wait for a
//! thread: past that the caller gets `Overloaded` at once, instead of every
//! request slowing down and memory growing without bound.
//!
//! Each pool thread allocates argon2's working memory once, on huge pages
//! (`memory.rs`), and reuses it for every hash: allocating 19 MiB per hash
//! from many threads left glibc's per-thread arenas holding hundreds of
//! megabytes (measured: 1.1 GB peak under 500 concurrent logins with
//! tokio's blocking pool).

mod memory;
mod upgrade;

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::{
    DisplayName, EmailAddress, Password, PasswordAssessment, PasswordHash, PasswordPolicy,
};

pub use memory::blocks as working_memory;
pub use upgrade::{Upgrade, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password hashes are waiting")]
    Overloaded,
    #[error("argon2 failed: {0}")]
    Argon2(#[from] argon2::Error),
    #[error("invalid password hash: {0}")]
    Phc(#[from] argon2::password_hash::Error),
    #[error("the hashing pool has stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// How long a request waits for a place in a full pool before it is refused.
/// A refusal that cost nothing would come back at once, and clients that
/// retry at once (a script, a load generator, an attack) would then spend
/// the cores on being refused: 500 of them on the benchmark's two cores
/// were refused 25,000 times a second and took everything else's CPU.
/// Waiting costs no CPU, paces such clients to four tries a second each,
/// and lets a place that frees up meanwhile go to the oldest waiter (a
/// burst is served rather than bounced).
const ADMISSION_WAIT: Duration = Duration::from_millis(250);

/// A handle to the hashing pool; cheap to clone.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    jobs: Sender<Job>,
    /// One permit per hash running or waiting; none left means overloaded.
    admitted: Arc<Semaphore>,
    /// How many permits there are: the workers and the queue's room.
    capacity: usize,
}

impl Hasher {
    /// `workers` threads, and room for `queue` hashes waiting for one.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        workers: usize,
        queue: usize,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)?;
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{index}"))
                .spawn(move || work(&receiver))
                .map_err(|_| HashError::Stopped)?;
        }
        let capacity = workers.max(1) + queue;
        Ok(Self {
            params,
            jobs,
            admitted: Arc::new(Semaphore::new(capacity)),
            capacity,
        })
    }

    /// Requests admitted now (hashing, or waiting for a worker), and how
    /// many may be before the next is answered `overloaded`.
    pub fn load(&self) -> (usize, usize) {
        let free = self.admitted.available_permits();
        (self.capacity.saturating_sub(free), self.capacity)
    }

    /// A hash in the configured format whose password nobody knows (random
    /// salt, random output). Checking a password against it costs exactly
    /// what checking a real one costs, and it is made without hashing.
    pub fn decoy(&self) -> Result<PasswordHash, HashError> {
        decoy_with(&self.params)
    }

    /// A place in the pool for the work of one request, or `Overloaded`
    /// when none frees up within `ADMISSION_WAIT`. Taken before anything
    /// else the request does, so one that would be refused is refused
    /// before it reads or writes anything or spends the client's quotas,
    /// and one that is admitted is not refused halfway.
    pub async fn admit(&self) -> Result<Admission, HashError> {
        let waited = tokio::time::timeout(ADMISSION_WAIT, self.admitted.clone().acquire_owned());
        let permit = match waited.await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(HashError::Stopped),
            Err(_) => return Err(HashError::Overloaded),
        };
        Ok(Admission {
            hasher: self.clone(),
            permit: Arc::new(permit),
        })
    }

    /// `admit`, then `Admission::assess`: for a check on its own (the
    /// strength meter), not one step of a flow's password work.
    pub async fn assess(
        &self,
        policy: PasswordPolicy,
        password: &Password,
        name: Option<&DisplayName>,
        email: Option<&EmailAddress>,
    ) -> Result<PasswordAssessment, HashError> {
        self.admit()
            .await?
            .assess(policy, password, name, email)
            .await
    }
}

/// `Hasher::decoy` without a pool, for the command line: the hash of an
/// account an operator invites, until its owner chooses a password.
pub fn decoy(
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<PasswordHash, HashError> {
    decoy_with(&Params::new(memory_kib, iterations, parallelism, None)?)
}

fn decoy_with(params: &Params) -> Result<PasswordHash, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut output = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    rand::RngCore::fill_bytes(&mut OsRng, &mut output);
    phc(params, &salt, &output)
}

/// The PHC string of an argon2id (0x13) hash with `params`.
fn phc(params: &Params, salt: &SaltString, output: &[u8]) -> Result<PasswordHash, HashError> {
    let phc = argon2::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output)?),
    };
    Ok(PasswordHash::from_phc(phc.to_string()))
}

/// A request's place in the hashing pool (`Hasher::admit`). It is given back
/// once it is dropped and every job run with it has finished, even if the
/// request was abandoned meanwhile: a job still running keeps its place.
/// Sign-up and login keep it through their writes too, so the pool's bound
/// also bounds how many of them wait for the database.
#[derive(Debug)]
pub struct Admission {
    hasher: Hasher,
    permit: Arc<OwnedSemaphorePermit>,
}

impl Admission {
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = password.clone();
        let params = self.hasher.params.clone();
        self.run(move |worker| worker.hash(&params, password.expose().as_bytes()))
            .await
    }

    /// Judges `password` against `policy` on a pool thread. zxcvbn's
    /// estimate is CPU work like a hash: about 0.4 ms for a 35-character
    /// passphrase alone, and measured at about 1 ms a sign-up when it ran on
    /// the async runtime's threads, preempting the hashes on both cores. Here
    /// it runs between two hashes and never stalls the runtime.
    pub async fn assess(
        &self,
        policy: PasswordPolicy,
        password: &Password,
        name: Option<&DisplayName>,
        email: Option<&EmailAddress>,
    ) -> Result<PasswordAssessment, HashError> {
        let (password, name, email) = (password.clone(), name.cloned(), email.cloned());
        self.run(move |_| Ok(policy.assess(&password, name.as_ref(), email.as_ref())))
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
        self.run(move |worker| {
            let parsed = argon2::PasswordHash::new(hash.as_str())?;
            worker.verify(password.expose().as_bytes(), &parsed)
        })
        .await
    }

    /// `verify`, and when the password is right but `hash` was made with
    /// other parameters than the configured ones, the password hashed
    /// again with them, in the same job: a second hash, once per account
    /// after the cost changes.
    pub async fn verify_and_upgrade(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verdict, HashError> {
        let password = password.clone();
        let hash = hash.clone();
        let params = self.hasher.params.clone();
        self.run(move |worker| {
            let password = password.expose().as_bytes();
            // Parsed once, for the check and the parameters' comparison.
            let parsed = argon2::PasswordHash::new(hash.as_str())?;
            if !worker.verify(password, &parsed)? {
                return Ok(Verdict::Wrong);
            }
            if upgrade::is_current(&params, &parsed) {
                return Ok(Verdict::Right { upgrade: None });
            }
            let rehashed = worker.hash(&params, password)?;
            Ok(Verdict::Right {
                upgrade: Some(Upgrade {
                    from: upgrade::parameters_of(hash.as_str()),
                    to: upgrade::parameters_of(rehashed.as_str()),
                    hash: rehashed,
                }),
            })
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Worker) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = Arc::clone(&self.permit);
        let (reply, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |worker| {
            let outcome = work(worker);
            // Admit the next request only once this one's work is done.
            drop(permit);
            let _ = reply.send(outcome);
        });
        self.hasher.jobs.send(job).map_err(|_| HashError::Stopped)?;
        result.await.map_err(|_| HashError::Stopped)?
    }
}

/// A pool thread: takes jobs until every `Hasher` handle is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut worker = Worker::default();
    loop {
        // The lock is released before the job runs: other threads take the next job meanwhile.
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = next else { return };
        // A panicking job must not shrink the pool; its caller sees `Stopped`.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut worker)));
    }
}

/// One thread's argon2 working memory, kept between hashes.
#[derive(Default)]
struct Worker {
    memory: Vec<Block>,
}

impl Worker {
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.memory.len() < count {
            self.memory = memory::blocks(count);
        }
        &mut self.memory[..count]
    }

    fn hash(&mut self, params: &Params, password: &[u8]) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0_u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
        let mut output = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            &mut output,
            self.blocks(params),
        )?;
        phc(params, &salt, &output)
    }

    fn verify(
        &mut self,
        password: &[u8],
        parsed: &argon2::PasswordHash<'_>,
    ) -> Result<bool, HashError> {
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(parsed)?;
        let mut salt_bytes = [0_u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let mut output = vec![0_u8; expected.len()];
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password,
            salt_bytes,
            &mut output,
            self.blocks(&params),
        )?;
        // `Output` compares in constant time.
        Ok(Output::new(&output)? == expected)
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    fn cheap(workers: usize, queue: usize) -> Hasher {
        Hasher::new(1024, 1, 1, workers, queue).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let hasher = Hasher::new(19_456, 2, 1, 1, 0)
            .unwrap()
            .admit()
            .await
            .unwrap();
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
        // Old hashes keep verifying after the parameters change (and reuse a smaller buffer).
        let other = cheap(1, 0).admit().await.unwrap();
        assert!(other.verify(&password, &hash).await.unwrap());
        // The PHC string is standard: the argon2 crate's own verifier agrees.
        let parsed = argon2::PasswordHash::new(hash.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_right_password_under_other_parameters_is_hashed_again_with_the_configured_ones() {
        let password = Password::new("correct horse battery staple");
        let old = cheap(1, 0)
            .admit()
            .await
            .unwrap()
            .hash(&password)
            .await
            .unwrap();
        let hasher = Hasher::new(2048, 2, 1, 1, 0)
            .unwrap()
            .admit()
            .await
            .unwrap();

        let upgrade = hasher
            .verify_and_upgrade(&password, &old)
            .await
            .unwrap()
            .into_upgrade()
            .expect("a hash of other parameters is upgraded");
        assert!(
            upgrade
                .hash
                .as_str()
                .starts_with("$argon2id$v=19$m=2048,t=2,p=1$"),
            "{:?}",
            upgrade.hash.as_str()
        );
        assert_eq!(upgrade.from, "argon2id v=19 m=1024,t=1,p=1");
        assert_eq!(upgrade.to, "argon2id v=19 m=2048,t=2,p=1");
        assert!(hasher.verify(&password, &upgrade.hash).await.unwrap());

        // A current hash is left as it is, and a wrong password upgrades nothing.
        let current = hasher
            .verify_and_upgrade(&password, &upgrade.hash)
            .await
            .unwrap();
        assert!(current.is_right());
        assert!(current.into_upgrade().is_none());
        let wrong = hasher
            .verify_and_upgrade(&Password::new("correct horse battery stapl"), &old)
            .await
            .unwrap();
        assert!(!wrong.is_right());
    }

    #[tokio::test]
    async fn verifies_hashes_made_elsewhere() {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let foreign = Argon2::default()
            .hash_password(b"made by another tool", &salt)
            .unwrap()
            .to_string();
        let hasher = cheap(1, 0).admit().await.unwrap();
        assert!(
            hasher
                .verify(
                    &Password::new("made by another tool"),
                    &PasswordHash::from_phc(foreign.clone())
                )
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(
                    &Password::new("made by another tool!"),
                    &PasswordHash::from_phc(foreign)
                )
                .await
                .unwrap()
        );
        assert!(
            hasher
                .verify(
                    &Password::new("x"),
                    &PasswordHash::from_phc("not a hash".to_owned())
                )
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_decoy_costs_a_real_check_and_matches_nothing() {
        let hasher = Hasher::new(19_456, 2, 1, 1, 0).unwrap();
        let decoy = hasher.decoy().unwrap();
        let hasher = hasher.admit().await.unwrap();
        assert!(
            decoy
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            decoy.as_str()
        );
        assert!(!hasher.verify(&Password::new(""), &decoy).await.unwrap());
        assert!(
            !hasher
                .verify(&Password::new("correct horse battery staple"), &decoy)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn salts_differ() {
        let hasher = cheap(1, 0).admit().await.unwrap();
        let password = Password::new("same password twice");
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
    }

    #[tokio::test]
    async fn the_load_counts_the_places_held() {
        let hasher = cheap(2, 3);
        assert_eq!(hasher.load(), (0, 5));
        let first = hasher.admit().await.unwrap();
        let second = hasher.admit().await.unwrap();
        assert_eq!(hasher.load(), (2, 5));
        drop(first);
        assert_eq!(hasher.load(), (1, 5));
        drop(second);
        assert_eq!(hasher.load(), (0, 5));
    }

    #[tokio::test]
    async fn refuses_work_beyond_the_queue() {
        let hasher = Hasher::new(65_536, 4, 1, 1, 1).unwrap();
        let password = Password::new("a password to hash slowly");
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let hasher = hasher.clone();
                let password = password.clone();
                tokio::spawn(async move { hasher.admit().await?.hash(&password).await })
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
