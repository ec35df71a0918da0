//! SeaORM entities, one per table. Ids and statuses are typed here already (`ids`,
//! `status` and the other `string_enum!` types): a stored value that does not parse
//! fails the read instead of reaching the code as a string.

pub mod account;
pub mod api_key;
pub mod campaign;
pub mod campaign_event;
pub mod contact;
pub mod idempotency_key;
pub mod ledger_entry;
pub mod message;
pub mod message_event;
pub mod provider_call;
pub mod template;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod whatsapp_callback;
pub mod whatsapp_number;
