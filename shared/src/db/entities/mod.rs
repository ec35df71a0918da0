//! SeaORM entities, one per table. Ids and statuses are plain strings here; the domain
//! newtypes in `ids` and `status` wrap them at the edges.

pub mod account;
pub mod api_key;
pub mod campaign;
pub mod contact;
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
