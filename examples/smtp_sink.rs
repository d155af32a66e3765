//! A local SMTP server for the benchmark: accepts everything, writes each
//! message to `DIR/<n>.eml`, and counts them.
//!
//! It stands in for a mail server on another machine, so it should take as
//! little of this machine's two cores as it can. mailin speaks the protocol;
//! every connection runs on one thread's event loop, so the outbox's batch of
//! concurrent deliveries is answered many commands per wake-up. A thread per
//! connection (mailin-embedded, the sink before this one) woke once for
//! every command of every email, and each wake-up interrupted a hash
//! (BENCHMARKS.md, session 8).
//!
//! `cargo run --release --example smtp_sink -- 127.0.0.1:2525 DIR`

#![allow(
    clippy::expect_used,
    reason = "a test tool: failing loudly is the point"
)]

use std::cell::Cell;
use std::net::IpAddr;
use std::path::PathBuf;
use std::rc::Rc;

use mailin::response::{OK, Response};
use mailin::{Action, Handler, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

struct Sink {
    dir: Rc<PathBuf>,
    count: Rc<Cell<u64>>,
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
        let n = self.count.get();
        self.count.set(n + 1);
        // Blocking, on the event loop: the folder is on /dev/shm where the
        // benchmark can put it, and a write there is a copy into memory.
        std::fs::write(self.dir.join(format!("{n}.eml")), &self.data).expect("write the message");
        OK
    }
}

/// One SMTP conversation: each line the client sends goes to mailin, and its
/// answer, if any, goes back at once.
async fn converse(stream: TcpStream, peer: IpAddr, sink: Sink) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut session = SessionBuilder::new("bench.sink").build(peer, sink);
    writer.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply | Action::UpgradeTls => writer.write_all(&response.buffer()?).await?,
            Action::Close => {
                writer.write_all(&response.buffer()?).await?;
                return Ok(());
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:2525".to_owned());
    let dir = Rc::new(PathBuf::from(
        args.next().unwrap_or_else(|| "sink".to_owned()),
    ));
    std::fs::create_dir_all(dir.as_path()).expect("create the folder");
    let count = Rc::new(Cell::new(0));
    let listener = TcpListener::bind(&addr).await.expect("bind");
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let sink = Sink {
                    dir: Rc::clone(&dir),
                    count: Rc::clone(&count),
                    data: Vec::new(),
                };
                tokio::task::spawn_local(async move {
                    // A client that hangs up mid-conversation ends only its own.
                    let _ = converse(stream, peer.ip(), sink).await;
                });
            }
        })
        .await;
}
