//! The published WhatsApp payloads with parts replaced, removed, retyped or repeated,
//! and callback bodies as bytes: JSON of any shape, cut or changed, nested too deep,
//! or not JSON at all.

use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use crate::arbitrary::{json_value, meta_shaped};
use crate::whatsapp::fixtures;

/// Every published payload (`status`, `multi`, `inbound`, `errors`), parsed.
pub fn payloads() -> Arc<Vec<Value>> {
    static ALL: LazyLock<Arc<Vec<Value>>> = LazyLock::new(|| {
        let mut all = Vec::new();
        for dir in ["status", "multi", "inbound", "errors"] {
            let mut paths: Vec<_> = std::fs::read_dir(fixtures().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            paths.sort();
            for p in paths {
                all.push(serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap());
            }
        }
        Arc::new(all)
    });
    ALL.clone()
}

/// One change to one node of a tree.
#[derive(Clone, Debug)]
pub enum Mutation {
    Replace(Index, Value),
    Remove(Index),
    Retype(Index),
    Repeat(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<Index>().prop_map(Mutation::Remove),
        any::<Index>().prop_map(Mutation::Retype),
        any::<Index>().prop_map(Mutation::Repeat),
    ]
}

/// A published payload with one to four mutations.
pub fn mutated_payload() -> impl Strategy<Value = Value> {
    let all = payloads();
    (any::<Index>(), prop::collection::vec(mutation(), 1..5)).prop_map(move |(i, muts)| {
        let mut v = all[i.index(all.len())].clone();
        for m in muts {
            mutate(&mut v, m);
        }
        v
    })
}

/// The JSON pointer of every node of `v`, the root first.
pub fn pointers(v: &Value) -> Vec<String> {
    fn walk(v: &Value, here: String, out: &mut Vec<String>) {
        out.push(here.clone());
        match v {
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{here}/{i}"), out);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    walk(x, format!("{here}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

pub fn mutate(root: &mut Value, m: Mutation) {
    let all = pointers(root);
    let at = |i: &Index| all[i.index(all.len())].clone();
    match m {
        Mutation::Replace(i, new) => *root.pointer_mut(&at(&i)).unwrap() = new,
        Mutation::Retype(i) => {
            let node = root.pointer_mut(&at(&i)).unwrap();
            *node = match node.take() {
                Value::String(s) => s
                    .parse::<i64>()
                    .map_or(Value::Array(vec![s.into()]), Value::from),
                Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
                Value::Object(o) => Value::Array(o.into_iter().map(|(_, v)| v).collect()),
                Value::Null => Value::Object(Default::default()),
                other => Value::String(other.to_string()),
            };
        }
        Mutation::Remove(i) if at(&i).is_empty() => {
            root.take();
        }
        Mutation::Remove(i) => {
            let p = at(&i);
            let (parent, last) = p.rsplit_once('/').unwrap();
            let last = last.replace("~1", "/").replace("~0", "~");
            match root.pointer_mut(parent).unwrap() {
                Value::Object(o) => drop(o.shift_remove(&last)),
                Value::Array(a) => drop(a.remove(last.parse::<usize>().unwrap())),
                _ => unreachable!("a parent is an object or an array"),
            }
        }
        Mutation::Repeat(i) => {
            let node = root.pointer_mut(&at(&i)).unwrap();
            *node = match node.take() {
                Value::Array(a) => Value::Array([a.clone(), a].concat()),
                other => Value::Array(vec![other.clone(), other]),
            };
        }
    }
}

/// JSON nested deeper than parsers allow.
fn deep() -> impl Strategy<Value = Vec<u8>> {
    (100usize..400, any::<bool>()).prop_map(|(n, obj)| {
        let (open, close) = if obj {
            (r#"{"entry":"#, "}")
        } else {
            ("[", "]")
        };
        [open.repeat(n), "1".into(), close.repeat(n)]
            .concat()
            .into_bytes()
    })
}

/// A callback body: mostly payloads of Meta's shape, also any JSON, JSON that is
/// cut or has a byte changed, deep nesting and bytes that are not JSON at all.
pub fn callback_body() -> impl Strategy<Value = Vec<u8>> {
    let cut = (mutated_payload(), any::<Index>(), any::<u8>()).prop_map(|(v, i, b)| {
        let mut bytes = serde_json::to_vec(&v).unwrap();
        let at = i.index(bytes.len());
        if b % 2 == 0 {
            bytes.truncate(at);
        } else {
            bytes[at] = b;
        }
        bytes
    });
    prop_oneof![
        3 => mutated_payload().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => meta_shaped().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => mutated_payload().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => cut,
        1 => deep(),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}
