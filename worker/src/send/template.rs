//! The request body of a template message: built once per campaign, with our message
//! id (and send round) in `biz_opaque_callback_data` so status callbacks lead back to
//! the row and the send.

use serde_json::{Value, json};

use waplify_shared::ids::send_ref::SendRef;
use waplify_shared::status::HeaderFormat;

/// Everything about a campaign's message except the recipient: built once per campaign.
#[derive(Debug, Clone)]
pub struct Template {
    /// `template` object of the request body, serialised.
    json: String,
}

impl Template {
    pub fn new(
        name: &str,
        language: &str,
        header: HeaderFormat,
        header_vars: &[String],
        body_vars: &[String],
        media_url: Option<&str>,
        filename: Option<&str>,
    ) -> Template {
        let text = |v: &String| json!({"type": "text", "text": v});
        let mut components = Vec::new();
        let header_params: Vec<Value> = match (header, media_url) {
            (HeaderFormat::Text, _) => header_vars.iter().map(text).collect(),
            (HeaderFormat::Image, Some(url)) => {
                vec![json!({"type": "image", "image": {"link": url}})]
            }
            (HeaderFormat::Video, Some(url)) => {
                vec![json!({"type": "video", "video": {"link": url}})]
            }
            (HeaderFormat::Document, Some(url)) => {
                let mut doc = json!({"link": url});
                if let Some(f) = filename {
                    doc["filename"] = json!(f);
                }
                vec![json!({"type": "document", "document": doc})]
            }
            _ => Vec::new(),
        };
        if !header_params.is_empty() {
            components.push(json!({"type": "header", "parameters": header_params}));
        }
        if !body_vars.is_empty() {
            let params: Vec<Value> = body_vars.iter().map(text).collect();
            components.push(json!({"type": "body", "parameters": params}));
        }
        let mut template = json!({"name": name, "language": {"code": language}});
        if !components.is_empty() {
            template["components"] = Value::Array(components);
        }
        Template {
            json: template.to_string(),
        }
    }

    /// The request body for one recipient. `to` is E.164 digits and `send` hex, a colon
    /// and digits, so neither needs escaping.
    pub fn body(&self, to: &str, send: &SendRef) -> String {
        format!(
            r#"{{"messaging_product":"whatsapp","recipient_type":"individual","to":"{to}","type":"template","biz_opaque_callback_data":"{send}","template":{}}}"#,
            self.json
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waplify_shared::ids::MessageId;

    #[test]
    fn builds_template_bodies() {
        let t = Template::new(
            "welcome",
            "en_US",
            HeaderFormat::Document,
            &[],
            &["Ada".into(), "4 \"quoted\"".into()],
            Some("https://example.com/a.pdf"),
            Some("a.pdf"),
        );
        let mut send = SendRef {
            id: MessageId::parse("0123456789abcdef01234567").unwrap(),
            round: 0,
        };
        let body: Value = serde_json::from_str(&t.body("15551234567", &send)).unwrap();
        assert_eq!(body["to"], "15551234567");
        assert_eq!(body["biz_opaque_callback_data"], "0123456789abcdef01234567");
        send.round = 2;
        let body: Value = serde_json::from_str(&t.body("15551234567", &send)).unwrap();
        assert_eq!(
            body["biz_opaque_callback_data"],
            "0123456789abcdef01234567:2"
        );
        assert_eq!(body["template"]["name"], "welcome");
        assert_eq!(body["template"]["language"]["code"], "en_US");
        let comps = body["template"]["components"].as_array().unwrap();
        assert_eq!(comps[0]["parameters"][0]["document"]["filename"], "a.pdf");
        assert_eq!(comps[1]["parameters"][1]["text"], "4 \"quoted\"");
    }
}
