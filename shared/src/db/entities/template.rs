//! `templates` rows.

use sea_orm::entity::prelude::*;

use crate::ids::{AccountId, NumberId, TemplateId};
use crate::status::{HeaderFormat, TemplateStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TemplateId,
    pub account_id: AccountId,
    pub number_id: Option<NumberId>,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: TemplateStatus,
    pub header_format: HeaderFormat,
    pub body_vars: i32,
    pub header_vars: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
