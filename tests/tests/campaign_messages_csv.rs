//! The CSV export of a campaign's recipients, read back by a CSV reader: names with
//! commas, quotes and line breaks survive, every row is there whatever `limit` says,
//! and the filters apply.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::recipients::{messages, walk};
use waplify_tests::{seed, spawn_app};

#[tokio::test]
async fn the_csv_export_quotes_names_and_matches_the_list() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let names = [
        "Doe, Jane",
        "say \"hi\"",
        "two\nlines",
        "cr\r\nlf",
        "plain",
        "=1+1",
    ];
    let mut contacts: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "phone": waplify_tests::app::phone(i), "name": n }))
        .collect();
    contacts.push(json!({ "phone": waplify_tests::app::phone(99) }));
    let (status, body) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(json!({ "name": "Names", "template_name": "welcome", "body_data": {"1": "Ada"}, "contacts": contacts })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["campaign_id"].as_str().unwrap().to_owned();

    let resp = app
        .http
        .get(app.url(&format!("{}?limit=1", messages(&id))))
        .bearer_auth(&s.api_key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[..4], ["message_id", "phone", "name", "status"]);
    assert_eq!(header.len(), 14);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Every row, whatever `limit` says, exactly as the JSON list has them.
    let listed = walk(&app, &s.api_key, &id, "").await;
    assert_eq!(records.len(), listed.len());
    assert_eq!(records.len(), names.len() + 1);
    for (rec, row) in records.iter().zip(&listed) {
        assert_eq!(&rec[0], row["message_id"].as_str().unwrap());
        assert_eq!(&rec[1], row["phone"].as_str().unwrap());
        assert_eq!(&rec[2], row["name"].as_str().unwrap_or(""));
        assert_eq!(&rec[3], "pending");
    }
    let exported: BTreeSet<&str> = records.iter().map(|r| r.get(2).unwrap()).collect();
    for n in names {
        assert!(exported.contains(n), "{n:?} in {exported:?}");
    }
    assert!(
        text.contains("\"Doe, Jane\"") && text.contains("\"say \"\"hi\"\"\""),
        "{text}"
    );

    // Filters apply to the export too.
    let resp = app
        .http
        .get(app.url(&format!("{}?status=sent", messages(&id))))
        .bearer_auth(&s.api_key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        0,
        "{text}"
    );
    assert!(text.starts_with("message_id,phone,name,"), "{text}");
}
