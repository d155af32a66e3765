//! A local SMTP server for the benchmark: accepts everything, writes each
//! message to `DIR/<n>.eml`, and counts them.
//!
//! `cargo run --release --example smtp_sink -- 127.0.0.1:2525 DIR`

#![allow(
    clippy::expect_used,
    reason = "a test tool: failing loudly is the point"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mailin_embedded::response::{OK, Response};
use mailin_embedded::{Handler, Server};

#[derive(Clone)]
struct Sink {
    dir: PathBuf,
    count: Arc<AtomicU64>,
    data: Vec<u8>,
}

impl Handler for Sink {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        std::fs::write(self.dir.join(format!("{n}.eml")), &self.data).expect("write the message");
        OK
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:2525".to_owned());
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "sink".to_owned()));
    std::fs::create_dir_all(&dir).expect("create the folder");
    let mut server = Server::new(Sink {
        dir,
        count: Arc::default(),
        data: Vec::new(),
    });
    server
        .with_name("bench.sink")
        .with_num_threads(64)
        .with_addr(addr)
        .expect("bind");
    server.serve().expect("serve");
}
