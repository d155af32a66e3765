//! The command-line contract: `migrate`, `users list`, `users show`, `outbox list`.

use std::process::Command;

use crate::helpers::{Backend, TestApp, both_backends};

both_backends!(the_cli_lists_users_and_outbox);

fn latchkey(app: &TestApp, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("LATCHKEY_DATABASE_URL", &app.config.database_url)
        .env("LATCHKEY_CONFIG", app.dir.path().join("absent.toml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "latchkey {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn the_cli_lists_users_and_outbox(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_and_get_link("cli@example.com").await;
    assert!(latchkey(&app, &["migrate"]).contains("migrations applied"));
    let users = latchkey(&app, &["users", "list"]);
    assert!(
        users.contains("cli@example.com") && users.contains("pending"),
        "{users}"
    );
    let shown = latchkey(&app, &["users", "show", "CLI@example.com"]);
    assert!(
        shown.contains("user.registered") && shown.contains("email.sent"),
        "{shown}"
    );
    let outbox = latchkey(&app, &["outbox", "list"]);
    assert!(
        outbox.contains("verify_email") && outbox.contains("sent"),
        "{outbox}"
    );
}
