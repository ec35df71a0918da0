//! A WhatsApp callback counts only for the number it came for. One Meta app serves
//! every tenant's numbers, and anyone sending through the Cloud API can put one of our
//! message ids in `biz_opaque_callback_data`: a status or reply names a message of ours
//! only when the notification's `metadata.phone_number_id` is the number that message
//! was sent from, and, when it names the message by that opaque id, when its recipient
//! is the message's.

use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::db::entities::{campaign, message, whatsapp_number};
use crate::ids::CampaignId;

/// The number each campaign sends from, read once per callback body.
#[derive(Default)]
pub struct Senders(HashMap<CampaignId, Option<String>>);

impl Senders {
    /// Whether a callback for `number` may speak about `row`.
    pub async fn sent_from<C: ConnectionTrait>(
        &mut self,
        db: &C,
        row: &message::Model,
        number: Option<&str>,
    ) -> Result<bool, DbErr> {
        let Some(number) = number else {
            return Ok(false);
        };
        if !self.0.contains_key(&row.campaign_id) {
            let found: Option<String> = whatsapp_number::Entity::find()
                .select_only()
                .column(whatsapp_number::Column::PhoneNumberId)
                .filter(
                    whatsapp_number::Column::Id.in_subquery(
                        Query::select()
                            .column(campaign::Column::NumberId)
                            .from(campaign::Entity)
                            .and_where(campaign::Column::Id.eq(row.campaign_id.clone()))
                            .to_owned(),
                    ),
                )
                .into_tuple()
                .one(db)
                .await?;
            self.0.insert(row.campaign_id.clone(), found);
        }
        Ok(self.0[&row.campaign_id].as_deref() == Some(number))
    }
}

/// Whether WhatsApp's `recipient_id` is the number we sent to. WhatsApp ids differ
/// from dialled numbers in two countries: Mexican mobiles may carry a `1` after `52`,
/// and Brazilian mobiles may lack the `9` after the area code.
pub fn same_recipient(ours: &str, reported: &str) -> bool {
    fn canonical(p: &str) -> String {
        if p.len() == 13 && p.starts_with("521") {
            return format!("52{}", &p[3..]);
        }
        if p.len() == 13 && p.starts_with("55") && p.as_bytes()[4] == b'9' {
            return format!("{}{}", &p[..4], &p[5..]);
        }
        p.to_owned()
    }
    let reported = reported.strip_prefix('+').unwrap_or(reported);
    ours == reported || canonical(ours) == canonical(reported)
}

#[cfg(test)]
mod tests {
    use super::same_recipient;

    #[test]
    fn recipients_match_across_the_known_whatsapp_id_variants() {
        assert!(same_recipient("15550000001", "15550000001"));
        assert!(same_recipient("15550000001", "+15550000001"));
        assert!(!same_recipient("15550000001", "15550000002"));
        // Mexico: 52 1 55 1234 5678 and 52 55 1234 5678 are one phone.
        assert!(same_recipient("5215512345678", "525512345678"));
        assert!(same_recipient("525512345678", "5215512345678"));
        // Brazil: 55 11 9 8765 4321 and 55 11 8765 4321 are one phone.
        assert!(same_recipient("5511987654321", "551187654321"));
        assert!(!same_recipient("5511987654321", "551187654329"));
        assert!(!same_recipient("", "15550000001"));
    }
}
