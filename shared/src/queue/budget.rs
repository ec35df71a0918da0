//! Counters every process shares through Redis: a number's sends per second, an API
//! key's requests per window, and the marks that say a campaign is being worked on.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{AsyncCommands, Script};

use super::{QueueError, Queues, unix_now};
use crate::ids::{CampaignId, KeyId, NumberId};

static RATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate.lua")));
static API_RATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/api_rate.lua")));

/// One API key's current rate-limit window, after counting a request in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRateWindow {
    /// Requests counted in this window, the current one included.
    pub count: u64,
    /// When the window ends and the count starts again (Unix seconds).
    pub window_end: u64,
    /// The Redis clock when the request was counted (Unix seconds).
    pub now: u64,
}

impl Queues {
    /// Takes up to `want` sends from a number's budget for the current second
    /// (fixed one-second windows shared by every worker). Returns how many were granted.
    pub async fn take_send_budget(
        &self,
        number_id: &NumberId,
        want: u64,
        per_second: u64,
    ) -> Result<u64, QueueError> {
        RATE.key(format!("{}:rate:{number_id}", self.prefix()))
            .arg(unix_now())
            .arg(want)
            .arg(per_second)
            .invoke_async(&mut self.conn())
            .await
    }

    /// Counts one request of API key `key_id` in its current fixed window of
    /// `window_secs` seconds (windows shared by every API process, timed by the Redis
    /// clock). Keys: `{prefix}:api-rate:{key_id}:{window end}`.
    pub async fn count_api_request(
        &self,
        key_id: &KeyId,
        window_secs: u64,
    ) -> Result<ApiRateWindow, QueueError> {
        let (count, window_end, now): (u64, u64, u64) = API_RATE
            .key(format!("{}:api-rate:{key_id}", self.prefix()))
            .arg(window_secs.max(1))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(ApiRateWindow {
            count,
            window_end,
            now,
        })
    }

    /// Marks a campaign as being worked on for `ttl`. The reconciler leaves campaigns
    /// with a live mark alone. A hint only: losing it costs one extra lane, never a send.
    pub async fn mark_alive(
        &self,
        campaign_id: &CampaignId,
        ttl: Duration,
    ) -> Result<(), QueueError> {
        let key = format!("{}:alive:{campaign_id}", self.prefix());
        self.conn()
            .set_ex::<_, _, ()>(key, 1, ttl.as_secs().max(1))
            .await
    }

    pub async fn is_alive(&self, campaign_id: &CampaignId) -> Result<bool, QueueError> {
        let key = format!("{}:alive:{campaign_id}", self.prefix());
        self.conn().exists(key).await
    }
}
