//! `fake-whatsapp`: the fake WhatsApp Cloud API as a process, for `scripts/dev`,
//! `scripts/bench` and fault tests. `GET /_fake/counters` shows what it accepted.

use clap::Parser;
use waplify_tests::fake::{Fake, FakeConfig};

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
