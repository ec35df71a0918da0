//! `wallet_ledger` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{AccountId, CampaignId};
use crate::string_enum::string_enum;

string_enum!(
    /// Why the balance changed (`wallet_ledger.kind`).
    Kind {
        /// Credits bought or granted by an operator.
        TopUp => "topup",
        /// Held when a campaign is sent: recipients × price.
        Reserve => "reserve",
        /// Given back for recipients that were never delivered to WhatsApp.
        Refund => "refund",
        /// One test message (`send_test_message`), paid for on its own; refunded if it
        /// fails.
        Charge => "charge",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: AccountId,
    pub campaign_id: Option<CampaignId>,
    pub kind: Kind,
    pub amount: i64,
    pub balance_after: i64,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
