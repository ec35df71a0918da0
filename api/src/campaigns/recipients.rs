//! Recipients: normalising and deduplicating phone numbers, then writing contacts and
//! message rows in bulk. 10,000 recipients cost a handful of statements, not 10,000.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

use waplify_shared::db::counts::{self, Tally};
use waplify_shared::db::entities::{contact, message};
use waplify_shared::ids::{AccountId, CampaignId, ContactId, MessageId};
use waplify_shared::phone::Phone;
use waplify_shared::status::MessageStatus;

use super::views::ContactInput;

/// Rows per INSERT: 2,000 × 9 columns stays under SQLite's 32,766 bind parameters.
const CHUNK: usize = 2000;

/// Request contacts after normalisation.
#[derive(Debug, Default)]
pub struct Recipients {
    /// Distinct phones, first occurrence first, with the first non-empty name given.
    pub valid: Vec<(Phone, Option<String>)>,
    /// Inputs that are not phone numbers, as sent.
    pub invalid: Vec<String>,
    /// Valid inputs that repeated an earlier one.
    pub repeated: usize,
}

pub fn normalise(inputs: Vec<ContactInput>) -> Recipients {
    let mut out = Recipients::default();
    let mut index: std::collections::HashMap<Phone, usize> = std::collections::HashMap::new();
    for input in inputs {
        let raw = input.phone.into_string();
        let name = input
            .name
            .map(|n| n.into_string().trim().to_owned())
            .filter(|n| !n.is_empty());
        match Phone::parse(&raw) {
            None => out.invalid.push(raw),
            Some(phone) => match index.get(&phone) {
                Some(&i) => {
                    out.repeated += 1;
                    let slot: &mut Option<String> = &mut out.valid[i].1;
                    if slot.is_none() {
                        *slot = name;
                    }
                }
                None => {
                    index.insert(phone.clone(), out.valid.len());
                    out.valid.push((phone, name));
                }
            },
        }
    }
    out
}

/// Upserts the contacts of `recipients` and adds one pending message per recipient not
/// already in the campaign. Returns how many messages were added.
pub async fn attach<C: ConnectionTrait>(
    db: &C,
    account_id: &AccountId,
    campaign_id: &CampaignId,
    recipients: &[(Phone, Option<String>)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut added = 0;
    for chunk in recipients.chunks(CHUNK) {
        let contacts = upsert_contacts(db, account_id, chunk, now).await?;
        let mut insert = Query::insert();
        insert
            .into_table(message::Entity)
            .columns([
                message::Column::Id,
                message::Column::CampaignId,
                message::Column::ContactId,
                message::Column::Phone,
                message::Column::Status,
                message::Column::Attempts,
                message::Column::NextAttemptAt,
                message::Column::CreatedAt,
                message::Column::UpdatedAt,
            ])
            .on_conflict(
                // The unique index is partial (test messages repeat phones), so the
                // conflict target names its predicate.
                OnConflict::columns([message::Column::CampaignId, message::Column::ContactId])
                    .target_and_where(Expr::cust("NOT test"))
                    .do_nothing()
                    .to_owned(),
            );
        for (contact_id, phone) in contacts {
            insert.values_panic([
                MessageId::generate().into(),
                campaign_id.clone().into(),
                contact_id.into(),
                phone.into(),
                MessageStatus::Pending.into(),
                0i32.into(),
                now.into(),
                now.into(),
                now.into(),
            ]);
        }
        added += db.execute(&insert).await?.rows_affected();
    }
    counts::adjust(db, campaign_id, &[(Tally::Pending, added as i64)]).await?;
    Ok(added)
}

/// Inserts or refreshes contacts; returns `(contact_id, phone)` for every one of them.
pub(super) async fn upsert_contacts<C: ConnectionTrait>(
    db: &C,
    account_id: &AccountId,
    recipients: &[(Phone, Option<String>)],
    now: DateTime<Utc>,
) -> Result<Vec<(ContactId, String)>, DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table(contact::Entity)
        .columns([
            contact::Column::Id,
            contact::Column::AccountId,
            contact::Column::Phone,
            contact::Column::Name,
            contact::Column::CreatedAt,
        ])
        // DO UPDATE (not DO NOTHING) so RETURNING yields existing contacts too.
        .on_conflict(
            OnConflict::columns([contact::Column::AccountId, contact::Column::Phone])
                .value(
                    contact::Column::Name,
                    Expr::cust("COALESCE(excluded.name, contacts.name)"),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([contact::Column::Id, contact::Column::Phone]));
    for (phone, name) in recipients {
        insert.values_panic([
            ContactId::generate().into(),
            account_id.clone().into(),
            phone.as_str().into(),
            name.clone().into(),
            now.into(),
        ]);
    }
    let rows = db.query_all(&insert).await?;
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: ContactId = row.try_get_by_index(0)?;
        let phone: String = row.try_get_by_index(1)?;
        if seen.insert(id.clone()) {
            out.push((id, phone));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::text::Text;

    fn input(phone: &str, name: Option<&str>) -> ContactInput {
        ContactInput {
            phone: Text(phone.into()),
            name: name.map(|n| Text(n.into())),
        }
    }

    #[test]
    fn dedups_and_lists_invalid() {
        let r = normalise(vec![
            input("+1 555 123 4567", None),
            input("15551234567", Some("Ada")),
            input("nope", Some("x")),
            input("447700900123", Some(" ")),
        ]);
        assert_eq!(r.valid.len(), 2);
        assert_eq!(r.valid[0].0.as_str(), "15551234567");
        assert_eq!(r.valid[0].1.as_deref(), Some("Ada"));
        assert_eq!(r.valid[1].1, None);
        assert_eq!(r.invalid, vec!["nope".to_string()]);
        assert_eq!(r.repeated, 1);
    }
}
