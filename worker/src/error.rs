//! The worker's one error type. Handlers log it and finish; SQL keeps the truth and
//! the reconciler resumes whatever an error interrupted.

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored secret that cannot be read: its key is not configured, or it was altered.
    #[error("{0}")]
    Secret(#[from] waplify_shared::secrets::SecretError),
    #[error("the number's send budget stayed exhausted")]
    Busy,
}
