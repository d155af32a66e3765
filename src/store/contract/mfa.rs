//! Second factors, recovery codes and login challenges. Queries in
//! `sql/mfa.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::RequestMeta;
use crate::domain::{FactorKind, TokenDigest, UserId};
use crate::store::{
    ChallengeRecord, EnrolError, FactorRecord, NewChallenge, NewMessage, NewPasskey, PendingFactor,
    StoreResult,
};

/// Second factors, recovery codes and login challenges.
#[async_trait]
pub trait MfaStore: Send + Sync {
    async fn factors_of(&self, user_id: UserId) -> StoreResult<Vec<FactorRecord>>;

    /// Starts (or restarts) an enrolment; refused while a confirmed factor of
    /// that kind exists.
    async fn begin_enrolment(&self, factor: &PendingFactor) -> Result<(), EnrolError>;

    /// Counts one wrong enrolment code; returns the attempts so far.
    async fn count_enrolment_attempt(&self, user_id: UserId, kind: FactorKind) -> StoreResult<i32>;

    /// Confirms a pending enrolment; false when there was none.
    async fn confirm_factor(
        &self,
        user_id: UserId,
        kind: FactorKind,
        last_step: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Confirms the pending passkey enrolment with the credential it made
    /// (which replaces the ceremony's state); false when there was none,
    /// `AlreadyEnrolled` when that credential is already someone's.
    async fn confirm_passkey(
        &self,
        user_id: UserId,
        passkey: &NewPasskey<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, EnrolError>;

    /// Records a passkey's sign-in at `now`: its credential id, and its
    /// sealed credential when the signature counter moved on. False when
    /// the passkey is gone.
    async fn passkey_used(
        &self,
        factor_id: Uuid,
        sealed: Option<&[u8]>,
        credential_id: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Claims a passkey sign-in's ceremony, by its digest, until it would
    /// have expired: false when it was claimed before (a replayed answer).
    async fn claim_passkey_sign_in(
        &self,
        digest: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Renames one of the account's passkeys; false when it has no such one.
    async fn rename_passkey(&self, user_id: UserId, id: Uuid, name: &str) -> StoreResult<bool>;

    /// Records `step` as the last TOTP step used, only if it is later than
    /// the one recorded: two requests with one code cannot both pass.
    async fn advance_totp_step(&self, user_id: UserId, step: i64) -> StoreResult<bool>;

    /// Removes the confirmed factors of `kind`, or only the one with `id`
    /// (and the recovery codes with the last factor); false when there was
    /// none.
    async fn delete_factor(
        &self,
        user_id: UserId,
        kind: FactorKind,
        id: Option<Uuid>,
    ) -> StoreResult<bool>;

    /// An operator's reset for an owner who lost every factor: in one
    /// transaction the factors (pending enrolments too) and recovery codes
    /// go, every session ends, logins waiting for a second factor expire,
    /// and `notice` is queued with `mfa.reset` (`meta`'s). Nothing at all
    /// when no factor was confirmed: `None`. Else the kinds removed and the
    /// sessions ended.
    async fn reset_factors(
        &self,
        user_id: UserId,
        notice: &NewMessage,
        meta: &RequestMeta,
    ) -> StoreResult<Option<(Vec<FactorKind>, u64)>>;

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        digests: &[[u8; 32]],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Uses an unused recovery code; false when it is unknown or used.
    async fn use_recovery_code(
        &self,
        user_id: UserId,
        digest: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn recovery_codes_left(&self, user_id: UserId) -> StoreResult<i64>;

    async fn create_challenge(&self, challenge: &NewChallenge) -> StoreResult<()>;

    async fn challenge_by_digest(
        &self,
        digest: &TokenDigest,
    ) -> StoreResult<Option<ChallengeRecord>>;

    /// Stores a fresh delivered code; the attempt count is kept.
    async fn set_challenge_code(
        &self,
        id: Uuid,
        method: FactorKind,
        digest: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Keeps the state of the passkey ceremony a login began (sealed),
    /// replacing any earlier one.
    async fn set_challenge_passkey(&self, id: Uuid, state: &[u8]) -> StoreResult<()>;

    /// Counts one wrong code; returns the attempts so far.
    async fn count_challenge_attempt(&self, id: Uuid) -> StoreResult<i32>;

    /// Marks the challenge done, once; false when it already was.
    async fn complete_challenge(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
}
