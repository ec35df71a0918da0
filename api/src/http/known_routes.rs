//! Path templates and their methods, read from the spec: the `Allow` header of a 405
//! and bounded metric labels.

use super::metrics::UNMATCHED;

/// Path templates and their methods, read from the spec, for `Allow` headers and
/// metric labels.
pub struct KnownRoutes(Vec<Known>);

struct Known {
    template: String,
    segments: Vec<String>,
    methods: Vec<String>,
}

impl Known {
    fn new(template: &str, methods: Vec<String>) -> Known {
        Known {
            template: template.to_owned(),
            segments: template
                .trim_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            methods,
        }
    }

    fn matches(&self, parts: &[&str]) -> bool {
        self.segments.len() == parts.len()
            && self
                .segments
                .iter()
                .zip(parts)
                .all(|(t, p)| is_param(t) || t == p)
    }

    fn params(&self) -> usize {
        self.segments.iter().filter(|t| is_param(t)).count()
    }
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

impl KnownRoutes {
    pub fn from_spec(spec: &str) -> KnownRoutes {
        let value: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut out = Vec::new();
        if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
            for (template, ops) in paths {
                let methods = ops
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                    .unwrap_or_default();
                out.push(Known::new(template, methods));
            }
        }
        for extra in ["/openapi.json", "/docs", "/metrics"] {
            out.push(Known::new(extra, vec!["GET".into()]));
        }
        KnownRoutes(out)
    }

    /// The template `path` matches, the most literal one if several do, else
    /// `unmatched`: a bounded set of metric labels.
    pub fn template(&self, path: &str) -> &str {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0
            .iter()
            .filter(|k| k.matches(&parts))
            .min_by_key(|k| k.params())
            .map_or(UNMATCHED, |k| k.template.as_str())
    }

    /// The name of the `index`-th parameter (from 0) of the template `path` matches:
    /// poem-openapi reports a path parameter that did not parse as `param0`, `param1`, …
    pub fn path_param(&self, path: &str, index: usize) -> Option<&str> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0
            .iter()
            .filter(|k| k.matches(&parts))
            .min_by_key(|k| k.params())
            .and_then(|k| {
                k.segments
                    .iter()
                    .filter(|s| is_param(s))
                    .nth(index)
                    .map(|s| s.trim_start_matches('{').trim_end_matches('}'))
            })
    }

    pub fn allowed(&self, path: &str) -> Vec<String> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut methods: Vec<String> = self
            .0
            .iter()
            .filter(|k| k.matches(&parts))
            .flat_map(|k| k.methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}
