//! `whatsapp_numbers` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{AccountId, NumberId};
use crate::status::NumberStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "whatsapp_numbers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NumberId,
    pub account_id: AccountId,
    pub phone_number_id: String,
    pub display_phone: Option<String>,
    pub access_token: String,
    pub status: NumberStatus,
    pub mps: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
