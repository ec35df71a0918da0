//! What every job handler shares: connections, the provider client, settings, and a
//! short-lived cache of campaign send specs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{DbErr, EntityTrait};

use waplify_shared::db::Db;
use waplify_shared::db::entities::{campaign, template, whatsapp_number};
use waplify_shared::queue::Queues;
use waplify_shared::status::{CampaignStatus, HeaderFormat};

use crate::config::WorkerConfig;
use crate::metrics::WorkerMetrics;
use crate::poll::Wake;
use crate::provider::{Provider, Sender, Template};
use crate::retry::RetryPolicy;

pub struct Ctx {
    pub db: Db,
    pub queues: Queues,
    pub provider: Provider,
    pub cfg: WorkerConfig,
    pub policy: RetryPolicy,
    /// Wakes this process's send and retry workers when it pushes them a job.
    pub wake_send: Wake,
    pub wake_retry: Wake,
    /// Wakes the webhook workers after the relay queued jobs.
    pub wake_webhooks: Wake,
    /// Wakes the relay when a delivery needs a new job (a retry was scheduled).
    pub wake_relay: tokio::sync::Notify,
    /// The webhook client: guarded name resolution, no redirects.
    pub webhooks: reqwest::Client,
    /// apalis workers restarted after ending on an error (see `supervise`).
    pub restarts: std::sync::atomic::AtomicU64,
    pub metrics: Arc<WorkerMetrics>,
    specs: Mutex<HashMap<String, (Instant, Arc<Spec>)>>,
}

/// How to send a campaign's messages.
#[derive(Debug)]
pub struct Spec {
    pub campaign_id: String,
    pub status: CampaignStatus,
    pub recipients: i64,
    pub number_id: String,
    pub number_active: bool,
    pub mps: u64,
    pub sender: Sender,
    pub template: Template,
}

/// Campaign, template and number rarely change once a campaign runs; a few seconds of
/// staleness spares three reads per batch.
const SPEC_TTL: Duration = Duration::from_secs(5);

impl Ctx {
    pub fn new(db: Db, queues: Queues, cfg: WorkerConfig) -> Ctx {
        let metrics = Arc::new(WorkerMetrics::new());
        Ctx {
            webhooks: crate::guarded_dns::webhook_client(cfg.common.webhook_networks),
            provider: Provider::new(
                &cfg.whatsapp_base_url,
                cfg.provider_timeout,
                metrics.clone(),
            ),
            metrics,
            policy: RetryPolicy {
                max_attempts: cfg.max_attempts,
                base: cfg.retry_base,
                max: cfg.retry_max,
            },
            db,
            queues,
            cfg,
            wake_send: Wake::default(),
            wake_retry: Wake::default(),
            wake_webhooks: Wake::default(),
            wake_relay: tokio::sync::Notify::new(),
            restarts: Default::default(),
            specs: Mutex::new(HashMap::new()),
        }
    }

    /// The send spec of a campaign, `None` if it does not exist.
    pub async fn spec(&self, campaign_id: &str) -> Result<Option<Arc<Spec>>, DbErr> {
        if let Some((at, spec)) = self.specs.lock().expect("spec cache").get(campaign_id)
            && at.elapsed() < SPEC_TTL
        {
            return Ok(Some(spec.clone()));
        }
        let Some(spec) = load_spec(&self.db, campaign_id).await? else {
            return Ok(None);
        };
        let spec = Arc::new(spec);
        let mut cache = self.specs.lock().expect("spec cache");
        if cache.len() > 1000 {
            cache.retain(|_, (at, _)| at.elapsed() < SPEC_TTL);
        }
        cache.insert(campaign_id.to_owned(), (Instant::now(), spec.clone()));
        Ok(Some(spec))
    }

    /// Drops a cached spec, after the campaign's status changed under it.
    pub fn forget(&self, campaign_id: &str) {
        self.specs.lock().expect("spec cache").remove(campaign_id);
    }
}

async fn load_spec(db: &Db, campaign_id: &str) -> Result<Option<Spec>, DbErr> {
    let Some(c) = campaign::Entity::find_by_id(campaign_id).one(db).await? else {
        return Ok(None);
    };
    let t = template::Entity::find_by_id(&c.template_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("template {}", c.template_id)))?;
    let n = whatsapp_number::Entity::find_by_id(&c.number_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("number {}", c.number_id)))?;
    let vars = |json: &str, count: i32| -> Vec<String> {
        let map: HashMap<String, String> = serde_json::from_str(json).unwrap_or_default();
        (1..=count)
            .map(|i| map.get(&i.to_string()).cloned().unwrap_or_default())
            .collect()
    };
    let header: HeaderFormat = t.header_format.parse().unwrap_or(HeaderFormat::None);
    let template = Template::new(
        &t.name,
        &t.language,
        header,
        &vars(&c.header_data, t.header_vars),
        &vars(&c.body_data, t.body_vars),
        c.media_url.as_deref(),
        c.filename.as_deref(),
    );
    Ok(Some(Spec {
        status: c.status.parse().map_err(DbErr::Custom)?,
        recipients: c.total_contacts,
        campaign_id: c.id,
        number_id: n.id,
        number_active: n.status == "active",
        mps: n.mps.max(1) as u64,
        sender: Sender {
            phone_number_id: n.phone_number_id,
            access_token: n.access_token,
        },
        template,
    }))
}
