//! What the store can fail with.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
    #[error("stored data is invalid: {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    /// The database could not be had in time: SQLite's write lock held by
    /// another process (a `latchkey` command, a backup) past the busy
    /// timeout, or every pooled PostgreSQL connection taken for as long.
    /// Nothing was written, and the same request may well succeed in a
    /// moment: the client is told to try again, not that the server failed.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::PoolTimedOut) => true,
            Self::Database(error) => super::sqlite::is_busy(error),
            _ => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("this kind of factor is already enrolled")]
    AlreadyEnrolled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("the email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}
