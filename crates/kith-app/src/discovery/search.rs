//! Search: posts, products, communities and people, scoped to the searcher's circle and
//! ranked by text relevance and social closeness.
//!
//! **The index.** Each server keeps its own tantivy index (`<data dir>/search`, see
//! `kith-search`), fed by [`run_indexer`]: it reads the outbox after its own cursor (kept
//! in the index's commit, so index and cursor never disagree), reloads each touched post,
//! product, community or person from storage and writes it, then commits. It is not a job
//! in the shared queue: with several servers on one PostgreSQL each feeds its own index
//! the same way. An index without a cursor (new, or of an older schema) is rebuilt from
//! storage first; `kith reindex` does the same offline.
//!
//! **Privacy.** The searcher's circle (friends, follows, communities, blocks) is read in
//! the same transaction as the query and turned into a [`Filter`] that mirrors
//! [`crate::social::visibility::post_visible`] inside the index, so nothing invisible is scored or
//! counted; then every candidate is checked again with the one SQL rule, and only posts
//! that pass are counted, ranked, highlighted and returned. The index may lag storage by
//! a moment (a post just hidden), the SQL check never does.
//!
//! **Ranking** (posts): `bm25 × closeness × recency × engagement`, see
//! [`kith_search::rank`]. Products: `bm25 × (1 + ½·friends who bought it)`. Communities:
//! `bm25 × (1 + ½·friends who are members)`. People: `bm25 × closeness`. Results are
//! the best [`CANDIDATES`] matches, ranked, paged by offset.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kith_domain::Fen;
use kith_search::rank::{Closeness, score};
use kith_search::{Doc, Filter, Kind, On, SearchIndex};
use kith_store::{Conn, StoreError};
use serde::Serialize;

use super::store::in_list;
use super::store::search::{
    circle_rows, closeness_among, co_members, community_hits, load_docs, outbox_after,
    outbox_high_water, person_hits, product_hits, sub_community_ids, visible_post_facts,
};
use crate::platform::ids::{AccountId, CommunityId, MerchantId, ProductId};
use crate::platform::page::{NIL_ID, PageRequest, encode_cursor};
use crate::social::posts::{PersonRef, Post, query_posts};
use crate::{App, AppError, AppResult, Principal};

/// How many best text matches are ranked, counted and paged through.
pub const CANDIDATES: usize = 300;
/// Up to this many candidates are loaded whole in one statement and ranked from it.
const WHOLE_CANDIDATES: usize = 64;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// How often an idle indexer looks at the outbox.
const POLL: Duration = Duration::from_millis(100);
/// Outbox events applied per commit.
const BATCH: i64 = 1000;
/// A hole in the outbox ids (a PostgreSQL transaction that took an id and has not
/// committed yet) is waited for this long before the cursor moves past it.
const GAP_WAIT: Duration = Duration::from_secs(10);

/// The server's search index, attached once at start-up. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SearchHandle(Arc<OnceLock<Arc<SearchIndex>>>);

impl SearchHandle {
    pub fn get(&self) -> AppResult<Arc<SearchIndex>> {
        self.0.get().cloned().ok_or_else(|| {
            AppError::Store(StoreError::Unavailable(
                "the search index is not open on this server".into(),
            ))
        })
    }
}

fn index_err(e: kith_search::SearchError) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    /// Attaches this server's search index (once; later calls change nothing).
    pub fn attach_search_index(&self, index: Arc<SearchIndex>) {
        let _ = self.search.0.set(index);
    }
}

// ---------------------------------------------------------------------------------------
// The searcher's circle

/// Who the viewer is close to, read in one transaction.
#[derive(Debug, Default, Clone)]
pub(crate) struct Circle {
    pub me: Option<String>,
    pub friends: HashSet<String>,
    pub followees: HashSet<String>,
    pub communities: HashSet<String>,
    /// Active members of the viewer's communities (not the viewer).
    pub co_members: HashSet<String>,
    /// Friends of friends who are not friends (nor the viewer).
    pub fof: HashSet<String>,
    /// Blocked by or blocking the viewer.
    pub blocked: HashSet<String>,
}

impl Circle {
    /// The viewer's friends, follows, communities and blocks, in one query. Fellow
    /// members and friends of friends are learnt on demand ([`Self::learn_closeness`],
    /// [`Self::load_co_members`]).
    pub(crate) fn load(c: &mut dyn Conn, me: Option<&str>) -> AppResult<Self> {
        let Some(me) = me else {
            return Ok(Self::default());
        };
        let mut circle = Self {
            me: Some(me.to_owned()),
            ..Self::default()
        };
        for (kind, id) in circle_rows(c, me)? {
            match kind.as_str() {
                "f" => circle.friends.insert(id),
                "o" => circle.followees.insert(id),
                "c" => circle.communities.insert(id),
                _ => circle.blocked.insert(id),
            };
        }
        Ok(circle)
    }

    /// Every active member of the viewer's communities (the `communities` scope).
    pub(crate) fn load_co_members(&mut self, c: &mut dyn Conn) -> AppResult<()> {
        let Some(me) = self.me.clone() else {
            return Ok(());
        };
        let mut all = co_members(c, &me)?;
        all.remove(&me);
        self.co_members.extend(all);
        Ok(())
    }

    /// Learns which of `who` (not the viewer, not friends) share a community with the
    /// viewer or are friends of friends, so [`Self::closeness`] can tell.
    pub(crate) fn learn_closeness<'a>(
        &mut self,
        c: &mut dyn Conn,
        who: impl IntoIterator<Item = &'a str>,
    ) -> AppResult<()> {
        let Some(me) = self.me.clone() else {
            return Ok(());
        };
        let mut unknown: Vec<String> = who
            .into_iter()
            .filter(|w| *w != me && !self.friends.contains(*w))
            .map(str::to_owned)
            .collect();
        unknown.sort();
        unknown.dedup();
        for chunk in unknown.chunks(500) {
            let (co, fof) = closeness_among(c, &me, chunk)?;
            self.co_members.extend(co);
            self.fof.extend(fof);
        }
        Ok(())
    }

    /// How close `who` is: the viewer themself counts as a friend.
    pub(crate) fn closeness(&self, who: &str) -> Closeness {
        if self.me.as_deref() == Some(who) || self.friends.contains(who) {
            Closeness::Friend
        } else if self.co_members.contains(who) {
            Closeness::Community
        } else if self.fof.contains(who) {
            Closeness::FriendOfFriend
        } else {
            Closeness::Other
        }
    }

    /// The visibility rule of [`crate::social::visibility::post_visible`], as an index filter
    /// (deleted posts are not in the index).
    fn visible_posts(&self) -> Filter {
        let mut allowed = vec![Filter::is(On::Visibility, "public")];
        allowed.push(Filter::And(vec![
            Filter::is(On::Visibility, "followers"),
            Filter::any_of(On::Author, self.followees.iter().cloned()),
        ]));
        allowed.push(Filter::And(vec![
            Filter::is(On::Visibility, "friends"),
            Filter::any_of(On::Author, self.friends.iter().cloned()),
        ]));
        allowed.push(Filter::And(vec![
            Filter::is(On::Visibility, "community"),
            Filter::any_of(On::Community, self.communities.iter().cloned()),
        ]));
        let others = Filter::And(vec![Filter::is(On::Hidden, "0"), Filter::Or(allowed)]);
        let seen = match &self.me {
            Some(me) => Filter::Or(vec![Filter::is(On::Author, me.clone()), others]),
            None => others,
        };
        Filter::And(vec![
            Filter::kind(Kind::Post),
            seen,
            Filter::negate(Filter::any_of(On::Author, self.blocked.iter().cloned())),
        ])
    }

    /// The posts by `authors` the viewer may see: [`Self::visible_posts`] worked out for a
    /// known, bounded set of authors (the viewer's friends or follows), so the index starts
    /// from those authors' posts — a per-viewer set of documents — and only takes out the
    /// few the rule refuses, instead of uniting every public post with the rest first.
    fn posts_by(&self, authors: &HashSet<String>) -> Filter {
        let me = self.me.as_deref();
        let allowed: Vec<&String> = authors
            .iter()
            .filter(|a| !self.blocked.contains(*a))
            .collect();
        // Of the allowed authors (not the viewer), those not in `set`.
        let outside = |set: &HashSet<String>| -> Vec<String> {
            allowed
                .iter()
                .filter(|a| Some(a.as_str()) != me && !set.contains(**a))
                .map(|a| (*a).clone())
                .collect()
        };
        let not_mine = |f: Filter| match me {
            Some(me) => Filter::And(vec![f, Filter::negate(Filter::is(On::Author, me))]),
            None => f,
        };
        let mut f = vec![
            Filter::kind(Kind::Post),
            Filter::any_of(On::Author, allowed.iter().map(|a| (*a).clone())),
            // Hidden by a moderator: only its author still sees it.
            Filter::negate(not_mine(Filter::is(On::Hidden, "1"))),
            // A community's posts: its active members (and the author).
            Filter::negate(not_mine(Filter::And(vec![
                Filter::is(On::Visibility, "community"),
                Filter::negate(Filter::any_of(
                    On::Community,
                    self.communities.iter().cloned(),
                )),
            ]))),
        ];
        for (visibility, set) in [("followers", &self.followees), ("friends", &self.friends)] {
            let refused = outside(set);
            if !refused.is_empty() {
                f.push(Filter::negate(Filter::And(vec![
                    Filter::is(On::Visibility, visibility),
                    Filter::any_of(On::Author, refused),
                ])));
            }
        }
        Filter::And(f)
    }

    fn scoped_posts(&self, scope: Scope) -> Filter {
        let scope = match scope {
            Scope::Everyone => return self.visible_posts(),
            Scope::Friends => return self.posts_by(&self.friends),
            Scope::Following => return self.posts_by(&self.followees),
            Scope::Communities => Filter::Or(vec![
                Filter::any_of(On::Community, self.communities.iter().cloned()),
                Filter::any_of(On::Author, self.co_members.iter().cloned()),
            ]),
        };
        Filter::And(vec![self.visible_posts(), scope])
    }

    fn scoped_people(&self, scope: Scope) -> Filter {
        let mut f = vec![
            Filter::kind(Kind::Person),
            Filter::negate(Filter::any_of(On::Author, self.blocked.iter().cloned())),
        ];
        match scope {
            Scope::Everyone => {}
            Scope::Friends => f.push(Filter::any_of(On::Author, self.friends.iter().cloned())),
            Scope::Following => f.push(Filter::any_of(On::Author, self.followees.iter().cloned())),
            Scope::Communities => {
                f.push(Filter::any_of(On::Author, self.co_members.iter().cloned()))
            }
        }
        Filter::And(f)
    }
}

// ---------------------------------------------------------------------------------------
// Requests and answers

/// Whose things are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Friends,
    Following,
    Communities,
    Everyone,
}

impl Scope {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        Ok(match s.unwrap_or("everyone") {
            "friends" => Scope::Friends,
            "following" => Scope::Following,
            "communities" | "my_communities" => Scope::Communities,
            "everyone" => Scope::Everyone,
            _ => {
                return Err(AppError::invalid(
                    "scope",
                    "must be one of friends, following, communities, everyone",
                ));
            }
        })
    }
}

/// What is searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Posts,
    Products,
    Communities,
    People,
}

impl Target {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        Ok(match s.unwrap_or("posts") {
            "posts" => Target::Posts,
            "products" => Target::Products,
            "communities" => Target::Communities,
            "people" => Target::People,
            _ => {
                return Err(AppError::invalid(
                    "type",
                    "must be one of posts, products, communities, people",
                ));
            }
        })
    }
}

/// A validated search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub q: String,
    pub scope: Scope,
    pub target: Target,
    pub page: PageRequest,
}

impl SearchQuery {
    pub fn parse(
        q: Option<&str>,
        scope: Option<&str>,
        target: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Self> {
        let q = q.unwrap_or("").trim();
        if q.is_empty() {
            return Err(AppError::invalid("q", "must not be empty"));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Ok(Self {
            q: q.to_owned(),
            scope: Scope::parse(scope)?,
            target: Target::parse(target)?,
            page,
        })
    }

    fn offset(&self) -> usize {
        match &self.page.after {
            Some((n, _)) => usize::try_from(*n).unwrap_or(0).min(CANDIDATES),
            None => 0,
        }
    }
}

/// A product that matched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductHit {
    pub id: ProductId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub description: String,
    /// Lowest list price of its SKUs.
    #[schema(value_type = Option<i64>)]
    pub min_price_fen: Option<Fen>,
    /// How many of the searcher's friends bought it: the count social proof gives (see
    /// [`friend_purchases_of_1`]).
    pub friends_bought: i64,
    /// Its main picture (the first of its gallery): a media id or an image URL.
    pub image: Option<String>,
}

/// A community that matched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommunityHit {
    pub id: CommunityId,
    pub name: String,
    pub description: String,
    pub join_policy: String,
    pub member_count: i64,
    /// How many of the searcher's friends are members.
    pub friends_in_it: i64,
}

/// A person who matched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonHit {
    pub id: AccountId,
    pub display_name: String,
    /// Friends the searcher and this person have in common.
    pub mutual_friends: i64,
}

/// One result: exactly one of `post`, `product`, `community`, `person` is present.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchItem {
    /// `post`, `product`, `community` or `person`.
    pub kind: String,
    /// The ranking score (see the ranking section of the API description).
    pub score: f64,
    /// How close the author (or person) is to the searcher: `friend`, `community`,
    /// `friend_of_friend`, `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closeness: Option<String>,
    /// Character ranges `[start, end)` of matched words in the post's body, the product's
    /// name, the community's name or the person's name.
    pub highlights: Vec<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<Post>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<CommunityHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonHit>,
}

impl SearchItem {
    fn new(kind: Kind, score: f64, closeness: Option<Closeness>, hl: Vec<(usize, usize)>) -> Self {
        Self {
            kind: kind.as_str().to_owned(),
            score,
            closeness: closeness.map(|c| c.as_str().to_owned()),
            highlights: hl.into_iter().map(|(a, b)| [a, b]).collect(),
            post: None,
            product: None,
            community: None,
            person: None,
        }
    }
}

/// A page of results and how many matched (among the best [`CANDIDATES`] text matches,
/// after the visibility check: nothing invisible is counted).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: i64,
    pub items: Vec<SearchItem>,
    pub next_cursor: Option<String>,
}

/// One person in the "who" view: a friend (or other) who wrote about the query.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhoEntry {
    pub person: PersonRef,
    pub closeness: String,
    /// Their matching posts the searcher may see.
    pub matching_posts: i64,
    /// Their latest matching post.
    pub latest: Post,
    /// Matched words in `latest.body`.
    pub highlights: Vec<[usize; 2]>,
}

/// People who wrote about the query, closest first, then by their latest matching post.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhoResults {
    pub people: Vec<WhoEntry>,
}

/// A post that passed the SQL visibility check, with what ranking needs.
struct Candidate {
    id: String,
    author: String,
    created_ms: i64,
    score: f64,
}

/// The candidates among `hits` the viewer may see (the one SQL rule), scored — after
/// learning how close their authors are.
fn visible_candidates(
    c: &mut dyn Conn,
    viewer: &str,
    circle: &mut Circle,
    hits: &[kith_search::Hit],
    now_ms: i64,
) -> AppResult<Vec<Candidate>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let bm25: HashMap<&str, f32> = hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
    let facts = visible_post_facts(c, viewer, hits)?;
    circle.learn_closeness(c, facts.iter().map(|f| f.1.as_str()))?;
    let mut out = Vec::new();
    for (id, author, created_ms, i) in facts {
        let s = score(
            bm25.get(id.as_str()).copied().unwrap_or(0.0),
            circle.closeness(&author),
            now_ms - created_ms,
            i,
        );
        out.push(Candidate {
            id,
            author,
            created_ms,
            score: s,
        });
    }
    Ok(out)
}

/// Posts by id, in the given order, re-checked by the visibility rule.
pub(crate) fn posts_in_order(
    c: &mut dyn Conn,
    viewer: &str,
    ids: &[String],
) -> AppResult<Vec<Post>> {
    let mut by_id: HashMap<String, Post> = visible_posts_with_ms(c, viewer, ids)?
        .into_iter()
        .map(|(_, p)| (p.id.to_string(), p))
        .collect();
    Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
}

/// Of the posts `ids`, those the viewer may see (the visibility rule, in the statement),
/// whole, each with its creation time in ms; in no particular order.
fn visible_posts_with_ms(
    c: &mut dyn Conn,
    viewer: &str,
    ids: &[String],
) -> AppResult<Vec<(i64, Post)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (list, params) = in_list(2, ids.iter().map(String::as_str));
    query_posts(c, viewer, &format!("p.id IN ({list})"), params, "")
}

/// Scored product or community hits ranked (best first, ties by id), the requested page
/// taken, each made a result item of `kind` with `name(hit)` highlighted and the hit
/// attached by `attach`. (People carry their closeness too and page themselves.)
fn ranked_results<T: HasId>(
    mut found: Vec<(f64, T)>,
    q: &SearchQuery,
    terms: &[String],
    kind: Kind,
    name: impl Fn(&T) -> &str,
    attach: impl Fn(&mut SearchItem, T),
) -> SearchResults {
    by_score_then_id(&mut found, |(s, h)| (*s, h.id()));
    let (total, page, next_cursor) = page_of(found, q);
    let items = page
        .into_iter()
        .map(|(s, h)| {
            let mut item = SearchItem::new(kind, s, None, kith_search::highlights(name(&h), terms));
            attach(&mut item, h);
            item
        })
        .collect();
    SearchResults {
        total,
        items,
        next_cursor,
    }
}

/// A hit's id, for ranking ties.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for ProductHit {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for CommunityHit {
    fn id(&self) -> &str {
        &self.id
    }
}

fn page_of<T>(mut ranked: Vec<T>, q: &SearchQuery) -> (i64, Vec<T>, Option<String>) {
    let total = ranked.len() as i64;
    let offset = q.offset().min(ranked.len());
    let end = (offset + q.page.limit as usize).min(ranked.len());
    let next = (end < ranked.len()).then(|| encode_cursor(end as i64, ""));
    let page: Vec<T> = ranked.drain(offset..end).collect();
    (total, page, next)
}

fn by_score_then_id<T>(v: &mut [T], key: impl Fn(&T) -> (f64, &str)) {
    v.sort_by(|a, b| {
        let (sa, ia) = key(a);
        let (sb, ib) = key(b);
        sb.total_cmp(&sa).then_with(|| ia.cmp(ib))
    });
}

impl App {
    /// Searches posts, products, communities or people (see the module docs).
    pub async fn search(
        &self,
        who: Option<&Principal>,
        q: SearchQuery,
    ) -> AppResult<SearchResults> {
        let me = who.map(|p| p.account_id.clone());
        if me.is_none() && q.scope != Scope::Everyone {
            return Err(AppError::Unauthenticated(
                "log in to search your friends, follows or communities".into(),
            ));
        }
        let index = self.search.get()?;
        let now = self.now_ms();
        let terms = kith_search::query_terms(&q.q);
        self.db
            .read(move |c| {
                let mut circle = Circle::load(c, me.as_deref())?;
                if q.scope == Scope::Communities {
                    circle.load_co_members(c)?;
                }
                let viewer = me.as_deref().unwrap_or(NIL_ID);
                match q.target {
                    Target::Posts => search_posts(c, &index, &mut circle, viewer, &terms, &q, now),
                    Target::Products => search_products(c, &index, viewer, &terms, &q),
                    Target::Communities => search_communities(c, &index, viewer, &terms, &q),
                    Target::People => search_people(c, &index, &mut circle, viewer, &terms, &q),
                }
            })
            .await
    }

    /// The "who" view: people in `scope` (friends by default) who wrote posts matching
    /// `q` that the searcher may see, each with their latest matching post.
    pub async fn search_who(
        &self,
        who: &Principal,
        q: SearchQuery,
        limit: usize,
    ) -> AppResult<WhoResults> {
        let me = who.account_id.clone();
        let index = self.search.get()?;
        let now = self.now_ms();
        let terms = kith_search::query_terms(&q.q);
        self.db
            .read(move |c| {
                let mut circle = Circle::load(c, Some(&me))?;
                if q.scope == Scope::Communities {
                    circle.load_co_members(c)?;
                }
                let hits = index
                    .search(&terms, &circle.scoped_posts(q.scope), CANDIDATES)
                    .map_err(index_err)?;
                let cands = visible_candidates(c, &me, &mut circle, &hits.hits, now)?;
                // author → (matching posts, latest post id, its time)
                let mut groups: HashMap<String, (i64, String, i64)> = HashMap::new();
                for cand in &cands {
                    let g = groups.entry(cand.author.clone()).or_insert((
                        0,
                        cand.id.clone(),
                        cand.created_ms,
                    ));
                    g.0 += 1;
                    if (cand.created_ms, &cand.id) > (g.2, &g.1) {
                        g.1 = cand.id.clone();
                        g.2 = cand.created_ms;
                    }
                }
                let mut order: Vec<(String, i64, String, i64)> = groups
                    .into_iter()
                    .map(|(a, (n, id, t))| (a, n, id, t))
                    .collect();
                order.sort_by(|a, b| {
                    circle
                        .closeness(&b.0)
                        .cmp(&circle.closeness(&a.0))
                        .then(b.3.cmp(&a.3))
                        .then(a.0.cmp(&b.0))
                });
                order.truncate(limit);
                let latest_ids: Vec<String> = order.iter().map(|o| o.2.clone()).collect();
                let posts = posts_in_order(c, &me, &latest_ids)?;
                let mut by_id: HashMap<String, Post> =
                    posts.into_iter().map(|p| (p.id.to_string(), p)).collect();
                let people = order
                    .into_iter()
                    .filter_map(|(author, n, id, _)| {
                        let post = by_id.remove(&id)?;
                        Some(WhoEntry {
                            person: post.author.clone(),
                            closeness: circle.closeness(&author).as_str().to_owned(),
                            matching_posts: n,
                            highlights: kith_search::highlights(&post.body, &terms)
                                .into_iter()
                                .map(|(a, b)| [a, b])
                                .collect(),
                            latest: post,
                        })
                    })
                    .collect();
                Ok(WhoResults { people })
            })
            .await
    }
}

fn search_posts(
    c: &mut dyn Conn,
    index: &SearchIndex,
    circle: &mut Circle,
    viewer: &str,
    terms: &[String],
    q: &SearchQuery,
    now: i64,
) -> AppResult<SearchResults> {
    let hits = index
        .search(terms, &circle.scoped_posts(q.scope), CANDIDATES)
        .map_err(index_err)?;
    // Few candidates (the usual friends-scoped search): load them whole at once — the
    // visibility rule applied in the same statement — and rank from the loaded rows,
    // instead of a statement for the ranking facts and another for the page.
    let mut loaded: Option<HashMap<String, Post>> = None;
    let mut cands = if hits.hits.len() <= WHOLE_CANDIDATES {
        let ids: Vec<String> = hits.hits.iter().map(|h| h.id.clone()).collect();
        let bm25: HashMap<&str, f32> = hits.hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
        let mut cands = Vec::new();
        let mut posts = HashMap::new();
        let whole = visible_posts_with_ms(c, viewer, &ids)?;
        circle.learn_closeness(c, whole.iter().map(|(_, p)| p.author.id.as_str()))?;
        for (created_ms, p) in whole {
            let i = kith_search::rank::Interactions {
                likes: p.like_count,
                comments: p.comment_count,
                shares: p.share_count,
            };
            cands.push(Candidate {
                id: p.id.to_string(),
                author: p.author.id.to_string(),
                created_ms,
                score: score(
                    bm25.get(p.id.as_str()).copied().unwrap_or(0.0),
                    circle.closeness(&p.author.id),
                    now - created_ms,
                    i,
                ),
            });
            posts.insert(p.id.to_string(), p);
        }
        loaded = Some(posts);
        cands
    } else {
        visible_candidates(c, viewer, circle, &hits.hits, now)?
    };
    let circle = &*circle;
    by_score_then_id(&mut cands, |c| (c.score, c.id.as_str()));
    let (total, page, next_cursor) = page_of(cands, q);
    let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
    let scores: HashMap<&str, f64> = page.iter().map(|c| (c.id.as_str(), c.score)).collect();
    let posts = match loaded {
        Some(mut by_id) => ids.iter().filter_map(|i| by_id.remove(i)).collect(),
        None => posts_in_order(c, viewer, &ids)?,
    };
    let items = posts
        .into_iter()
        .map(|p| {
            let mut item = SearchItem::new(
                Kind::Post,
                scores.get(p.id.as_str()).copied().unwrap_or(0.0),
                Some(circle.closeness(&p.author.id)),
                kith_search::highlights(&p.body, terms),
            );
            item.post = Some(p);
            item
        })
        .collect();
    Ok(SearchResults {
        total,
        items,
        next_cursor,
    })
}

fn search_products(
    c: &mut dyn Conn,
    index: &SearchIndex,
    viewer: &str,
    terms: &[String],
    q: &SearchQuery,
) -> AppResult<SearchResults> {
    let filter = Filter::And(vec![
        Filter::kind(Kind::Product),
        Filter::is(On::Hidden, "0"),
    ]);
    let hits = index
        .search(terms, &filter, CANDIDATES)
        .map_err(index_err)?;
    if hits.hits.is_empty() {
        return Ok(SearchResults {
            total: 0,
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let bm25: HashMap<&str, f32> = hits.hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
    let mut found = Vec::new();
    for hit in product_hits(c, viewer, &hits.hits)? {
        let s = f64::from(bm25.get(hit.id.as_str()).copied().unwrap_or(0.0))
            * (1.0 + 0.5 * hit.friends_bought as f64);
        found.push((s, hit));
    }
    Ok(ranked_results(
        found,
        q,
        terms,
        Kind::Product,
        |h| &h.name,
        |item, h| item.product = Some(h),
    ))
}

fn search_communities(
    c: &mut dyn Conn,
    index: &SearchIndex,
    viewer: &str,
    terms: &[String],
    q: &SearchQuery,
) -> AppResult<SearchResults> {
    let hits = index
        .search(terms, &Filter::kind(Kind::Community), CANDIDATES)
        .map_err(index_err)?;
    if hits.hits.is_empty() {
        return Ok(SearchResults {
            total: 0,
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let bm25: HashMap<&str, f32> = hits.hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
    let mut found = Vec::new();
    for hit in community_hits(c, viewer, &hits.hits)? {
        let s = f64::from(bm25.get(hit.id.as_str()).copied().unwrap_or(0.0))
            * (1.0 + 0.5 * hit.friends_in_it as f64);
        found.push((s, hit));
    }
    Ok(ranked_results(
        found,
        q,
        terms,
        Kind::Community,
        |h| &h.name,
        |item, h| item.community = Some(h),
    ))
}

fn search_people(
    c: &mut dyn Conn,
    index: &SearchIndex,
    circle: &mut Circle,
    viewer: &str,
    terms: &[String],
    q: &SearchQuery,
) -> AppResult<SearchResults> {
    let hits = index
        .search(terms, &circle.scoped_people(q.scope), CANDIDATES)
        .map_err(index_err)?;
    circle.learn_closeness(c, hits.hits.iter().map(|h| h.id.as_str()))?;
    let circle = &*circle;
    if hits.hits.is_empty() {
        return Ok(SearchResults {
            total: 0,
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let bm25: HashMap<&str, f32> = hits.hits.iter().map(|h| (h.id.as_str(), h.score)).collect();
    let mut found = Vec::new();
    for hit in person_hits(c, viewer, &hits.hits)? {
        let cl = circle.closeness(&hit.id);
        let s = f64::from(bm25.get(hit.id.as_str()).copied().unwrap_or(0.0)) * cl.weight();
        found.push((s, cl, hit));
    }
    by_score_then_id(&mut found, |(s, _, h)| (*s, h.id.as_str()));
    let (total, page, next_cursor) = page_of(found, q);
    let items = page
        .into_iter()
        .map(|(s, cl, h)| {
            let mut item = SearchItem::new(
                Kind::Person,
                s,
                Some(cl),
                kith_search::highlights(&h.display_name, terms),
            );
            item.person = Some(h);
            item
        })
        .collect();
    Ok(SearchResults {
        total,
        items,
        next_cursor,
    })
}

// ---------------------------------------------------------------------------------------
// Feeding the index

/// What one outbox event asks the index to refresh.
fn touched(topic: &str, aggregate: &str) -> Option<(Kind, String)> {
    let (area, _) = topic.split_once('.')?;
    let kind = match (area, topic) {
        ("post", "post.liked" | "post.unliked" | "post.shared") => return None,
        ("post", _) => Kind::Post,
        ("product", _) => Kind::Product,
        ("community", "community.created" | "community.updated" | "community.split") => {
            Kind::Community
        }
        ("account", _) => Kind::Person,
        _ => return None,
    };
    Some((kind, aggregate.to_owned()))
}

/// Documents to write, and (kind, id) of those to remove.
type Refreshed = (Vec<Doc>, Vec<(Kind, String)>);

/// Reloads the given things from storage.
fn refresh(c: &mut dyn Conn, wanted: &[(Kind, String)]) -> AppResult<Refreshed> {
    let mut docs = Vec::new();
    let mut gone = Vec::new();
    for kind in [Kind::Post, Kind::Product, Kind::Community, Kind::Person] {
        let mut ids: Vec<String> = wanted
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, i)| i.clone())
            .collect();
        if kind == Kind::Community && !ids.is_empty() {
            // A split creates sub-communities under the aggregate.
            let subs = sub_community_ids(c, &ids)?;
            ids.extend(subs);
        }
        ids.sort();
        ids.dedup();
        // Aggregate ids that are not UUIDs cannot be rows (and PostgreSQL would refuse them).
        ids.retain(|i| crate::platform::ids::parse_id(i).is_some());
        for chunk in ids.chunks(500) {
            let found = load_docs(c, kind, Some(chunk), "", 0)?;
            let present: HashSet<&str> = found.iter().map(|d| d.id.as_str()).collect();
            gone.extend(
                chunk
                    .iter()
                    .filter(|i| !present.contains(i.as_str()))
                    .map(|i| (kind, i.clone())),
            );
            docs.extend(found);
        }
    }
    Ok((docs, gone))
}

/// Rebuilds `index` from storage: every post, product, community and person, with the
/// cursor set to the outbox as it was when the rebuild began (later events are applied
/// again by the indexer, which is harmless). Returns the number of documents.
pub async fn rebuild(app: &App, index: Arc<SearchIndex>) -> AppResult<u64> {
    let cursor = app.db.read(outbox_high_water).await?;
    {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.clear())
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(index_err)?;
    }
    let mut n = 0u64;
    for kind in [Kind::Person, Kind::Community, Kind::Product, Kind::Post] {
        let mut after = NIL_ID.to_owned();
        loop {
            let a = after.clone();
            let docs = app
                .db
                .read(move |c| load_docs(c, kind, None, &a, 2000))
                .await?;
            let Some(last) = docs.last() else { break };
            after = last.id.clone();
            n += docs.len() as u64;
            let index = index.clone();
            tokio::task::spawn_blocking(move || index.add(&docs))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .map_err(index_err)?;
        }
    }
    tokio::task::spawn_blocking(move || index.commit(Some(cursor)))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(index_err)?;
    Ok(n)
}

/// The indexer's memory between polls: events past the durable cursor already applied
/// (waiting for a hole below them to fill), and since when the oldest hole is open.
#[derive(Debug, Default)]
pub struct IndexerState {
    applied: HashSet<i64>,
    gap_since: Option<std::time::Instant>,
}

/// Applies the outbox events after the index's cursor; returns how many were new.
pub async fn index_pending(
    app: &App,
    index: &Arc<SearchIndex>,
    state: &mut IndexerState,
) -> AppResult<usize> {
    let Some(cursor) = index.cursor() else {
        rebuild(app, index.clone()).await?;
        state.applied.clear();
        return Ok(1);
    };
    let events = app.db.read(move |c| outbox_after(c, cursor, BATCH)).await?;
    // The durable cursor moves only over consecutive ids, unless a hole stays open long
    // enough that its transaction must have rolled back.
    let mut next = cursor;
    let mut hole = false;
    for (id, _, _) in &events {
        if *id == next + 1 {
            next = *id;
        } else if state.gap_expired() {
            state.gap_since = None;
            next = *id;
        } else {
            hole = true;
            break;
        }
    }
    if hole {
        state.gap_since.get_or_insert_with(std::time::Instant::now);
    } else {
        state.gap_since = None;
    }
    let fresh: Vec<(i64, String, String)> = events
        .into_iter()
        .filter(|(id, _, _)| !state.applied.contains(id))
        .collect();
    if fresh.is_empty() && next == cursor {
        return Ok(0);
    }
    let wanted: Vec<(Kind, String)> = fresh.iter().filter_map(|(_, t, a)| touched(t, a)).collect();
    let (docs, gone) = if wanted.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        app.db.read(move |c| refresh(c, &wanted)).await?
    };
    let ix = index.clone();
    tokio::task::spawn_blocking(move || {
        ix.upsert(&docs)?;
        for (k, i) in &gone {
            ix.remove(*k, i)?;
        }
        ix.commit(Some(next))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(index_err)?;
    state.applied.extend(fresh.iter().map(|(id, _, _)| *id));
    state.applied.retain(|id| *id > next);
    Ok(fresh.len())
}

impl IndexerState {
    fn gap_expired(&self) -> bool {
        self.gap_since.is_some_and(|t| t.elapsed() >= GAP_WAIT)
    }
}

/// Keeps this server's index current until `stop` turns true: polls the outbox every
/// 100 ms when idle. Errors are logged and retried.
pub async fn run_indexer(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Ok(index) = app.search.get() else {
        return;
    };
    let mut state = IndexerState::default();
    loop {
        if *stop.borrow() {
            return;
        }
        let idle = match index_pending(&app, &index, &mut state).await {
            Ok(n) => n == 0,
            Err(e) => {
                tracing::warn!(error = %e, "search indexing failed; retrying");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Opens (or creates) a search index directory, e.g. `<data dir>/search`. Only one
/// process may write an index: a second gets an error naming the lock.
pub fn open_index(dir: &std::path::Path) -> AppResult<Arc<SearchIndex>> {
    SearchIndex::open(dir)
        .map(Arc::new)
        .map_err(|e| AppError::Internal(format!("open {}: {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any query string, scope and type either parse or name the offending field;
        /// nothing panics, and parsed queries segment into at most 32 words.
        #[test]
        fn any_search_input_parses_or_names_its_field(
            q in proptest::option::of("\\PC{0,300}"),
            scope in proptest::option::of("[a-z_]{0,12}"),
            target in proptest::option::of("[a-z_]{0,12}"),
        ) {
            match SearchQuery::parse(q.as_deref(), scope.as_deref(), target.as_deref(), PageRequest::first(20)) {
                Ok(parsed) => {
                    prop_assert!(!parsed.q.is_empty());
                    prop_assert!(parsed.q.chars().count() <= MAX_QUERY_CHARS);
                    prop_assert!(kith_search::query_terms(&parsed.q).len() <= kith_search::MAX_QUERY_TERMS);
                }
                Err(AppError::Invalid { field, .. }) => {
                    prop_assert!(["q", "scope", "type"].contains(&field.as_str()), "{field}");
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
        }
    }

    #[test]
    fn outbox_topics_map_to_documents() {
        assert_eq!(touched("post.created", "x"), Some((Kind::Post, "x".into())));
        assert_eq!(touched("post.liked", "x"), None);
        assert_eq!(
            touched("product.status_changed", "x"),
            Some((Kind::Product, "x".into()))
        );
        assert_eq!(
            touched("community.split", "x"),
            Some((Kind::Community, "x".into()))
        );
        assert_eq!(touched("community.joined", "x"), None);
        assert_eq!(
            touched("account.registered", "x"),
            Some((Kind::Person, "x".into()))
        );
        assert_eq!(touched("order.paid", "x"), None);
        assert_eq!(touched("nonsense", "x"), None);
    }
}
