//! Search as members type it — Chinese, English, digits, punctuation, query-language
//! operators, control characters: validation answers or refuses, segmentation and
//! highlighting stay inside the text on character boundaries, and a query against a real
//! (in-memory) index never panics.
#![no_main]

use std::sync::OnceLock;

use kith_app::platform::page::PageRequest;
use kith_app::discovery::search::SearchQuery;
use kith_search::{Doc, Filter, Kind, SearchIndex, highlights, query_terms};
use libfuzzer_sys::fuzz_target;

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = SearchIndex::in_memory().expect("index");
        let docs = [
            Doc::new(
                Kind::Post,
                "p1",
                "最近在减肥，每天跑步 5 公里，晚饭只吃沙拉",
            ),
            Doc::new(Kind::Post, "p2", "宝宝辅食第一周：米粉和南瓜泥 baby food"),
            Doc::new(Kind::Product, "s1", "十五年坤沙酱香白酒 500ml"),
        ];
        index.add(docs.iter()).expect("add");
        index.commit(None).expect("commit");
        index
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = SearchQuery::parse(
        Some(text),
        Some(text),
        Some(text),
        PageRequest::parse(Some(20), None).unwrap(),
    );
    let terms = query_terms(text);
    assert!(terms.len() <= kith_search::MAX_QUERY_TERMS);
    // Highlights are character ranges (clients index strings by character), in order.
    let chars = text.chars().count();
    let mut last_end = 0;
    for (start, end) in highlights(text, &terms) {
        assert!(
            last_end <= start && start < end && end <= chars,
            "{start}..{end} of {chars}"
        );
        last_end = end;
    }
    let _ = index().search(&terms, &Filter::All, 10);
    let _ = index().search(&terms, &Filter::kind(Kind::Post), 10);
});
