//! How to send a campaign's messages (template body, sender, rate), read from SQL and
//! cached for a few seconds: campaign, template and number rarely change once a
//! campaign runs, and the cache spares three reads per batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{DbErr, EntityTrait};

use waplify_shared::db::Db;
use waplify_shared::db::entities::{campaign, template, whatsapp_number};
use waplify_shared::ids::{CampaignId, NumberId};
use waplify_shared::secrets::{Field, Keyring};
use waplify_shared::status::{CampaignStatus, NumberStatus};

use super::provider::Sender;
use super::template::Template;
use crate::error::WorkError;

/// How to send a campaign's messages.
#[derive(Debug)]
pub struct Spec {
    pub campaign_id: CampaignId,
    pub status: CampaignStatus,
    pub recipients: i64,
    pub number_id: NumberId,
    pub number_active: bool,
    pub mps: u64,
    pub sender: Sender,
    pub template: Template,
}

const SPEC_TTL: Duration = Duration::from_secs(5);

/// Specs by campaign, each kept for [`SPEC_TTL`].
#[derive(Default)]
pub struct SpecCache(Mutex<HashMap<CampaignId, (Instant, Arc<Spec>)>>);

impl SpecCache {
    /// The send spec of a campaign, `None` if it does not exist.
    pub async fn get(
        &self,
        db: &Db,
        keys: &Keyring,
        campaign_id: &CampaignId,
    ) -> Result<Option<Arc<Spec>>, WorkError> {
        if let Some((at, spec)) = self.0.lock().expect("spec cache").get(campaign_id)
            && at.elapsed() < SPEC_TTL
        {
            return Ok(Some(spec.clone()));
        }
        let Some(spec) = load(db, keys, campaign_id, None).await? else {
            return Ok(None);
        };
        let spec = Arc::new(spec);
        let mut cache = self.0.lock().expect("spec cache");
        if cache.len() > 1000 {
            cache.retain(|_, (at, _)| at.elapsed() < SPEC_TTL);
        }
        cache.insert(campaign_id.clone(), (Instant::now(), spec.clone()));
        Ok(Some(spec))
    }

    /// The spec, read again when the cached one says the campaign is not running: a
    /// resume in another process must not look like the pause it ended.
    pub async fn running(
        &self,
        db: &Db,
        keys: &Keyring,
        campaign_id: &CampaignId,
    ) -> Result<Option<Arc<Spec>>, WorkError> {
        match self.get(db, keys, campaign_id).await? {
            Some(spec) if spec.status != CampaignStatus::Running => {
                self.forget(campaign_id);
                self.get(db, keys, campaign_id).await
            }
            other => Ok(other),
        }
    }

    /// Drops a cached spec, after the campaign's status changed under it.
    pub fn forget(&self, campaign_id: &CampaignId) {
        self.0.lock().expect("spec cache").remove(campaign_id);
    }
}

/// The spec of one test message: its campaign's, with the message's own body
/// variables (`messages.body_data`, a JSON object) instead of the campaign's. Not
/// cached: a test message is sent once.
pub async fn for_test(
    db: &Db,
    keys: &Keyring,
    campaign_id: &CampaignId,
    body_data: &str,
) -> Result<Option<Spec>, WorkError> {
    load(db, keys, campaign_id, Some(body_data)).await
}

async fn load(
    db: &Db,
    keys: &Keyring,
    campaign_id: &CampaignId,
    body_data: Option<&str>,
) -> Result<Option<Spec>, WorkError> {
    let Some(c) = campaign::Entity::find_by_id(campaign_id.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let t = template::Entity::find_by_id(c.template_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("template {}", c.template_id)))?;
    let n = whatsapp_number::Entity::find_by_id(c.number_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("number {}", c.number_id)))?;
    let vars = |json: &str, count: i32| -> Vec<String> {
        let map: HashMap<String, String> = serde_json::from_str(json).unwrap_or_default();
        (1..=count)
            .map(|i| map.get(&i.to_string()).cloned().unwrap_or_default())
            .collect()
    };
    let template = Template::new(
        &t.name,
        &t.language,
        t.header_format,
        &vars(&c.header_data, t.header_vars),
        &vars(body_data.unwrap_or(&c.body_data), t.body_vars),
        c.media_url.as_deref(),
        c.filename.as_deref(),
    );
    // Decrypted here, once per cache entry; only the provider call reads it.
    let access_token = keys.open(Field::NumberAccessToken, n.id.as_str(), &n.access_token)?;
    Ok(Some(Spec {
        status: c.status,
        recipients: c.total_contacts,
        campaign_id: c.id,
        number_id: n.id,
        number_active: n.status == NumberStatus::Active,
        mps: n.mps.max(1) as u64,
        sender: Sender {
            phone_number_id: n.phone_number_id,
            access_token,
        },
        template,
    }))
}
