//! The generated Rust client against a live API (run by scripts/sdk-check): create a
//! campaign, send it, read its stats, and the typed error body of a 404 and a 400. Needs
//! WAPLIFY_BASE_URL and WAPLIFY_API_KEY (the demo account: template `welcome` with one
//! body variable). Prints a line per check and exits non-zero on the first failure.

use std::{collections::HashMap, fmt::Debug, process::ExitCode};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use waplify_send_client::{Client, Error, ResponseValue, types};

type Checked<T> = Result<T, String>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(checks) => {
            println!("rust client: all {checks} checks passed");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("rust client: check failed: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// Counts the checks that passed, so the summary says how much was covered.
struct Checks(usize);

impl Checks {
    fn check(&mut self, ok: bool, what: &str, seen: impl Debug) -> Checked<()> {
        if !ok {
            return Err(format!("{what}: {seen:?}"));
        }
        self.0 += 1;
        println!("ok {what}");
        Ok(())
    }
}

async fn run() -> Checked<usize> {
    let client = client()?;
    let mut checks = Checks(0);
    let campaign_id = create(&client, &mut checks).await?;
    send(&client, &mut checks, &campaign_id).await?;
    stats(&client, &mut checks, &campaign_id).await?;
    not_found(&client, &mut checks).await?;
    bad_request(&client, &mut checks).await?;
    Ok(checks.0)
}

/// The generated client with the API key on every request, as any caller would build it.
fn client() -> Checked<Client> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (base_url, key) = (var("WAPLIFY_BASE_URL")?, var("WAPLIFY_API_KEY")?);
    let mut auth = HeaderValue::try_from(format!("Bearer {key}")).map_err(|e| e.to_string())?;
    auth.set_sensitive(true);
    let headers = HeaderMap::from_iter([(AUTHORIZATION, auth)]);
    let http = reqwest::Client::builder().default_headers(headers).build();
    Ok(Client::new_with_client(
        &base_url,
        http.map_err(|e| e.to_string())?,
    ))
}

/// A value of one of the spec's constrained string types, checked as the client checks it.
fn typed<T>(value: &str) -> Checked<T>
where
    T: for<'a> TryFrom<&'a str, Error = types::error::ConversionError>,
{
    T::try_from(value).map_err(|e| e.to_string())
}

/// A campaign request for the demo template; `name` is the body variable, if any.
fn campaign(
    title: &str,
    name: Option<&str>,
    phones: &[&str],
) -> Checked<types::CreateCampaignRequest> {
    let contacts = phones.iter().map(|phone| {
        let phone = typed(phone)?;
        Ok(types::ContactInput { name: None, phone })
    });
    let mut body_data = HashMap::new();
    if let Some(name) = name {
        body_data.insert("1".to_owned(), typed(name)?);
    }
    Ok(types::CreateCampaignRequest {
        body_data,
        contacts: contacts.collect::<Checked<_>>()?,
        description: None,
        filename: None,
        header_data: HashMap::new(),
        media_url: None,
        name: typed(title)?,
        scheduled_at: None,
        scheduled_timezone: None,
        send_window: None,
        template_name: typed("welcome")?,
        waba_phone_id: None,
    })
}

/// Phones are normalised and invalid ones listed; answers the new campaign's id.
async fn create(client: &Client, checks: &mut Checks) -> Checked<String> {
    let body = campaign(
        "Rust SDK check",
        Some("Ada"),
        &["+1 555 010 0001", "+1 555-010-0002", "oops"],
    )?;
    let created = client
        .create_campaign(None, None, &body)
        .await
        .map_err(|e| e.to_string())?;
    let created = created.into_inner();
    checks.check(
        created.status_value == types::CampaignState::Draft,
        "create: a draft",
        &created,
    )?;
    let counted = created.total_contacts == 2 && created.invalid_phones == ["oops"];
    checks.check(
        counted,
        "create: two contacts, `oops` listed as invalid",
        &created,
    )?;
    Ok(created.campaign_id)
}

/// 202 with the dispatch job's id; a retry with the same idempotency key gets that answer again.
async fn send(client: &Client, checks: &mut Checks, campaign_id: &str) -> Checked<()> {
    let id = typed(campaign_id)?;
    let key = typed(&format!("sdk-rust-send-{campaign_id}"))?;
    let sent = client
        .send_campaign(&id, Some(&key), None)
        .await
        .map_err(|e| e.to_string())?;
    checks.check(
        sent.status() == 202 && !sent.task_id.is_empty(),
        "send: 202 with a task id",
        &sent,
    )?;
    let remaining = header(&sent, "X-RateLimit-Remaining").and_then(|v| v.parse::<u64>().ok());
    checks.check(
        remaining.is_some(),
        "send: rate-limit headers",
        sent.headers(),
    )?;
    let again = client
        .send_campaign(&id, Some(&key), None)
        .await
        .map_err(|e| e.to_string())?;
    let replayed = header(&again, "Idempotent-Replayed") == Some("true");
    checks.check(
        replayed && again.task_id == sent.task_id,
        "send: a retry is replayed",
        &again,
    )
}

fn header<'a, T>(response: &'a ResponseValue<T>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The stats of the campaign just sent: no longer a draft, both recipients counted.
async fn stats(client: &Client, checks: &mut Checks, campaign_id: &str) -> Checked<()> {
    let id = typed(campaign_id)?;
    let stats = client
        .get_campaign_stats(&id, None)
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let same = stats.campaign_id == campaign_id && stats.total_contacts == 2;
    checks.check(same, "stats: the campaign's two contacts", &stats)?;
    checks.check(
        stats.campaign_status != types::CampaignState::Draft,
        "stats: sent, not a draft",
        &stats,
    )
}

/// An unknown campaign: 404 with the error body the spec describes.
async fn not_found(client: &Client, checks: &mut Checks) -> Checked<()> {
    let id = typed("0123456789abcdef01234567")?;
    let (status, body) = refusal(client.get_campaign_stats(&id, None).await)?;
    checks.check(status == 404, "404: status", status)?;
    let typed = body.error == "not_found" && body.message == "Campaign not found";
    checks.check(
        typed && !body.request_id.is_empty(),
        "404: typed error body",
        &body,
    )
}

/// A campaign without the template's body variable: refused with a 400 and its error body.
async fn bad_request(client: &Client, checks: &mut Checks) -> Checked<()> {
    let body = campaign("Missing variables", None, &["+15550100003"])?;
    let (status, body) = refusal(client.create_campaign(None, None, &body).await)?;
    checks.check(status == 400, "400: status", status)?;
    let typed =
        body.error == "bad_request" && !body.message.is_empty() && !body.request_id.is_empty();
    checks.check(typed, "400: typed error body", &body)
}

/// The status and typed body of a documented error answer; success or any other error fails.
fn refusal<T: Debug>(
    result: Result<ResponseValue<T>, Error<types::ErrorBody>>,
) -> Checked<(u16, types::ErrorBody)> {
    match result {
        Err(Error::ErrorResponse(answer)) => Ok((answer.status().as_u16(), answer.into_inner())),
        Err(other) => Err(format!("expected a typed error body, got: {other}")),
        Ok(answer) => Err(format!("expected an error, got: {answer:?}")),
    }
}
