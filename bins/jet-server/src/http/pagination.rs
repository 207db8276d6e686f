//! List routes' paging: `page` (from 1), `pageSize` (default 50, at most 200), `search`, and the
//! answer `{"data": [...], "page", "pageSize", "total"}`.
//!
//! Tenant collections other than the audit trail (members, roles, keys, folders) are small
//! enough to filter and slice in memory after one indexed query; the audit trail pages in SQL.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::http::envelope::{self, Page};
use crate::http::error::{ApiError, ErrorCode};

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page.
pub const MAX_PAGE_SIZE: u64 = 200;
/// Highest page number: far beyond any real list, and small enough that no offset overflows.
pub const MAX_PAGE: u64 = 1_000_000;

/// The query of a plain list route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    /// Only items whose title (or name, description) contains this, ignoring case.
    search: Option<String>,
}

impl ListQuery {
    /// The validated paging and the trimmed, lower-cased search text.
    pub fn paging(&self) -> Result<(Paging, Option<String>), ApiError> {
        let search = self
            .search
            .as_deref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        Ok((Paging::new(self.page, self.page_size)?, search))
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page.
    pub page: u64,
    /// Items per page.
    pub page_size: u64,
}

impl Paging {
    /// Validates 1 ≤ `page` ≤ 1,000,000 and 1 ≤ `pageSize` ≤ 200 (defaults 1 and 50).
    pub fn new(page: Option<u64>, page_size: Option<u64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("page: must be 1 to {MAX_PAGE}"),
            )
            .with_detail("field", "page"));
        }
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("pageSize: must be 1 to {MAX_PAGE_SIZE}"),
            )
            .with_detail("field", "pageSize"));
        }
        Ok(Paging { page, page_size })
    }

    /// The rows to skip and to read for this page (a query that pages in the database).
    pub fn offset_and_limit(self) -> (u64, u64) {
        (
            (self.page - 1).saturating_mul(self.page_size),
            self.page_size,
        )
    }

    /// The answer for one page of `data` out of `total`.
    pub fn respond<T: Serialize>(self, data: Vec<T>, total: u64) -> HttpResponse {
        envelope::page(Page {
            data,
            page: self.page,
            page_size: self.page_size,
            total,
        })
    }

    /// The requested page's items out of all of them.
    fn window<T>(self, items: Vec<T>) -> impl Iterator<Item = T> {
        let skip =
            usize::try_from((self.page - 1).saturating_mul(self.page_size)).unwrap_or(usize::MAX);
        let take = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        items.into_iter().skip(skip).take(take)
    }

    /// Answers the requested page of `items` (all of them, already filtered).
    pub fn respond_all<T: Serialize>(self, items: Vec<T>) -> HttpResponse {
        let total = items.len() as u64;
        let data: Vec<T> = self.window(items).collect();
        self.respond(data, total)
    }

    /// Keeps the items whose `text` contains `search`, then answers the requested page.
    pub fn respond_filtered<T: Serialize>(
        self,
        items: Vec<T>,
        search: Option<&str>,
        text: impl Fn(&T) -> String,
    ) -> HttpResponse {
        let matching: Vec<T> = match search {
            Some(needle) => items
                .into_iter()
                .filter(|item| text(item).to_lowercase().contains(needle))
                .collect(),
            None => items,
        };
        self.respond_all(matching)
    }
}

/// A list item serialized once, when its list was cached, with the lower-cased text `search`
/// looks in: a cached list answers without serializing its items again.
#[derive(Debug, Clone)]
pub struct Rendered {
    json: String,
    search_text: String,
}

impl Rendered {
    /// Serializes `item`; `search_text` is what `search` matches (any case).
    pub fn of<T: Serialize>(item: &T, search_text: &str) -> Result<Self, ApiError> {
        let json = serde_json::to_string(item).map_err(|error| {
            tracing::error!(%error, "a list item did not serialize");
            ApiError::server_error()
        })?;
        Ok(Rendered {
            json,
            search_text: search_text.to_lowercase(),
        })
    }
}

impl Paging {
    /// [`Paging::respond_filtered`] for items already serialized: the same answer, built by
    /// joining their JSON.
    pub fn respond_rendered(self, items: &[Rendered], search: Option<&str>) -> HttpResponse {
        let matching: Vec<&Rendered> = items
            .iter()
            .filter(|item| search.is_none_or(|needle| item.search_text.contains(needle)))
            .collect();
        let total = matching.len();
        let page: Vec<&str> = self
            .window(matching)
            .map(|item| item.json.as_str())
            .collect();
        let mut body = String::with_capacity(page.iter().map(|j| j.len() + 1).sum::<usize>() + 64);
        body.push_str("{\"data\":[");
        body.push_str(&page.join(","));
        body.push_str(&format!(
            "],\"page\":{},\"pageSize\":{},\"total\":{total}}}",
            self.page, self.page_size
        ));
        HttpResponse::Ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn rendered_lists_answer_exactly_as_serialized_ones() {
        #[derive(Serialize)]
        struct Item {
            title: String,
            n: u32,
        }
        let items: Vec<Item> = (0..7)
            .map(|n| Item {
                title: format!("Item \"{n}\" é"),
                n,
            })
            .collect();
        let rendered: Vec<Rendered> = items
            .iter()
            .map(|item| Rendered::of(item, &item.title).unwrap())
            .collect();
        for (page, page_size, search) in [
            (1, 50, None),
            (2, 3, None),
            (9, 3, None),
            (1, 50, Some("ITEM \"3")),
        ] {
            let paging = Paging::new(Some(page), Some(page_size)).unwrap();
            let needle = search.map(str::to_lowercase);
            let items: Vec<&Item> = items.iter().collect();
            let expected = paging.respond_filtered(items, needle.as_deref(), |i| i.title.clone());
            let actual = paging.respond_rendered(&rendered, needle.as_deref());
            let body = |response: HttpResponse| async move {
                let bytes = actix_web::body::to_bytes(response.into_body())
                    .await
                    .unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
            };
            assert_eq!(
                body(actual).await,
                body(expected).await,
                "{page} {page_size} {search:?}"
            );
        }
    }

    #[test]
    fn paging_validates_and_defaults() {
        assert_eq!(
            Paging::new(None, None).unwrap(),
            Paging {
                page: 1,
                page_size: 50
            }
        );
        assert!(Paging::new(Some(0), None).is_err());
        assert!(Paging::new(None, Some(0)).is_err());
        assert!(Paging::new(None, Some(201)).is_err());
        assert!(Paging::new(Some(MAX_PAGE), Some(MAX_PAGE_SIZE)).is_ok());
        // Beyond the bound (where offsets would overflow): refused, naming the field.
        let error = Paging::new(Some(MAX_PAGE + 1), None).unwrap_err();
        assert!(
            error.to_string().contains("page: must be 1 to 1000000"),
            "{error}"
        );
        assert!(Paging::new(Some(u64::MAX), Some(200)).is_err());
    }
}
