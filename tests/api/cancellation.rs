//! A request can be dropped at any await: its client hangs up, or it runs
//! past the request timeout. Whatever it had begun must end with it, and
//! the connection it held must go back to the pool clean.

use std::future::Future;
use std::time::Duration;

use latchkey::audit::RequestMeta;
use latchkey::clock::Clock as _;
use latchkey::domain::{EmailAddress, SessionToken};
use latchkey::store::NewSession;
use sqlx::Connection as _;

use crate::helpers::{Backend, TestApp, both_backends};

both_backends!(a_write_cancelled_at_any_point_leaves_no_transaction_open);

async fn a_write_cancelled_at_any_point_leaves_no_transaction_open(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("cancelled@example.com").await;
    let email = EmailAddress::parse("cancelled@example.com").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    let session = || {
        let now = app.clock.now();
        NewSession {
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            digest: SessionToken::generate().digest(),
            created_at: now,
            authenticated_at: now,
            expires_at: now + chrono::TimeDelta::hours(1),
            signed_in_with: latchkey::domain::SignedInWith::Password,
            device: None,
        }
    };
    // Dropped after one poll, two, three...: some of them while BEGIN is on
    // the wire (where sqlx 0.8 forgets a PostgreSQL transaction). A leaked
    // transaction can be ended by the next one on its connection, so the
    // server is asked after each round, not once at the end.
    let meta = RequestMeta::default();
    let mut admin = match backend {
        Backend::Postgres => Some(
            sqlx::PgConnection::connect(&app.config.database_url)
                .await
                .unwrap(),
        ),
        Backend::Sqlite => None,
    };
    let mut left_open = 0;
    for polls in 1..=30 {
        for _ in 0..5 {
            drop_after(app.store.create_session(&session(), &meta, None), polls).await;
        }
        if let Some(admin) = &mut admin {
            left_open += open_after(admin, Duration::from_secs(1)).await;
        }
    }
    assert_eq!(
        left_open, 0,
        "connections left inside a transaction nobody will end"
    );

    // A write that completes is committed: readers on other connections see it.
    let last = session();
    app.store.create_session(&last, &meta, None).await.unwrap();
    assert!(
        app.store
            .session_by_digest(&last.digest)
            .await
            .unwrap()
            .is_some(),
        "a completed write is visible to every connection"
    );
}

/// Polls `future` up to `polls` times, letting the runtime run in between,
/// and drops it unfinished, as hyper drops a handler whose client hung up.
async fn drop_after(future: impl Future, polls: usize) {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        let finished = tokio::select! {
            biased;
            _ = future.as_mut() => true,
            () = std::future::ready(()) => false,
        };
        if finished {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Connections of this database inside a transaction, once none is left or
/// `patience` has passed. A dropped transaction's connection rolls back in
/// the background, later on a busy machine; a leaked one stays open.
async fn open_after(admin: &mut sqlx::PgConnection, patience: Duration) -> i64 {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        if open == 0 || tokio::time::Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
