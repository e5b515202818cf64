//! # kith-search
//!
//! Full-text search for kith: the Chinese word-segmentation tokenizer, the index schema,
//! writing documents and querying with filters. It knows nothing of storage, accounts or
//! the visibility rule: `kith-app` decides what a searcher may see, expresses it as a
//! [`Filter`], and re-checks every hit with the one SQL rule before showing it.
//!
//! - [`analyzer`]: jieba-rs in search mode (its dictionary is compiled into the binary,
//!   nothing is downloaded), punctuation-only tokens dropped, Latin letters lower-cased,
//!   over-long tokens dropped. Mixed Chinese, English and digits segment as one would
//!   expect: `"iPhone15 减肥餐"` → `iphone15`, `减肥`, `减肥餐`…
//! - [`SearchIndex`]: one tantivy index (on disk in the data directory, or in memory),
//!   one writer behind a mutex, a reader reloaded after each commit. The commit payload
//!   records the outbox cursor the index is current up to, so the index and its cursor
//!   can never disagree.
//! - Queries never go through tantivy's query-language parser: the user's text is
//!   segmented by the same analyzer and the resulting words are OR-ed term queries
//!   scored by BM25, so operators, quotes or field names in the input are plain words.

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::UserOperation;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, ConstScorer, EmptyQuery, EnableScoring, Explanation,
    Occur, Query, Scorer, TermQuery, Weight,
};
use tantivy::schema::{
    BytesOptions, FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    RemoveLongFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{
    BitSet, DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader,
    TERMINATED, TantivyDocument, Term,
};

pub use tantivy;
pub use tantivy_jieba::{JiebaTokenizer, jieba_rs};

/// Name the analyzer is registered under in every kith index.
pub const TOKENIZER: &str = "kith_zh";
/// Longest token kept, in bytes (a CJK character is 3): longer ones are noise (hashes,
/// runs of digits) and would bloat the term dictionary.
pub const MAX_TOKEN_BYTES: usize = 60;
/// At most this many distinct words of a query are used; the rest are ignored.
pub const MAX_QUERY_TERMS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index directory: {0}")]
    Dir(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index writer is poisoned")]
    Poisoned,
}

pub type SearchResult<T> = Result<T, SearchError>;

// ---------------------------------------------------------------------------------------
// Tokenizer

/// The text analyzer kith indexes and queries with: jieba (search mode, HMM for unknown
/// words) → drop tokens without a letter or digit and lower-case the rest ([`Words`]) →
/// drop over-long tokens.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(Words)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// The distinct words of `text` as the index sees them, in first-seen order, at most
/// [`MAX_QUERY_TERMS`]. Empty when the text holds no word (only spaces or punctuation).
pub fn query_terms(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut s = a.token_stream(text);
    let mut out: Vec<String> = Vec::new();
    while s.advance() {
        let t = &s.token().text;
        if !out.iter().any(|o| o == t) {
            out.push(t.clone());
            if out.len() == MAX_QUERY_TERMS {
                break;
            }
        }
    }
    out
}

/// Every token of `text` (with repeats), as indexed: what `kith bench search` times.
pub fn segment(analyzer: &mut TextAnalyzer, text: &str) -> usize {
    let mut s = analyzer.token_stream(text);
    let mut n = 0;
    while s.advance() {
        n += 1;
    }
    n
}

/// Character ranges `[start, end)` of `text` where one of `terms` (as returned by
/// [`query_terms`]) occurs, merged where they overlap, in order.
///
/// The text is lower-cased as the analyzer lower-cases (character by character) and each
/// term is looked for as it is written, not by segmenting the text again: a page of
/// results is highlighted in a scan of its bodies instead of a jieba pass over each. A
/// term that begins or ends with a Latin letter or digit only counts where the text has no
/// letter or digit beside it there, as the analyzer keeps `iphone15` one word: `phone`
/// does not light up inside `iPhone`.
pub fn highlights(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    if terms.is_empty() {
        return Vec::new();
    }
    // Most bodies are ASCII, ideographs and CJK punctuation: lower-casing them changes
    // ASCII letters only, byte for byte, so a match's bytes are the text's own and only
    // the characters before each end of a match need counting.
    let ranges = if text.chars().all(|c| c.is_ascii() || caseless(c)) {
        char_ranges(text, term_matches(&text.to_ascii_lowercase(), terms))
    } else {
        general_ranges(text, terms)
    };
    merged(ranges)
}

/// [`highlights`]' ranges (not merged) for any text: lowered character by character,
/// with a table from each byte of the lowered text to the character it came from.
fn general_ranges(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    // The lower-cased text, and for each of its bytes the index of the character of
    // `text` it came from (one more entry: the character count, for a range's end).
    let mut lower = String::with_capacity(text.len());
    let mut source: Vec<usize> = Vec::with_capacity(text.len() + 1);
    for (chars, c) in text.chars().enumerate() {
        lower.extend(c.to_lowercase());
        source.resize(lower.len(), chars);
    }
    source.push(text.chars().count());
    term_matches(&lower, terms)
        .into_iter()
        .map(|(at, end)| (source[at], source[end - 1] + 1))
        .collect()
}

/// Byte ranges `[at, end)` of the lower-cased text where one of `terms` occurs. A term
/// that begins or ends with a Latin letter or digit only counts where the text has no
/// letter or digit beside it there.
fn term_matches(lower: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let wordy = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut ranges = Vec::new();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let (first, last) = (term.chars().next(), term.chars().next_back());
        for (at, m) in lower.match_indices(term.as_str()) {
            let end = at + m.len();
            if (wordy(first) && wordy(lower[..at].chars().next_back()))
                || (wordy(last) && wordy(lower[end..].chars().next()))
            {
                continue;
            }
            ranges.push((at, end));
        }
    }
    ranges
}

/// Byte ranges of `text` (on character boundaries) as character ranges: the characters
/// before each boundary, counted in one pass over the boundaries in order.
fn char_ranges(text: &str, bytes: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = bytes.iter().flat_map(|&(a, b)| [a, b]).collect();
    points.sort_unstable();
    points.dedup();
    let (mut at, mut chars) = (0, 0);
    let counted: Vec<usize> = points
        .iter()
        .map(|&p| {
            chars += text[at..p].chars().count();
            at = p;
            chars
        })
        .collect();
    let char_at = |b: usize| points.binary_search(&b).map_or(0, |i| counted[i]);
    bytes
        .into_iter()
        .map(|(a, b)| (char_at(a), char_at(b)))
        .collect()
}

/// Ranges in order, those that overlap or touch made one.
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Drops tokens that hold no letter or digit of any script (punctuation such as ，。！ and
/// ASCII, spaces, emoji and symbols never become terms) and lower-cases the rest as
/// tantivy's `LowerCaser` does (each character's `to_lowercase`).
///
/// One pass over each token's characters decides both. Most tokens are Chinese words or
/// ASCII, and those are answered without Unicode tables: a CJK ideograph is a letter
/// without case, an ASCII character is checked and lowered in place. Any other character
/// takes the general path (`is_alphanumeric`, `to_lowercase`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Words;

impl TokenFilter for Words {
    type Tokenizer<T: Tokenizer> = WordsTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsTokenizer<T> {
        WordsTokenizer(tokenizer)
    }
}

#[derive(Clone)]
pub struct WordsTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for WordsTokenizer<T> {
    type TokenStream<'a> = WordsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsStream(self.0.token_stream(text))
    }
}

pub struct WordsStream<S>(S);

/// A CJK unified ideograph (the base block and extension A): a letter, without case.
fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// An ideograph, CJK punctuation (。、「」…) or a full-width form that is not an
/// upper-case letter (，！？０-９ａ-ｚ…): lower-cases to itself.
fn caseless(c: char) -> bool {
    is_ideograph(c)
        || matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF65}')
}

/// What [`Words`] does with a token.
#[derive(Debug, PartialEq, Eq)]
enum WordCase {
    /// No letter or digit: dropped.
    NotAWord,
    /// Already lower case: kept as it is.
    Lower,
    /// ASCII with upper-case letters: lowered in place.
    Ascii,
    /// Another character that may have case: each character lowered.
    Unicode,
}

fn word_case(text: &str) -> WordCase {
    let (mut word, mut ascii_upper, mut other) = (false, false, false);
    for c in text.chars() {
        if c.is_ascii() {
            word |= c.is_ascii_alphanumeric();
            ascii_upper |= c.is_ascii_uppercase();
        } else if is_ideograph(c) {
            word = true;
        } else {
            word |= c.is_alphanumeric();
            other = true;
        }
    }
    match (word, other, ascii_upper) {
        (false, _, _) => WordCase::NotAWord,
        (true, true, _) => WordCase::Unicode,
        (true, false, true) => WordCase::Ascii,
        (true, false, false) => WordCase::Lower,
    }
}

impl<S: TokenStream> TokenStream for WordsStream<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            let text = &mut self.0.token_mut().text;
            match word_case(text) {
                WordCase::NotAWord => continue,
                WordCase::Lower => {}
                WordCase::Ascii => text.make_ascii_lowercase(),
                WordCase::Unicode => {
                    let lower: String = text.chars().flat_map(char::to_lowercase).collect();
                    *text = lower;
                }
            }
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

// ---------------------------------------------------------------------------------------
// Documents

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Post,
    Product,
    Community,
    Person,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Post => "post",
            Kind::Product => "product",
            Kind::Community => "community",
            Kind::Person => "person",
        }
    }

    /// The byte a document's key starts with.
    fn tag(self) -> u8 {
        match self {
            Kind::Post => 0,
            Kind::Product => 1,
            Kind::Community => 2,
            Kind::Person => 3,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Kind::Post,
            1 => Kind::Product,
            2 => Kind::Community,
            3 => Kind::Person,
            _ => return None,
        })
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "post" => Kind::Post,
            "product" => Kind::Product,
            "community" => Kind::Community,
            "person" => Kind::Person,
            _ => return None,
        })
    }
}

/// One searchable thing. `text` is what matches; the other fields are what filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub kind: Kind,
    pub id: String,
    pub text: String,
    /// A post's author; a person's own id.
    pub author: Option<String>,
    /// A community post's community; a community's own id.
    pub community: Option<String>,
    /// A post's visibility (`public`, `followers`, `friends`, `community`).
    pub visibility: Option<String>,
    /// Hidden by a moderator (posts), or not on sale (products).
    pub hidden: bool,
    /// A product's merchant.
    pub merchant: Option<String>,
    pub created_at_ms: i64,
}

impl Doc {
    pub fn new(kind: Kind, id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            text: text.into(),
            author: None,
            community: None,
            visibility: None,
            hidden: false,
            merchant: None,
            created_at_ms: 0,
        }
    }
}

/// A field a [`Filter`] can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Kind,
    Author,
    Community,
    Visibility,
    Hidden,
    Merchant,
}

/// Which documents a query may return, evaluated inside the index (before scoring and
/// counting), so a document outside it is never counted, ranked or returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All,
    Nothing,
    Is(On, String),
    AnyOf(On, Vec<String>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    pub fn is(on: On, v: impl Into<String>) -> Self {
        Filter::Is(on, v.into())
    }
    pub fn kind(k: Kind) -> Self {
        Filter::is(On::Kind, k.as_str())
    }
    pub fn any_of<I: IntoIterator<Item = S>, S: Into<String>>(on: On, vs: I) -> Self {
        Filter::AnyOf(on, vs.into_iter().map(Into::into).collect())
    }
    pub fn negate(f: Filter) -> Self {
        Filter::Not(Box::new(f))
    }
}

/// The documents whose field holds any of `terms` (exact terms of one field, e.g. the
/// searcher's friends as authors): one doc set per segment, gathered straight from the
/// terms' posting lists — a sorted list when short, a bit set when long. It leads the
/// intersection with the text query when it is the smaller, so a per-viewer circle costs
/// its own size, not the index's. (tantivy's `TermSetQuery` builds an automaton over the
/// terms for every query, which costs more than the lookups for the short sets kith asks.)
#[derive(Clone, Debug)]
struct AnyTermQuery {
    terms: std::sync::Arc<Vec<Term>>,
}

impl Query for AnyTermQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for AnyTermQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut docs: Vec<DocId> = Vec::new();
        if let Some(field) = self.terms.first().map(Term::field) {
            let inverted = reader.inverted_index(field)?;
            for term in self.terms.iter() {
                if let Some(mut postings) =
                    inverted.read_postings(term, IndexRecordOption::Basic)?
                {
                    let mut d = postings.doc();
                    while d != TERMINATED {
                        docs.push(d);
                        d = postings.advance();
                    }
                }
            }
        }
        // A sorted list is cheap to build and walk while short; past one doc in 64 a bit
        // set is smaller.
        if docs.len() as u64 * 64 > u64::from(reader.max_doc()) {
            let mut set = BitSet::with_max_value(reader.max_doc());
            for d in docs {
                set.insert(d);
            }
            return Ok(Box::new(ConstScorer::new(
                tantivy::query::BitSetDocSet::from(set),
                boost,
            )));
        }
        docs.sort_unstable();
        docs.dedup();
        Ok(Box::new(ConstScorer::new(
            SortedDocs { docs, at: 0 },
            boost,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("any of the terms", 1.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} holds none of the terms"
            )))
        }
    }
}

/// Doc ids in increasing order, as a doc set.
struct SortedDocs {
    docs: Vec<DocId>,
    at: usize,
}

impl DocSet for SortedDocs {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.at += self.docs[self.at..].partition_point(|d| *d < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        u32::try_from(self.docs.len() - self.at).unwrap_or(u32::MAX)
    }
}

/// One hit: what it is and its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: Kind,
    pub id: String,
    pub score: f32,
}

/// Hits best first, and how many documents matched in all.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    pub total: usize,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    text: Field,
    author: Field,
    community: Field,
    visibility: Field,
    hidden: Field,
    merchant: Field,
    created: Field,
    /// What a hit is, read per document from fast columns ([`SearchIndex::search`]): its
    /// [`Kind::tag`], and a UUID id's two halves — or, for any other id, its text.
    kind_tag: Field,
    uuid_hi: Field,
    uuid_lo: Field,
    text_id: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    // What filters: whole values, matched or not, never scored (no field norms).
    let exact = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::Basic),
    );
    let f = Fields {
        key: b.add_bytes_field("key", BytesOptions::default().set_indexed()),
        kind: b.add_text_field("kind", exact.clone()),
        text: b.add_text_field("text", text),
        author: b.add_text_field("author", exact.clone()),
        community: b.add_text_field("community", exact.clone()),
        visibility: b.add_text_field("visibility", exact.clone()),
        hidden: b.add_text_field("hidden", exact.clone()),
        merchant: b.add_text_field("merchant", exact),
        created: b.add_i64_field("created", FAST),
        kind_tag: b.add_u64_field("kind_tag", FAST),
        uuid_hi: b.add_u64_field("uuid_hi", FAST),
        uuid_lo: b.add_u64_field("uuid_lo", FAST),
        text_id: b.add_bytes_field("text_id", BytesOptions::default().set_fast()),
    };
    (b.build(), f)
}

/// A document's key, the term it is replaced and removed by: its kind (one byte), then
/// its id — the 16 bytes of a UUID written the way kith writes them (tag 0), or else the
/// id's text (tag 1). Every document is indexed under a unique key, so the term dictionary
/// holds one entry per document: 18 bytes where the text `post:<uuid>` took 41 makes a
/// bulk build's dictionary cheaper to build.
fn key(kind: Kind, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(kind.tag());
    match kith_uuid(id) {
        Some(u) => {
            k.push(0);
            k.extend_from_slice(u.as_bytes());
        }
        None => {
            k.push(1);
            k.extend_from_slice(id.as_bytes());
        }
    }
    k
}

/// `id` as a UUID, when it is one written the way kith writes them (lower-case,
/// hyphenated): the UUID gives back exactly `id`.
fn kith_uuid(id: &str) -> Option<uuid::Uuid> {
    let u = uuid::Uuid::try_parse(id).ok()?;
    (u.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        == id)
        .then_some(u)
}

/// A segment's fast columns that tell what its documents are ([`Fields::kind_tag`]…).
struct IdColumns {
    kind: tantivy::columnar::Column<u64>,
    hi: Option<tantivy::columnar::Column<u64>>,
    lo: Option<tantivy::columnar::Column<u64>>,
    text: Option<tantivy::columnar::BytesColumn>,
}

impl IdColumns {
    fn open(segment: &SegmentReader) -> SearchResult<Self> {
        let f = segment.fast_fields();
        Ok(Self {
            kind: f.u64("kind_tag")?,
            hi: f.column_opt("uuid_hi")?,
            lo: f.column_opt("uuid_lo")?,
            text: f.bytes("text_id")?,
        })
    }

    /// The kind and id of document `doc`.
    fn id(&self, doc: DocId) -> Option<(Kind, String)> {
        let kind = Kind::from_tag(u8::try_from(self.kind.first(doc)?).ok()?)?;
        let halves = self.hi.as_ref().zip(self.lo.as_ref());
        if let Some((hi, lo)) = halves.and_then(|(h, l)| Some((h.first(doc)?, l.first(doc)?))) {
            let id = uuid::Uuid::from_u64_pair(hi, lo).hyphenated().to_string();
            return Some((kind, id));
        }
        let text = self.text.as_ref()?;
        let ord = text.term_ords(doc).next()?;
        let mut bytes = Vec::new();
        text.ord_to_bytes(ord, &mut bytes).ok()?;
        Some((kind, String::from_utf8(bytes).ok()?))
    }
}

/// A kith search index: documents of every [`Kind`] in one tantivy index.
pub struct SearchIndex {
    /// Kept so the index outlives its reader and writer explicitly.
    _index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    /// The cursor of the last commit that searches see (set after the reader reloads).
    searchable: Mutex<Option<i64>>,
    /// The id columns of each segment of the searcher generation they were opened for:
    /// opened once a reload, not once a search.
    id_columns: Mutex<Option<(u64, std::sync::Arc<Vec<IdColumns>>)>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// Memory for the writer's in-RAM segment before it flushes (tantivy's minimum is 15 MB).
const WRITER_HEAP: usize = 32_000_000;
/// Writes handed to the indexing thread in one message.
const BATCH_OPS: usize = 256;

impl SearchIndex {
    /// Opens the index in `dir`, creating it if missing. An index with another schema (an
    /// older kith) is emptied, so its cursor is gone and the caller rebuilds it.
    pub fn open(dir: &Path) -> SearchResult<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, f) = schema();
        let index = match Index::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
            Ok(i) => i,
            Err(tantivy::TantivyError::SchemaError(_)) => {
                for e in std::fs::read_dir(dir)? {
                    let p = e?.path();
                    if p.is_file() {
                        std::fs::remove_file(p)?;
                    }
                }
                Index::open_or_create(MmapDirectory::open(dir)?, schema)?
            }
            Err(e) => return Err(e.into()),
        };
        Self::with_index(index, f, WRITER_HEAP)
    }

    /// An index that lives in memory only (tests, benchmarks).
    pub fn in_memory() -> SearchResult<Self> {
        let (schema, f) = schema();
        Self::with_index(Index::create_in_ram(schema), f, WRITER_HEAP)
    }

    /// In memory with a larger writer heap, for bulk loads.
    pub fn in_memory_bulk(heap_bytes: usize) -> SearchResult<Self> {
        let (schema, f) = schema();
        Self::with_index(Index::create_in_ram(schema), f, heap_bytes.max(15_000_000))
    }

    fn with_index(index: Index, f: Fields, heap: usize) -> SearchResult<Self> {
        let mut analyzer = analyzer();
        // jieba loads its dictionary on first use (~0.1 s): here, at start-up, rather than
        // in the first query or the first batch indexed.
        segment(&mut analyzer, "预热");
        index.tokenizers().register(TOKENIZER, analyzer);
        let writer = index.writer_with_num_threads(1, heap)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searchable = Mutex::new(
            index
                .load_metas()
                .ok()
                .and_then(|m| m.payload)
                .and_then(|p| p.parse().ok()),
        );
        Ok(Self {
            _index: index,
            reader,
            writer: Mutex::new(writer),
            f,
            searchable,
            id_columns: Mutex::new(None),
        })
    }

    fn document(&self, d: &Doc) -> TantivyDocument {
        let f = &self.f;
        let mut doc = TantivyDocument::default();
        doc.add_bytes(f.key, &key(d.kind, &d.id));
        doc.add_text(f.kind, d.kind.as_str());
        doc.add_text(f.text, &d.text);
        if let Some(a) = &d.author {
            doc.add_text(f.author, a);
        }
        if let Some(c) = &d.community {
            doc.add_text(f.community, c);
        }
        if let Some(v) = &d.visibility {
            doc.add_text(f.visibility, v);
        }
        doc.add_text(f.hidden, if d.hidden { "1" } else { "0" });
        if let Some(m) = &d.merchant {
            doc.add_text(f.merchant, m);
        }
        doc.add_i64(f.created, d.created_at_ms);
        doc.add_u64(f.kind_tag, u64::from(d.kind.tag()));
        match kith_uuid(&d.id) {
            Some(u) => {
                let (hi, lo) = u.as_u64_pair();
                doc.add_u64(f.uuid_hi, hi);
                doc.add_u64(f.uuid_lo, lo);
            }
            None => doc.add_bytes(f.text_id, d.id.as_bytes()),
        }
        doc
    }

    /// Replaces (or adds) documents; visible to searches after [`Self::commit`].
    pub fn upsert<'a>(&self, docs: impl IntoIterator<Item = &'a Doc>) -> SearchResult<()> {
        let ops = docs.into_iter().flat_map(|d| {
            [
                UserOperation::Delete(Term::from_field_bytes(self.f.key, &key(d.kind, &d.id))),
                UserOperation::Add(self.document(d)),
            ]
        });
        self.run(ops)
    }

    /// Adds documents known to be new (bulk builds): no delete first.
    pub fn add<'a>(&self, docs: impl IntoIterator<Item = &'a Doc>) -> SearchResult<()> {
        let ops = docs
            .into_iter()
            .map(|d| UserOperation::Add(self.document(d)));
        self.run(ops)
    }

    /// Hands `ops` to the indexing thread in batches of [`BATCH_OPS`] (a message each,
    /// where a document at a time is a hand-off and a wake-up each), in order: a delete
    /// removes what was added before it. The writer checks its memory budget between
    /// batches, so a batch is kept small next to [`WRITER_HEAP`].
    fn run(&self, ops: impl Iterator<Item = UserOperation>) -> SearchResult<()> {
        let w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let mut ops = ops.peekable();
        while ops.peek().is_some() {
            let batch: Vec<UserOperation> = ops.by_ref().take(BATCH_OPS).collect();
            w.run(batch)?;
        }
        Ok(())
    }

    /// The [`IdColumns`] of every segment of `searcher`, by segment ordinal.
    fn id_columns(
        &self,
        searcher: &tantivy::Searcher,
    ) -> SearchResult<std::sync::Arc<Vec<IdColumns>>> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.id_columns.lock().map_err(|_| SearchError::Poisoned)?;
        if let Some((g, columns)) = &*cached
            && *g == generation
        {
            return Ok(columns.clone());
        }
        let columns = std::sync::Arc::new(
            searcher
                .segment_readers()
                .iter()
                .map(IdColumns::open)
                .collect::<SearchResult<Vec<_>>>()?,
        );
        *cached = Some((generation, columns.clone()));
        Ok(columns)
    }

    /// Removes a document (a deleted post, a removed account…).
    pub fn remove(&self, kind: Kind, id: &str) -> SearchResult<()> {
        let w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_term(Term::from_field_bytes(self.f.key, &key(kind, id)));
        Ok(())
    }

    /// Removes every document (before a rebuild); takes effect at the next commit.
    pub fn clear(&self) -> SearchResult<()> {
        let w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_all_documents()?;
        Ok(())
    }

    /// Makes everything written so far durable and searchable, recording `cursor` (the
    /// last outbox event applied) with it.
    pub fn commit(&self, cursor: Option<i64>) -> SearchResult<()> {
        {
            let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
            let mut prepared = w.prepare_commit()?;
            if let Some(c) = cursor {
                prepared.set_payload(&c.to_string());
            }
            prepared.commit()?;
        }
        self.reader.reload()?;
        if let Some(c) = cursor {
            *self.searchable.lock().map_err(|_| SearchError::Poisoned)? = Some(c);
        }
        Ok(())
    }

    /// The outbox cursor recorded with the last commit; `None` for a new or emptied index,
    /// which must be rebuilt from storage.
    /// Searches see everything up to it.
    pub fn cursor(&self) -> Option<i64> {
        *self.searchable.lock().ok()?
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn filter_query(&self, f: &Filter) -> Box<dyn Query> {
        let field = |on: On| match on {
            On::Kind => self.f.kind,
            On::Author => self.f.author,
            On::Community => self.f.community,
            On::Visibility => self.f.visibility,
            On::Hidden => self.f.hidden,
            On::Merchant => self.f.merchant,
        };
        match f {
            Filter::All => Box::new(AllQuery),
            Filter::Nothing => Box::new(EmptyQuery),
            Filter::Is(on, v) => Box::new(TermQuery::new(
                Term::from_field_text(field(*on), v),
                IndexRecordOption::Basic,
            )),
            Filter::AnyOf(_, vs) if vs.is_empty() => Box::new(EmptyQuery),
            Filter::AnyOf(on, vs) => Box::new(AnyTermQuery {
                terms: std::sync::Arc::new(
                    vs.iter()
                        .map(|v| Term::from_field_text(field(*on), v))
                        .collect(),
                ),
            }),
            Filter::And(fs) if fs.is_empty() => Box::new(AllQuery),
            Filter::And(fs) => {
                // A negated part is excluded from the others directly (no "all but" set),
                // so the smallest positive part leads the intersection.
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = fs
                    .iter()
                    .map(|f| match f {
                        Filter::Not(inner) => (Occur::MustNot, self.filter_query(inner)),
                        f => (Occur::Must, self.filter_query(f)),
                    })
                    .collect();
                if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Filter::Or(fs) if fs.is_empty() => Box::new(EmptyQuery),
            Filter::Or(fs) => Box::new(BooleanQuery::new(
                fs.iter()
                    .map(|f| (Occur::Should, self.filter_query(f)))
                    .collect(),
            )),
            Filter::Not(f) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.filter_query(f)),
            ])),
        }
    }

    fn text_query(&self, terms: &[String]) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            terms
                .iter()
                .map(|t| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(self.f.text, t),
                            IndexRecordOption::WithFreqs,
                        )) as Box<dyn Query>,
                    )
                })
                .collect(),
        ))
    }

    /// The best `limit` documents matching any of `terms` (from [`query_terms`]) among
    /// those `filter` admits, by BM25, and how many matched in all. No terms: no hits.
    pub fn search(&self, terms: &[String], filter: &Filter, limit: usize) -> SearchResult<Hits> {
        if terms.is_empty() || limit == 0 {
            return Ok(Hits::default());
        }
        let query: Box<dyn Query> = match filter {
            Filter::All => self.text_query(terms),
            f => Box::new(BooleanQuery::new(vec![
                (Occur::Must, self.text_query(terms)),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(self.filter_query(f), 0.0)),
                ),
            ])),
        };
        let searcher = self.reader.searcher();
        let (top, total) = searcher.search(
            &query,
            &(TopDocs::with_limit(limit).order_by_score(), Count),
        )?;
        // What each hit is comes from fast columns of numbers (its kind, its UUID's two
        // halves), not the document store or a dictionary: nothing is decompressed or
        // scanned, each column answers for a document in a step.
        let columns = self.id_columns(&searcher)?;
        let hits = top
            .iter()
            .filter_map(|&(score, addr)| {
                let (kind, id) = columns.get(addr.segment_ord as usize)?.id(addr.doc_id)?;
                Some(Hit { kind, id, score })
            })
            .collect();
        Ok(Hits { total, hits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, author: &str, vis: &str, text: &str) -> Doc {
        Doc {
            author: Some(author.into()),
            visibility: Some(vis.into()),
            ..Doc::new(Kind::Post, id, text)
        }
    }

    #[test]
    fn segments_chinese_english_and_digits_and_drops_punctuation() {
        let t = query_terms("我在减肥！iPhone15，ABC 123。。。");
        assert!(t.contains(&"减肥".to_owned()), "{t:?}");
        assert!(t.iter().any(|w| w.contains("iphone")), "{t:?}");
        assert!(t.iter().any(|w| w.contains("123")), "{t:?}");
        assert!(
            t.iter().all(|w| w.chars().any(char::is_alphanumeric)),
            "{t:?}"
        );
        assert!(query_terms("，。！？ ... !!! ").is_empty());
        assert!(query_terms("").is_empty());
    }

    #[test]
    fn finds_by_word_filters_inside_the_query_and_updates() {
        let ix = SearchIndex::in_memory().unwrap();
        let docs = [
            post("p1", "a", "public", "今天开始减肥，晚饭吃沙拉"),
            post("p2", "b", "friends", "减肥第三天，体重降了"),
            post("p3", "a", "public", "宝宝辅食怎么做"),
        ];
        ix.upsert(&docs).unwrap();
        ix.commit(Some(7)).unwrap();
        assert_eq!(ix.cursor(), Some(7));
        let q = query_terms("减肥");
        let all = ix.search(&q, &Filter::All, 10).unwrap();
        assert_eq!(all.total, 2);
        let only_a = ix.search(&q, &Filter::is(On::Author, "a"), 10).unwrap();
        assert_eq!(only_a.total, 1);
        assert_eq!(only_a.hits[0].id, "p1");
        let not_friends = ix
            .search(
                &q,
                &Filter::negate(Filter::is(On::Visibility, "friends")),
                10,
            )
            .unwrap();
        assert_eq!(not_friends.total, 1);
        assert_eq!(
            ix.search(&q, &Filter::AnyOf(On::Author, vec![]), 10)
                .unwrap()
                .total,
            0
        );
        // An update replaces the document; a removal drops it.
        ix.upsert(&[post("p1", "a", "public", "不减了")]).unwrap();
        ix.commit(Some(8)).unwrap();
        assert_eq!(ix.search(&q, &Filter::All, 10).unwrap().total, 1);
        ix.remove(Kind::Post, "p2").unwrap();
        ix.commit(Some(9)).unwrap();
        assert_eq!(ix.search(&q, &Filter::All, 10).unwrap().total, 0);
        assert_eq!(ix.num_docs(), 2);
    }

    #[test]
    fn highlights_are_character_ranges() {
        let h = highlights("我要减肥，真的减肥", &query_terms("减肥"));
        assert_eq!(h, vec![(2, 4), (7, 9)]);
        // Inside a longer word, as search mode indexes it too (减肥餐 → 减肥, 减肥餐).
        assert_eq!(highlights("减肥餐真香", &query_terms("减肥")), vec![(0, 2)]);
        // Overlapping terms merge.
        assert_eq!(
            highlights("中华人民共和国", &query_terms("中华 华人")),
            vec![(0, 3)]
        );
    }

    #[test]
    fn highlights_take_latin_words_whole_and_ignore_case() {
        let terms = query_terms("iPhone");
        assert_eq!(terms, ["iphone"]);
        assert_eq!(highlights("买了IPHONE，真香", &terms), vec![(2, 8)]);
        assert_eq!(highlights("iPhone15 和 iPhones", &terms), Vec::new());
        assert_eq!(highlights("旧iphone换新", &terms), vec![(1, 7)]);
        // Characters whose lower case is longer keep their own positions.
        assert_eq!(highlights("İ iphone", &terms), vec![(2, 8)]);
    }

    proptest::proptest! {
        #[test]
        fn highlights_lie_inside_the_text_in_order(text in "\\PC{0,80}", q in "\\PC{0,12}") {
            let terms = query_terms(&q);
            let n = text.chars().count();
            let h = highlights(&text, &terms);
            for w in h.windows(2) {
                proptest::prop_assert!(w[0].1 < w[1].0);
            }
            for (a, b) in h {
                proptest::prop_assert!(a < b && b <= n);
            }
        }

        #[test]
        fn highlights_of_plain_text_count_as_the_general_way(
            text in "[a-zA-Z0-9 ，。！？、「」ａＡ０减肥沙拉白酒宝宝辅食]{0,60}",
            q in "[a-zA-Z0-9 减肥沙拉白酒宝宝辅食]{1,12}",
        ) {
            // Text of ASCII, ideographs and caseless punctuation takes the counting path;
            // with an upper-case full-width Ａ in it, the table path (compared with itself).
            let terms = query_terms(&q);
            proptest::prop_assert_eq!(
                highlights(&text, &terms),
                merged(general_ranges(&text, &terms))
            );
        }
    }

    /// What [`Words`] must do, the general way: keep a token with a letter or digit of
    /// any script, lower-cased character by character (tantivy's `LowerCaser`).
    fn words_the_general_way(text: &str) -> Vec<String> {
        let mut raw = TextAnalyzer::from(tantivy_jieba::JiebaTokenizer::new());
        let mut s = raw.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let t = &s.token().text;
            if t.chars().any(char::is_alphanumeric) {
                let lower: String = t.chars().flat_map(char::to_lowercase).collect();
                if lower.len() < MAX_TOKEN_BYTES {
                    out.push(lower);
                }
            }
        }
        out
    }

    fn analyzed(text: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn ideographs_are_caseless_letters() {
        for c in ('\u{3400}'..='\u{4DBF}').chain('\u{4E00}'..='\u{9FFF}') {
            assert!(is_ideograph(c));
            assert!(c.is_alphanumeric(), "{c:?}");
            assert!(c.to_lowercase().eq([c]), "{c:?}");
        }
        assert!(!is_ideograph('\u{33FF}') && !is_ideograph('\u{A000}'));
        let plain = ('\u{3000}'..='\u{303F}').chain('\u{3400}'..='\u{4DBF}');
        for c in plain
            .chain('\u{FF01}'..='\u{FF20}')
            .chain('\u{FF3B}'..='\u{FF65}')
        {
            assert!(caseless(c) && c.to_lowercase().eq([c]), "{c:?}");
        }
        assert!(!caseless('Ａ') && !caseless('Ｚ'));
        assert_eq!(
            analyzed("买了iPhone15和ÄÖ，İstanbul！ΣΑΣ。。。"),
            words_the_general_way("买了iPhone15和ÄÖ，İstanbul！ΣΑΣ。。。")
        );
        assert_eq!(word_case("，。"), WordCase::NotAWord);
        assert_eq!(word_case("减肥"), WordCase::Lower);
        assert_eq!(word_case("IPHONE15"), WordCase::Ascii);
        assert_eq!(word_case("Ä"), WordCase::Unicode);
    }

    proptest::proptest! {
        #[test]
        fn words_keep_and_lower_as_the_general_rule(
            text in "[a-zA-Z0-9 ，。！?ÄäİıΣσς\u{3400}-\u{3410}\u{4E00}-\u{4E80}\u{9FF0}-\u{9FFF}\u{3040}-\u{30FF}\u{1F600}-\u{1F610}]{0,40}|\\PC{0,40}"
        ) {
            proptest::prop_assert_eq!(analyzed(&text), words_the_general_way(&text));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn hits_give_back_their_kind_and_id(
            kind in 0u8..4,
            bytes in proptest::prelude::any::<[u8; 16]>(),
            text in "\\PC{0,40}",
        ) {
            let kind = Kind::from_tag(kind).unwrap();
            let uuid = uuid::Uuid::from_bytes(bytes).hyphenated().to_string();
            // A UUID as kith writes it, the same shouted (not kith's: kept as text), and
            // any other text.
            let ids: std::collections::HashSet<String> = [uuid.clone(), uuid.to_uppercase(), text].into();
            let ix = SearchIndex::in_memory().unwrap();
            let docs: Vec<Doc> = ids.iter().map(|id| Doc::new(kind, id, "白酒")).collect();
            ix.upsert(&docs).unwrap();
            ix.commit(None).unwrap();
            let found: std::collections::HashSet<String> = ix
                .search(&query_terms("白酒"), &Filter::All, 10)
                .unwrap()
                .hits
                .into_iter()
                .map(|h| {
                    assert_eq!(h.kind, kind);
                    h.id
                })
                .collect();
            proptest::prop_assert_eq!(found, ids);
            // Kith's own ids take 18 bytes as a key.
            proptest::prop_assert_eq!(key(kind, &uuid).len(), 18);
        }
    }

    #[test]
    fn uuid_ids_are_found_replaced_and_removed() {
        let ix = SearchIndex::in_memory().unwrap();
        let a = "0190f5a2-6c1e-7d3b-9a4f-1b2c3d4e5f60";
        let b = "0190F5A2-6C1E-7D3B-9A4F-1B2C3D4E5F61";
        ix.upsert(&[
            post(a, "u", "public", "白酒"),
            post(b, "u", "public", "白酒"),
        ])
        .unwrap();
        ix.upsert(&[post(a, "u", "public", "白酒 啤酒")]).unwrap();
        ix.commit(None).unwrap();
        let mut ids: Vec<String> = ix
            .search(&query_terms("白酒"), &Filter::All, 5)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect();
        ids.sort();
        assert_eq!(ids, [b, a]);
        ix.remove(Kind::Post, a).unwrap();
        ix.remove(Kind::Person, b).unwrap();
        ix.commit(None).unwrap();
        let left = ix.search(&query_terms("白酒"), &Filter::All, 5).unwrap();
        assert_eq!(left.total, 1);
        assert_eq!(
            (left.hits[0].kind, left.hits[0].id.as_str()),
            (Kind::Post, b)
        );
    }

    #[test]
    fn upserts_in_many_batches_keep_the_last_version() {
        let ix = SearchIndex::in_memory().unwrap();
        let docs: Vec<Doc> = (0..3 * BATCH_OPS)
            .map(|i| {
                post(
                    &format!("p{}", i % 100),
                    "a",
                    "public",
                    &format!("白酒 第{i}版"),
                )
            })
            .collect();
        ix.upsert(&docs).unwrap();
        ix.commit(None).unwrap();
        assert_eq!(ix.num_docs(), 100);
        let last = ix.search(&query_terms("白酒"), &Filter::All, 200).unwrap();
        assert_eq!(last.total, 100);
        // p67's versions are 67, 167, … 767 (the last, in the third batch); only the last
        // is found.
        let found = |version: &str| {
            ix.search(&query_terms(version), &Filter::All, 5)
                .unwrap()
                .hits
                .into_iter()
                .map(|h| h.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(found("767"), ["p67"]);
        assert!(found("67").is_empty() && found("467").is_empty());
    }

    #[test]
    fn reopens_from_disk_with_its_cursor() {
        let dir = std::env::temp_dir().join(format!("kith-search-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let ix = SearchIndex::open(&dir).unwrap();
            assert_eq!(ix.cursor(), None);
            ix.upsert(&[post("p1", "a", "public", "白酒")]).unwrap();
            ix.commit(Some(41)).unwrap();
            ix.upsert(&[post("p1", "a", "public", "白酒 啤酒")])
                .unwrap();
            ix.commit(Some(42)).unwrap();
            assert_eq!(
                ix.search(&query_terms("白酒"), &Filter::All, 5)
                    .unwrap()
                    .total,
                1
            );
        }
        let ix = SearchIndex::open(&dir).unwrap();
        assert_eq!(ix.cursor(), Some(42));
        assert_eq!(
            ix.search(&query_terms("白酒"), &Filter::All, 5)
                .unwrap()
                .total,
            1
        );
        drop(ix);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_index_of_another_schema_is_emptied_for_a_rebuild() {
        let dir = std::env::temp_dir().join(format!("kith-search-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            // As an older kith wrote it: the key as text, with a cursor in its commit.
            let mut b = Schema::builder();
            let key = b.add_text_field("key", tantivy::schema::STRING | FAST);
            let index = Index::create_in_dir(&dir, b.build()).unwrap();
            let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            let mut d = TantivyDocument::default();
            d.add_text(key, "post:p1");
            w.add_document(d).unwrap();
            let mut prepared = w.prepare_commit().unwrap();
            prepared.set_payload("42");
            prepared.commit().unwrap();
        }
        let ix = SearchIndex::open(&dir).unwrap();
        assert_eq!(ix.cursor(), None, "no cursor: the caller rebuilds");
        assert_eq!(ix.num_docs(), 0);
        ix.upsert(&[post("p2", "a", "public", "白酒")]).unwrap();
        ix.commit(Some(1)).unwrap();
        let found = ix.search(&query_terms("白酒"), &Filter::All, 5).unwrap();
        assert_eq!(found.hits[0].id, "p2");
        drop(ix);
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest::proptest! {
        #[test]
        fn any_query_text_is_safe(s in "\\PC{0,200}") {
            let ix = SearchIndex::in_memory().unwrap();
            ix.upsert(&[post("p1", "a", "public", "减肥 AND OR NOT title:x \"(\" *")]).unwrap();
            ix.commit(None).unwrap();
            let terms = query_terms(&s);
            proptest::prop_assert!(terms.len() <= MAX_QUERY_TERMS);
            let hits = ix.search(&terms, &Filter::All, 10).unwrap();
            proptest::prop_assert!(hits.hits.len() <= 1);
            let _ = highlights(&s, &terms);
        }
    }
}

pub mod rank;
