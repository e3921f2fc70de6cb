//! Paging bounds as Mastodon's `max_id` / `since_id` / `min_id` / `limit`.

/// Validated paging bounds for an id-ordered list.
///
/// `max_id` and `since_id` give the newest page below `max_id` and above
/// `since_id`; `min_id` gives the page right after `min_id` (oldest first,
/// then returned newest first), which is how clients catch up without gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBounds {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: u32,
}

impl PageBounds {
    /// Bounds with `limit` clamped into `1..=max` (`default` when absent).
    pub fn new(
        max_id: Option<i64>,
        since_id: Option<i64>,
        min_id: Option<i64>,
        limit: Option<i64>,
        default: u32,
        max: u32,
    ) -> Self {
        let limit = match limit {
            Some(l) if l < 1 => 1,
            Some(l) => (l.min(i64::from(max))) as u32,
            None => default,
        };
        PageBounds {
            max_id,
            since_id,
            min_id,
            limit,
        }
    }

    /// The first page with a given limit.
    pub fn first(limit: u32) -> Self {
        PageBounds {
            max_id: None,
            since_id: None,
            min_id: None,
            limit,
        }
    }

    /// Whether the query must walk ascending from `min_id`.
    pub fn ascending(&self) -> bool {
        self.min_id.is_some()
    }

    /// The exclusive lower bound: `min_id` wins over `since_id`.
    pub fn lower(&self) -> Option<i64> {
        self.min_id.or(self.since_id)
    }
}

/// One page of results and the cursor ids for the `Link` header.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor of the oldest item (the next page's `max_id`).
    pub next_max_id: Option<i64>,
    /// Cursor of the newest item (the previous page's `min_id`).
    pub prev_min_id: Option<i64>,
}

impl<T> Page<T> {
    /// A page whose cursors are taken from `cursor` of the first and last item
    /// (items are newest first).
    pub fn from_items(items: Vec<T>, cursor: impl Fn(&T) -> i64) -> Self {
        let prev_min_id = items.first().map(&cursor);
        let next_max_id = items.last().map(&cursor);
        Page {
            items,
            next_max_id,
            prev_min_id,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_max_id: self.next_max_id,
            prev_min_id: self.prev_min_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_clamped() {
        assert_eq!(PageBounds::new(None, None, None, None, 20, 40).limit, 20);
        assert_eq!(
            PageBounds::new(None, None, None, Some(500), 20, 40).limit,
            40
        );
        assert_eq!(PageBounds::new(None, None, None, Some(0), 20, 40).limit, 1);
        assert_eq!(PageBounds::new(None, None, None, Some(-3), 20, 40).limit, 1);
    }

    #[test]
    fn min_id_wins_over_since_id() {
        let b = PageBounds::new(None, Some(5), Some(9), None, 20, 40);
        assert!(b.ascending());
        assert_eq!(b.lower(), Some(9));
    }
}
