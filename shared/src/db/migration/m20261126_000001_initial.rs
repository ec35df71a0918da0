//! Accounts, keys, numbers, templates, contacts, campaigns, messages, their history,
//! provider calls and the credit ledger.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{foreign, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_initial"
    }
}

/// Public ids are 24 hex characters.
fn id(name: &'static str) -> ColumnDef {
    string_len(name, 24).primary_key().to_owned()
}

fn fk(name: &'static str) -> ColumnDef {
    string_len(name, 24)
}

fn fk_null(name: &'static str) -> ColumnDef {
    string_len_null(name, 24)
}

fn at(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn at_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("accounts")
                .col(id("id"))
                .col(string_len("name", 255))
                .col(big_integer("balance").default(0))
                .col(at("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .col(id("id"))
                .col(fk("account_id"))
                .col(string_len("key_prefix", 16))
                .col(string_len_uniq("key_hash", 64))
                .col(at("created_at"))
                .col(at_null("revoked_at"))
                .col(at_null("last_used_at"))
                .foreign_key(&mut foreign("api_keys", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_api_keys_prefix", "api_keys", &["key_prefix"]))
            .await?;

        m.create_table(
            Table::create()
                .table("whatsapp_numbers")
                .col(id("id"))
                .col(fk("account_id"))
                .col(string_len("phone_number_id", 64))
                .col(string_len_null("display_phone", 32))
                .col(text("access_token"))
                .col(string_len("status", 16))
                .col(integer("mps").default(80))
                .col(at("created_at"))
                .foreign_key(&mut foreign("whatsapp_numbers", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_whatsapp_numbers_account_pnid",
                "whatsapp_numbers",
                &["account_id", "phone_number_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("templates")
                .col(id("id"))
                .col(fk("account_id"))
                .col(fk_null("number_id"))
                .col(string_len("name", 512))
                .col(string_len("language", 16))
                .col(string_len("category", 32))
                .col(string_len("status", 16))
                .col(string_len("header_format", 16))
                .col(integer("body_vars").default(0))
                .col(integer("header_vars").default(0))
                .col(at("created_at"))
                .foreign_key(&mut foreign("templates", "account_id", "accounts"))
                .foreign_key(&mut foreign("templates", "number_id", "whatsapp_numbers"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_templates_account_name_lang",
                "templates",
                &["account_id", "name", "language"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("contacts")
                .col(id("id"))
                .col(fk("account_id"))
                .col(string_len("phone", 15))
                .col(string_len_null("name", 255))
                .col(at("created_at"))
                .foreign_key(&mut foreign("contacts", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_contacts_account_phone",
                "contacts",
                &["account_id", "phone"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("campaigns")
                .col(id("id"))
                .col(fk("account_id"))
                .col(fk("template_id"))
                .col(fk("number_id"))
                .col(string_len("name", 255))
                .col(text_null("description"))
                .col(text("body_data"))
                .col(text("header_data"))
                .col(text_null("media_url"))
                .col(string_len_null("filename", 255))
                .col(string_len("status", 16))
                .col(at_null("scheduled_at"))
                .col(string_len_null("scheduled_timezone", 64))
                .col(string_len_null("task_id", 32))
                .col(big_integer("total_contacts").default(0))
                .col(big_integer("credits_reserved").default(0))
                .col(big_integer("credits_refunded").default(0))
                .col(integer_null("error_code"))
                .col(text_null("error_message"))
                .col(at("created_at"))
                .col(at("updated_at"))
                .col(at_null("queued_at"))
                .col(at_null("started_at"))
                .col(at_null("completed_at"))
                .col(at_null("settled_at"))
                .foreign_key(&mut foreign("campaigns", "account_id", "accounts"))
                .foreign_key(&mut foreign("campaigns", "template_id", "templates"))
                .foreign_key(&mut foreign("campaigns", "number_id", "whatsapp_numbers"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_campaigns_account_created",
            "campaigns",
            &["account_id", "created_at"],
        ))
        .await?;
        m.create_index(index("idx_campaigns_status", "campaigns", &["status"]))
            .await?;

        m.create_table(
            Table::create()
                .table("messages")
                .col(id("id"))
                .col(fk("campaign_id"))
                .col(fk("contact_id"))
                .col(string_len("phone", 15))
                .col(string_len("status", 16))
                .col(integer("attempts").default(0))
                .col(at("next_attempt_at"))
                .col(string_len_null("claim", 64))
                .col(at_null("lease_until"))
                .col(string_len_null("wamid", 255))
                .col(integer_null("error_code"))
                .col(text_null("error_message"))
                .col(at("created_at"))
                .col(at("updated_at"))
                .col(at_null("sent_at"))
                .col(at_null("delivered_at"))
                .col(at_null("read_at"))
                .col(at_null("failed_at"))
                .foreign_key(&mut foreign("messages", "campaign_id", "campaigns"))
                .foreign_key(&mut foreign("messages", "contact_id", "contacts"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_messages_campaign_contact",
                "messages",
                &["campaign_id", "contact_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        // Serves the claim (`status = 'pending' AND next_attempt_at <= now`), the
        // reconciler's scans and the stats `GROUP BY status`.
        m.create_index(index(
            "idx_messages_campaign_status_next",
            "messages",
            &["campaign_id", "status", "next_attempt_at"],
        ))
        .await?;
        m.create_index(index("idx_messages_wamid", "messages", &["wamid"]))
            .await?;

        m.create_table(
            Table::create()
                .table("message_events")
                .col(big_pk_auto("id"))
                .col(fk("message_id"))
                .col(fk("campaign_id"))
                .col(string_len_null("from_status", 16))
                .col(string_len("to_status", 16))
                .col(at("at"))
                .col(text_null("detail"))
                .foreign_key(&mut foreign("message_events", "message_id", "messages"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_message_events_message",
            "message_events",
            &["message_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("provider_calls")
                .col(big_pk_auto("id"))
                .col(fk("message_id"))
                .col(fk("campaign_id"))
                .col(integer("attempt"))
                .col(string_len("outcome", 16))
                .col(integer_null("http_status"))
                .col(integer_null("error_code"))
                .col(text_null("error_message"))
                .col(integer("latency_ms"))
                .col(at("at"))
                .foreign_key(&mut foreign("provider_calls", "message_id", "messages"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_provider_calls_message",
            "provider_calls",
            &["message_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("wallet_ledger")
                .col(big_pk_auto("id"))
                .col(fk("account_id"))
                .col(fk_null("campaign_id"))
                .col(string_len("kind", 16))
                .col(big_integer("amount"))
                .col(big_integer("balance_after"))
                .col(text_null("note"))
                .col(at("created_at"))
                .foreign_key(&mut foreign("wallet_ledger", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_wallet_ledger_account",
            "wallet_ledger",
            &["account_id", "id"],
        ))
        .await?;
        Ok(())
    }
}
