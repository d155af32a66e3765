//! The hashing limit: argon2id hashes per second with latchkey's default
//! parameters on every core, in-process. The benchmark compares the HTTP
//! throughput of sign-up and login with this number.
//!
//! `cargo run --release --example hashrate -- [seconds]`

#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    reason = "a measuring tool that prints one number"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use argon2::{Algorithm, Argon2, Params, Version};

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let config = latchkey::Config::default();
    let params = Params::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
        None,
    )
    .expect("valid parameters");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (params, done, stop) = (params.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                // As latchkey's pool does: each thread keeps argon2's working
                // memory (on huge pages) between hashes. `Argon2::hash_password` allocates and
                // zeroes 19 MiB per hash and measured about 4% slower; the
                // limit is the faster way, so nothing looks better than it is.
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut memory = latchkey::hashing::working_memory(params.block_count());
                let mut salt = [0_u8; 16];
                let mut output = [0_u8; 32];
                while !stop.load(Ordering::Relaxed) {
                    OsRng.fill_bytes(&mut salt);
                    argon2
                        .hash_password_into_with_memory(
                            b"correct horse battery staple",
                            &salt,
                            &mut output,
                            &mut memory,
                        )
                        .expect("hash");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("worker");
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{rate:.1} hashes/s on {threads} threads (m={} KiB, t={}, p={})",
        config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism
    );
}
