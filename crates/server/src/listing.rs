//! Lists that scale: the paging, sorting and filtering every list shares, in the API and on the
//! page alike.
//!
//! A list handler reads its query string into its own parameter type (the shared fields `limit`,
//! `offset`, `sort`, `order` and `q`, plus its filters), turns it into a [`Page`] with
//! [`Page::parse`] (the limit bounded, the sort key checked against the list's whitelist), asks the
//! store for that page only, and answers a [`Paged`]: the items beside `total`, `limit`, `offset`
//! and the links to the next and previous pages. The templates import `_list.html` for the pager
//! and the sortable column headers, which use the same links.
//!
//! Lists whose rows are each decided by the policy (`Rows` access, or a row decision inside the
//! handler) page over the rows the caller may see with [`page_visible`]: the store is read in
//! batches until the page is full, so a refused row is never shown and never counted.

use serde::Serialize;

use crate::error::ApiError;

/// Rows on a page unless the request says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most rows one page may hold.
pub const MAX_LIMIT: u32 = 500;

/// The paging, sort and free-text search of one list request, checked.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
    /// One of the list's whitelisted sort keys.
    pub sort: &'static str,
    pub descending: bool,
    /// The free-text filter, trimmed; `None` when empty.
    pub q: Option<String>,
}

impl Page {
    /// Checks the shared list parameters. `sorts` is the list's whitelist of sort keys (the first
    /// is the default), `default_descending` the default order. A sort key or order outside the
    /// whitelist is a 400 naming the field; a limit is brought within 1..=[`MAX_LIMIT`].
    pub fn parse(
        limit: Option<u32>,
        offset: Option<u64>,
        sort: Option<&str>,
        order: Option<&str>,
        q: Option<&str>,
        sorts: &[&'static str],
        default_descending: bool,
    ) -> Result<Page, ApiError> {
        let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
            None => sorts.first().copied().unwrap_or(""),
            Some(s) => sorts.iter().copied().find(|k| *k == s).ok_or_else(|| {
                ApiError::bad_field("sort", format!("sort by one of: {}", sorts.join(", ")))
            })?,
        };
        let descending = match order.map(str::trim).filter(|s| !s.is_empty()) {
            None => default_descending,
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::bad_field("order", "order is asc or desc")),
        };
        Ok(Page {
            limit: limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            offset: offset.unwrap_or(0),
            sort,
            descending,
            q: non_empty(q),
        })
    }

    pub fn order(&self) -> &'static str {
        if self.descending {
            "desc"
        } else {
            "asc"
        }
    }
}

/// `Some(trimmed)` for a filter with text in it.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A yes/no filter: absent or blank is no filter, `true` or `false` filters, anything else is a
/// 400 naming the field.
pub fn bool_filter(field: &'static str, s: Option<&str>) -> Result<Option<bool>, ApiError> {
    match non_empty(s).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_field(
            field,
            format!("{field} is true or false"),
        )),
    }
}

/// One page of a list as the API answers it and the templates render it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// How many rows match. When `total_exact` is false the list is decided row by row and the
    /// figure is a lower bound: the rows seen so far plus one when another page follows.
    pub total: u64,
    pub total_exact: bool,
    pub limit: u32,
    pub offset: u64,
    pub sort: String,
    pub order: String,
    /// Link to the next page, when there is one.
    pub next: Option<String>,
    /// Link to the previous page, when there is one.
    pub prev: Option<String>,
    /// The list's address with its filters and limit but no sort, order or offset: the column
    /// headers add their own sort to it.
    pub base: String,
}

/// Builds the links of a list: `path` with the filters (empty values left out).
pub struct Links {
    path: String,
    filters: Vec<(String, String)>,
}

impl Links {
    pub fn new(path: impl Into<String>) -> Links {
        Links {
            path: path.into(),
            filters: Vec::new(),
        }
    }

    /// Adds a filter kept on every link (left out when empty).
    pub fn filter(mut self, name: &str, value: Option<impl ToString>) -> Links {
        if let Some(v) = value.map(|v| v.to_string()).filter(|v| !v.is_empty()) {
            self.filters.push((name.to_string(), v));
        }
        self
    }

    /// The address with the filters and these extra parameters.
    pub fn url(&self, extra: &[(&str, String)]) -> String {
        let mut out = self.path.clone();
        let mut sep = '?';
        let all = self
            .filters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().map(|(k, v)| (*k, v.as_str())));
        for (k, v) in all {
            out.push(sep);
            sep = '&';
            out.push_str(&encode(k));
            out.push('=');
            out.push_str(&encode(v));
        }
        out
    }
}

/// Percent-encodes a query-string component (everything but the unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl<T> Paged<T> {
    /// A page of an offset-paged list. `more` says whether rows follow this page.
    pub fn offset_page(
        items: Vec<T>,
        page: &Page,
        links: &Links,
        total: u64,
        total_exact: bool,
        more: bool,
    ) -> Paged<T> {
        let at = |offset: u64| {
            links.url(&[
                ("limit", page.limit.to_string()),
                ("sort", page.sort.to_string()),
                ("order", page.order().to_string()),
                ("offset", offset.to_string()),
            ])
        };
        let next = more.then(|| at(page.offset.saturating_add(u64::from(page.limit))));
        let prev = (page.offset > 0).then(|| at(page.offset.saturating_sub(u64::from(page.limit))));
        Paged {
            items,
            total,
            total_exact,
            limit: page.limit,
            offset: page.offset,
            sort: page.sort.to_string(),
            order: page.order().to_string(),
            next,
            prev,
            base: links.url(&[("limit", page.limit.to_string())]),
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            total_exact: self.total_exact,
            limit: self.limit,
            offset: self.offset,
            sort: self.sort,
            order: self.order,
            next: self.next,
            prev: self.prev,
            base: self.base,
        }
    }
}

/// Pages over the rows the caller may see when each row is decided on its own.
///
/// The handler reads batches of stored rows in the list's order (filters and sort are in the
/// SQL) from [`Visible::read`] on, [`Visible::batch`] at a time, and offers each batch with the
/// row decision (the policy engine, and whatever else the list requires); it stops when
/// [`Visible::offer`] says so: `page.offset` visible rows skipped and `page.limit + 1` seen, or the
/// store ran out. A refused row is never kept, and the total is not counted over the whole
/// table: counting would mean deciding every row, and counting the stored rows instead would
/// reveal how many the caller may not see. It is given as "at least" ([`Visible::at_least`]).
pub struct Visible<R> {
    offset: u64,
    want: usize,
    skipped: u64,
    read: u64,
    batch: u32,
    pub items: Vec<R>,
    pub more: bool,
}

impl<R> Visible<R> {
    pub fn new(page: &Page) -> Visible<R> {
        Visible {
            offset: page.offset,
            want: usize::try_from(page.limit).unwrap_or(usize::MAX),
            skipped: 0,
            read: 0,
            batch: page.limit.saturating_mul(2).clamp(100, 1000),
            items: Vec::new(),
            more: false,
        }
    }

    /// Where the next batch starts among the stored rows.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// How many stored rows to read next.
    pub fn batch(&self) -> u32 {
        self.batch
    }

    /// Takes a batch; true when no more need be read.
    pub fn offer(&mut self, rows: Vec<R>, mut visible: impl FnMut(&R) -> bool) -> bool {
        let got = rows.len();
        self.read += got as u64;
        for r in rows {
            if !visible(&r) {
                continue;
            }
            if self.skipped < self.offset {
                self.skipped += 1;
            } else if self.items.len() < self.want {
                self.items.push(r);
            } else {
                self.more = true;
                return true;
            }
        }
        got < usize::try_from(self.batch).unwrap_or(usize::MAX)
    }

    /// A lower bound of the rows the caller may see: those skipped, those kept, and one when
    /// more follow.
    pub fn at_least(&self) -> u64 {
        self.skipped + self.items.len() as u64 + u64::from(self.more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_and_sorts_whitelisted() {
        let p = Page::parse(
            Some(10_000),
            None,
            None,
            None,
            Some("  "),
            &["a", "b"],
            true,
        )
        .expect("page");
        assert_eq!(p.limit, MAX_LIMIT);
        assert_eq!(p.sort, "a");
        assert!(p.descending);
        assert!(p.q.is_none());
        let p = Page::parse(
            Some(0),
            Some(5),
            Some("b"),
            Some("asc"),
            None,
            &["a", "b"],
            true,
        )
        .expect("page");
        assert_eq!(
            (p.limit, p.offset, p.sort, p.descending),
            (1, 5, "b", false)
        );
        assert!(Page::parse(None, None, Some("a; DROP"), None, None, &["a"], false).is_err());
        assert!(Page::parse(None, None, None, Some("up"), None, &["a"], false).is_err());
    }

    #[test]
    fn links_keep_filters_and_encode_them() {
        let l = Links::new("/cases")
            .filter("q", Some("a b&c"))
            .filter("status", None::<&str>);
        assert_eq!(
            l.url(&[("limit", "5".into())]),
            "/cases?q=a%20b%26c&limit=5"
        );
    }

    #[test]
    fn visible_rows_fill_the_page_and_refused_ones_are_not_counted() {
        let page = Page::parse(Some(10), Some(20), None, None, None, &["n"], false).expect("p");
        let mut v = Visible::new(&page);
        loop {
            let start = v.read() as u32;
            let rows: Vec<u32> = (start..(start + v.batch()).min(1000)).collect();
            if v.offer(rows, |r| r % 3 == 0) {
                break;
            }
        }
        assert_eq!(v.items, (60..90).step_by(3).collect::<Vec<_>>());
        assert!(v.more);
        assert_eq!(v.at_least(), 31);
    }
}
