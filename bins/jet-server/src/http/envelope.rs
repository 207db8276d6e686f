//! The success envelope: `{"data": …}`, and the list envelope `{"data": [...], "page",
//! "pageSize", "total"}`.
//!
//! Typed structs, not `json!`: `json!` first copies the answer into a `serde_json::Value` tree
//! (an allocation per string and per object) and then serializes that, which profiling showed
//! as a large share of an authorized read.

use actix_web::HttpResponse;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Data<T> {
    data: T,
}

/// One page of a list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items of this page.
    pub data: T,
    /// The page, from 1.
    pub page: u64,
    /// Items per page.
    pub page_size: u64,
    /// Items on every page together.
    pub total: u64,
}

/// Answers 200 with `{"data": value}`.
pub fn ok<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Ok().json(Data { data: value })
}

/// Answers 201 with `{"data": value}`.
pub fn created<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Created().json(Data { data: value })
}

/// Answers 202 with `{"data": value}`: work started, not finished.
pub fn accepted<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Accepted().json(Data { data: value })
}

/// Answers 200 with a page of a list.
pub fn page<T: Serialize>(page: Page<T>) -> HttpResponse {
    HttpResponse::Ok().json(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_have_the_documented_shape() {
        let one = serde_json::to_value(Data { data: [1, 2] }).unwrap();
        assert_eq!(one, serde_json::json!({"data": [1, 2]}));
        let listed = serde_json::to_value(Page {
            data: vec!["a"],
            page: 2,
            page_size: 1,
            total: 3,
        })
        .unwrap();
        assert_eq!(
            listed,
            serde_json::json!({"data": ["a"], "page": 2, "pageSize": 1, "total": 3})
        );
    }
}
