//! Pages of a listing that an agent cannot talk its way around: opaque cursors bound to the
//! image and the query (a keyed BLAKE3 MAC with a key this process draws), and replies cut to
//! the byte cap, the structured content and its text copy both counted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::ErrorData as McpError;
use serde_json::Value;

/// Items a page holds at most, whatever the caller asks.
pub(super) const LIMIT_MAX: usize = 500;

/// Makes and checks cursors with one key per server.
pub(super) struct Cursors {
    key: [u8; 32],
}

impl Cursors {
    /// A key drawn from the OS's randomness (its hasher's seed twice over, so no new crate).
    pub(super) fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let word = RandomState::new().hash_one(i);
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Self { key }
    }

    /// The cursor that resumes `query` of `image` at item `offset`.
    pub(super) fn make(&self, image: &str, query: &str, offset: usize) -> String {
        let body = format!("{offset}");
        let mac = self.mac(image, query, &body);
        URL_SAFE_NO_PAD.encode(format!("{body}.{mac}"))
    }

    /// The offset a cursor resumes at; error -32602 when it was not made here for this image
    /// and query.
    pub(super) fn offset(&self, cursor: &str, image: &str, query: &str) -> Result<usize, McpError> {
        let bad = || {
            McpError::invalid_params(
                "the cursor is not one this server gave for this image and query",
                None,
            )
        };
        let text = URL_SAFE_NO_PAD
            .decode(cursor.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let (body, mac) = text.split_once('.').ok_or_else(bad)?;
        if mac != self.mac(image, query, body) {
            return Err(bad());
        }
        body.parse().map_err(|_| bad())
    }

    fn mac(&self, image: &str, query: &str, body: &str) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        for part in [image, query, body] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().to_hex()[..32].to_owned()
    }
}

/// Bytes `text` takes as a JSON string.
pub(super) fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len(), |t| t.len())
}

/// Makes a page's reply (structured value and text) of its items and the next offset.
pub(super) type Reply<'a, T> = dyn Fn(&[T], Option<usize>) -> (Value, String) + 'a;

/// A page of `items` from `offset`, cut so that `reply(items, next)` (the structured value
/// and its text, in bytes) stays within `cap`; with the cursor to go on. An empty page is
/// an error only when one item alone passes the cap.
pub(super) fn page<T: Clone>(
    items: &[T],
    offset: usize,
    limit: usize,
    cap: usize,
    reply: &Reply<'_, T>,
) -> Result<(Value, String), McpError> {
    let start = offset.min(items.len());
    let end = start
        .saturating_add(limit.clamp(1, LIMIT_MAX))
        .min(items.len());
    let size = |n: usize| {
        let next = (start + n < items.len()).then_some(start + n);
        let (value, text) = reply(&items[start..start + n], next);
        (value.to_string().len() + json_len(&text), value, text)
    };
    let (bytes, value, text) = size(end - start);
    if bytes <= cap {
        return Ok((value, text));
    }
    // The largest count that fits: sizes grow with the count.
    let (mut fits, mut over) = (0, end - start);
    while over - fits > 1 {
        let mid = fits + (over - fits) / 2;
        if size(mid).0 <= cap {
            fits = mid;
        } else {
            over = mid;
        }
    }
    if fits == 0 {
        return Err(McpError::invalid_params(
            "one item alone passes the reply cap (--max-reply)",
            None,
        ));
    }
    let (_, value, text) = size(fits);
    Ok((value, text))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cursors_are_bound_to_their_image_and_query() {
        let cursors = Cursors::new();
        let cursor = cursors.make("sha256:a", "q", 500);
        assert_eq!(cursors.offset(&cursor, "sha256:a", "q").unwrap(), 500);
        assert!(cursors.offset(&cursor, "sha256:b", "q").is_err());
        assert!(cursors.offset(&cursor, "sha256:a", "r").is_err());
        let forged = URL_SAFE_NO_PAD.encode("9999.00000000000000000000000000000000");
        assert!(cursors.offset(&forged, "sha256:a", "q").is_err());
        assert!(cursors.offset("!!", "sha256:a", "q").is_err());
        assert!(Cursors::new().offset(&cursor, "sha256:a", "q").is_err());
    }

    #[test]
    fn a_page_stays_within_the_cap_and_says_where_to_go_on() {
        let items: Vec<String> = (0..1000)
            .map(|i| format!("item-{i:04}-{}", "x".repeat(90)))
            .collect();
        let reply = |page: &[String], next: Option<usize>| {
            (
                json!({ "items": page, "next": next }),
                format!("{} items", page.len()),
            )
        };
        let (value, _) = page(&items, 0, 500, 10_000, &reply).unwrap();
        let len = value["items"].as_array().unwrap().len();
        assert!(len > 50 && len < 100, "{len}");
        assert!(value.to_string().len() <= 10_000);
        assert_eq!(value["next"], len);
        assert!(page(&items, 0, 10, 50, &reply).is_err());
    }
}
