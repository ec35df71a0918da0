//! `fake-whatsapp`: the fake WhatsApp Cloud API as a process, for `scripts/dev`,
//! `scripts/bench` and fault tests. `GET /_fake/counters` shows what it accepted.

use clap::Parser;
use waplify_tests::fake::{Fake, FakeConfig};
use waplify_tests::fake_callbacks::CallbackConfig;

#[derive(Parser)]
#[command(name = "fake-whatsapp", about = "Fake WhatsApp Cloud API")]
struct Args {
    #[arg(long, env = "FAKE_WHATSAPP_BIND", default_value = "127.0.0.1:9090")]
    bind: String,
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0.0)]
    transient_rate: f64,
    #[arg(long, default_value_t = 0.0)]
    transient_first_rate: f64,
    /// Comma-separated recipients answered 131026.
    #[arg(long, value_delimiter = ',')]
    fail_numbers: Vec<String>,
    /// Comma-separated recipients answered 132001 (campaign-fatal).
    #[arg(long, value_delimiter = ',')]
    fatal_numbers: Vec<String>,
    #[arg(long)]
    rps_cap: Option<u64>,
    /// Comma-separated access tokens answered 190 (campaign-fatal).
    #[arg(long, value_delimiter = ',')]
    revoked_tokens: Vec<String>,
    /// Send signed status callbacks here (our `/api/v1/whatsapp/webhook`).
    #[arg(long, env = "FAKE_CALLBACK_URL")]
    callback_url: Option<String>,
    /// App secret the callbacks are signed with.
    #[arg(long, env = "WHATSAPP_APP_SECRET", default_value = "")]
    app_secret: String,
    /// Milliseconds between a message's statuses (±50%).
    #[arg(long, default_value_t = 1500)]
    callback_delay_ms: u64,
    #[arg(long, default_value_t = 0.9)]
    delivered_rate: f64,
    #[arg(long, default_value_t = 0.6)]
    read_rate: f64,
    #[arg(long, default_value_t = 0.02)]
    late_fail_rate: f64,
    #[arg(long, default_value_t = 0.1)]
    reorder_rate: f64,
    #[arg(long, default_value_t = 0.1)]
    duplicate_rate: f64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let fake = Fake::new(FakeConfig {
        latency_ms: args.latency_ms,
        transient_rate: args.transient_rate,
        transient_first_rate: args.transient_first_rate,
        fail_numbers: args.fail_numbers,
        fatal_numbers: args.fatal_numbers,
        rps_cap: args.rps_cap,
        revoked_tokens: args.revoked_tokens,
        // Set at runtime through `POST /_fake/config`.
        transient_numbers: Vec::new(),
        unreadable_first_numbers: Vec::new(),
        stall_first_numbers: Vec::new(),
        stall_ms: 0,
        callbacks: CallbackConfig {
            url: args.callback_url,
            app_secret: args.app_secret,
            delay_ms: args.callback_delay_ms,
            delivered_rate: args.delivered_rate,
            read_rate: args.read_rate,
            late_fail_rate: args.late_fail_rate,
            reorder_rate: args.reorder_rate,
            duplicate_rate: args.duplicate_rate,
        },
    });
    match fake.serve(&args.bind).await {
        Ok((url, task)) => {
            eprintln!("fake WhatsApp Cloud API on {url} (counters: {url}/_fake/counters)");
            let _ = task.await;
        }
        Err(e) => {
            eprintln!("fake-whatsapp: cannot listen on {}: {e}", args.bind);
            std::process::exit(1);
        }
    }
}
