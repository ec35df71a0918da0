//! Pushing jobs. Every push names its task id; pushing an id that is already stored
//! is a no-op (apalis-redis `HSETNX`), which is what lets the reconciler re-push a
//! lost job without doubling it.

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use redis::AsyncCommands;

use super::{Liveness, QueueError, Queues, new_task_id};
use crate::jobs::{Job, QueueKind};

impl Queues {
    /// Pushes one job under `task_id`. `run_at` is in Unix seconds; the job becomes
    /// due at the start of that second.
    pub async fn push<J: Job>(
        &self,
        job: J,
        task_id: TaskId,
        run_at: Option<u64>,
    ) -> Result<(), QueueError> {
        let mut builder = TaskBuilder::new(job).task_id(task_id);
        if let Some(at) = run_at {
            builder = builder.run_at_timestamp(at);
        }
        self.storage::<J>(Liveness::default())
            .push_task(builder.build())
            .await
            .map_err(sink_error)
    }

    /// Pushes several jobs in one round trip, each under a fresh task id.
    pub async fn push_many<J: Job>(&self, jobs: Vec<J>) -> Result<Vec<TaskId>, QueueError> {
        let ids: Vec<TaskId> = jobs.iter().map(|_| new_task_id()).collect();
        let batch = jobs
            .into_iter()
            .zip(ids.iter().cloned())
            .map(|(job, id)| (job, id, None))
            .collect();
        self.push_batch(batch).await?;
        Ok(ids)
    }

    /// Pushes several jobs in one round trip, each under its own task id and due time
    /// (Unix seconds, as in [`Queues::push`]).
    pub async fn push_batch<J: Job>(
        &self,
        jobs: Vec<(J, TaskId, Option<u64>)>,
    ) -> Result<(), QueueError> {
        let tasks = jobs.into_iter().map(|(job, id, run_at)| {
            let builder = TaskBuilder::new(job).task_id(id);
            match run_at {
                Some(at) => builder.run_at_timestamp(at).build(),
                None => builder.build(),
            }
        });
        self.storage::<J>(Liveness::default())
            .push_all(&mut futures::stream::iter(tasks))
            .await
            .map_err(sink_error)
    }

    /// Jobs of a queue not yet taken by a worker: scheduled (due or not) and active.
    pub async fn waiting(&self, kind: QueueKind) -> Result<u64, QueueError> {
        let c = self.apalis_config(kind, Liveness::default());
        let mut conn = self.conn();
        let scheduled: u64 = conn.zcard(c.scheduled_jobs_set()).await?;
        let active: u64 = conn.llen(c.active_jobs_list()).await?;
        Ok(scheduled + active)
    }
}

fn sink_error<E: std::fmt::Display>(e: E) -> QueueError {
    redis::RedisError::from(std::io::Error::other(e.to_string()))
}
