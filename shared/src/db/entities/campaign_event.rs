//! `campaign_events` rows: one per status a campaign passed through.

use sea_orm::entity::prelude::*;

use crate::ids::CampaignId;
use crate::status::CampaignStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: CampaignId,
    pub from_status: Option<CampaignStatus>,
    pub to_status: CampaignStatus,
    pub at: DateTimeUtc,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
