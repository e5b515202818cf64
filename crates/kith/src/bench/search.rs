//! `kith bench search`: search on a synthetic Chinese social world, each figure against a
//! limit measured in the same run.
//!
//! The world (its own SQLite data in a temporary directory): `members` accounts, friend
//! pairs inside circles of 64 neighbouring members (each pair is two follow rows), and
//! `posts` posts by random authors (70 % public, 20 % friends-only, 10 % followers-only)
//! whose bodies are 8–30 words drawn from a Chinese vocabulary with some English and
//! digits mixed in, separated by Chinese punctuation. Rows are inserted directly (one
//! transaction per 5 000 rows); the generator is seeded, so a scale gives the same world.
//!
//! It measures:
//! 1. **indexing**: `search::rebuild` — read every post and person from storage, segment,
//!    write the on-disk index, commit — in documents per second, against **bare tantivy
//!    bulk indexing** of the same post bodies (one text field with the jieba tokenizer, in
//!    RAM, one commit): `ratio index_vs_bare_tantivy` = ours ÷ limit. Each side runs
//!    `ROUNDS` (3) times, taking turns, and its best round counts (as for segmentation).
//! 2. **friend-scoped query**: `App::search` with `scope=friends` (the searcher's circle
//!    read from storage, the visibility filter inside the index, the SQL re-check, ranking,
//!    loading the page of posts) for random searchers and words, p50 and p99, against the
//!    **same words on the bare index without any scoping** (top 20 by BM25):
//!    `ratio friend_query_p50_vs_bare_tantivy` and `…_p99_…` = limit time ÷ ours. The two
//!    sides take turns in [`STRETCHES`] stretches of the query plan, so a slow second of
//!    this machine falls on both.
//! 3. **segmentation**: kith's analyzer (jieba search mode + punctuation filter +
//!    lower-casing) over the corpus in characters per second, against calling jieba-rs
//!    directly (`Jieba::tokenize`, search mode, HMM): `ratio segmentation_vs_jieba`.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use kith_app::discovery::search::{Scope, SearchQuery, Target};
use kith_app::platform::page::PageRequest;
use kith_app::{App, AppConfig, AppError, Principal};
use kith_domain::{Clock, SystemClock};
use kith_search::jieba_rs;
use kith_search::tantivy::collector::TopDocs;
use kith_search::tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use kith_search::tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use kith_search::tantivy::{Index, TantivyDocument, Term};
use kith_store::{Db, DbConfig, SqliteSync, Value};

use super::{Scale, TempDir};

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// small: 5 000 members / 50 000 follows / 50 000 posts; reference (docs/PRODUCT.md §7):
    /// 100 000 / 1 000 000 / 500 000; large: 1 000 000 / 10 000 000 / 5 000 000.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Friend-scoped queries timed (each side).
    #[arg(long)]
    pub queries: Option<usize>,
}

/// Bulk indexing and segmentation are timed this many times a side, taking turns; each
/// side's best round counts.
const ROUNDS: usize = 3;

/// (members, follow rows, posts, queries)
fn sizes(scale: Scale) -> (usize, usize, usize, usize) {
    match scale {
        Scale::Tiny => (300, 3_000, 2_000, 50),
        Scale::Small => (5_000, 50_000, 50_000, 300),
        Scale::Reference => (100_000, 1_000_000, 500_000, 1_000),
        Scale::Large => (1_000_000, 10_000_000, 5_000_000, 1_000),
    }
}

const CIRCLE: usize = 64;
const BATCH: usize = 5_000;

pub(super) const WORDS: &[&str] = &[
    "减肥",
    "沙拉",
    "白酒",
    "宝宝",
    "辅食",
    "健身",
    "跑步",
    "早餐",
    "燕麦",
    "酸奶",
    "咖啡",
    "茶叶",
    "水果",
    "蔬菜",
    "食谱",
    "打卡",
    "体重",
    "瘦身",
    "蛋白",
    "牛奶",
    "面包",
    "米饭",
    "火锅",
    "烧烤",
    "旅行",
    "周末",
    "朋友",
    "推荐",
    "好用",
    "便宜",
    "质量",
    "快递",
    "包装",
    "味道",
    "口感",
    "回购",
    "种草",
    "拔草",
    "分享",
    "心得",
    "宝妈",
    "孩子",
    "学校",
    "老师",
    "考试",
    "护肤",
    "面膜",
    "口红",
    "防晒",
    "洗发水",
    "衣服",
    "鞋子",
    "酱香",
    "茅台",
    "窖藏",
    "品鉴",
    "社群",
    "团购",
    "拼团",
    "优惠",
    "价格",
    "今天",
    "明天",
    "昨天",
    "开始",
    "坚持",
    "效果",
    "不错",
    "一般",
    "喜欢",
    "真的",
    "非常",
    "特别",
    "感觉",
    "已经",
    "还是",
    "一起",
    "iPhone",
    "App",
    "VIP",
    "5kg",
    "30天",
    "100g",
    "2026",
    "KOL",
    "DIY",
];
const PUNCT: &[&str] = &["，", "。", "！", "？", "、", " "];

/// A seeded generator (SplitMix64).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn body(rng: &mut Rng) -> String {
    let n = 8 + rng.below(23);
    let mut s = String::new();
    for i in 0..n {
        s.push_str(WORDS[rng.below(WORDS.len())]);
        if i % 4 == 3 {
            s.push_str(PUNCT[rng.below(PUNCT.len())]);
        }
    }
    s.push('。');
    s
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Inserts rows in transactions of [`BATCH`].
pub(super) async fn insert_rows(
    db: &Db,
    sql: &'static str,
    rows: Vec<Vec<Value>>,
) -> anyhow::Result<()> {
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(BATCH));
        let chunk = std::mem::replace(&mut rows, rest);
        db.write(move |c| {
            for r in &chunk {
                c.execute(sql, r)?;
            }
            Ok::<_, AppError>(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("insert: {e}"))?;
    }
    Ok(())
}

/// The synthetic world both `kith bench search` and `kith bench feed` run on: its storage
/// (removed with it), the app over it, members' ids, friends by member index, post bodies.
pub(super) struct World {
    pub(super) app: App,
    pub(super) db: Db,
    pub(super) dir: std::path::PathBuf,
    pub(super) ids: Vec<String>,
    pub(super) friends: Vec<Vec<usize>>,
    /// Directed follow pairs (follower, followee) by member index.
    pub(super) follows: std::collections::HashSet<(usize, usize)>,
    pub(super) bodies: Vec<String>,
    pub(super) rng: Rng,
    pub(super) now: i64,
    pub(super) _temp: TempDir,
}

/// Makes the world: `members` accounts, friend pairs inside circles of [`CIRCLE`] making
/// `follows` follow rows, `posts` posts, one every `post_gap_ms` up to now.
pub(super) async fn world(
    name: &str,
    members: usize,
    follows: usize,
    posts: usize,
    post_gap_ms: i64,
) -> anyhow::Result<World> {
    let temp = TempDir::new(name)?;
    let dir = temp.0.clone();
    let db = Db::open(&DbConfig {
        database_url: None,
        data_dir: dir.clone(),
        sqlite_sync: SqliteSync::Normal,
        pool_size: 4,
    })
    .await
    .map_err(|e| anyhow::anyhow!("open storage: {e}"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    kith_store::migrate::run(&db, clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("migrate: {e}"))?;
    let config = AppConfig {
        checkouts_per_minute: 0,
        shares_per_minute: 0,
        ..AppConfig::default()
    };
    let app = App::new(db.clone(), clock.clone(), config);

    let t = Instant::now();
    let mut rng = Rng(0x6b69_7468);
    let now = clock.now_ms();
    let ids: Vec<String> = (0..members)
        .map(|_| kith_app::platform::ids::new_id())
        .collect();
    let rows = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            vec![
                Value::from(id),
                Value::from(format!("bench{i}@example.com")),
                Value::from("x"),
                Value::from(format!("{}{}", WORDS[i % WORDS.len()], i)),
                Value::from(now),
            ]
        })
        .collect();
    insert_rows(
        &db,
        "INSERT INTO accounts (id, email, password_hash, display_name, created_at) VALUES ($1, $2, $3, $4, $5)",
        rows,
    )
    .await?;
    let mut pairs = std::collections::HashSet::new();
    while pairs.len() * 2 < follows {
        let a = rng.below(members);
        let base = a - a % CIRCLE;
        let b = (base + rng.below(CIRCLE)).min(members - 1);
        if a != b {
            pairs.insert((a.min(b), a.max(b)));
        }
    }
    let mut friends: Vec<Vec<usize>> = vec![Vec::new(); members];
    let mut directed = std::collections::HashSet::with_capacity(pairs.len() * 2);
    let mut rows = Vec::with_capacity(pairs.len() * 2);
    for &(a, b) in &pairs {
        friends[a].push(b);
        friends[b].push(a);
        for (x, y) in [(a, b), (b, a)] {
            directed.insert((x, y));
            rows.push(vec![
                Value::from(&ids[x]),
                Value::from(&ids[y]),
                Value::from(now),
            ]);
        }
    }
    insert_rows(
        &db,
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)",
        rows,
    )
    .await?;
    let mut bodies = Vec::with_capacity(posts);
    let mut rows = Vec::with_capacity(posts);
    for i in 0..posts {
        let b = body(&mut rng);
        let vis = match rng.below(10) {
            0..=6 => "public",
            7 | 8 => "friends",
            _ => "followers",
        };
        let at = now - (posts - i) as i64 * post_gap_ms;
        rows.push(vec![
            Value::from(kith_app::platform::ids::new_id()),
            Value::from(&ids[rng.below(members)]),
            Value::from(b.clone()),
            Value::from(vis),
            Value::from(at),
            Value::from(at),
        ]);
        bodies.push(b);
    }
    insert_rows(
        &db,
        "INSERT INTO posts (id, author_id, body, visibility, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    .await?;
    eprintln!("  world: {:.1} s", t.elapsed().as_secs_f64());
    Ok(World {
        app,
        db,
        dir,
        ids,
        friends,
        follows: directed,
        bodies,
        rng,
        now,
        _temp: temp,
    })
}

/// A bare tantivy index of `bodies` (one text field with the jieba tokenizer, in RAM, one
/// commit): the index, its field, and documents per second.
pub(super) async fn bare_index(
    bodies: Vec<String>,
) -> anyhow::Result<(Index, kith_search::tantivy::schema::Field, f64)> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut b = Schema::builder();
        let text = b.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("jieba")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        let index = Index::create_in_ram(b.build());
        index
            .tokenizers()
            .register("jieba", tantivy_jieba_tokenizer());
        let t = Instant::now();
        let mut w = index.writer_with_num_threads(1, 200_000_000)?;
        for body in &bodies {
            let mut d = TantivyDocument::default();
            d.add_text(text, body);
            w.add_document(d)?;
        }
        w.commit()?;
        let s = t.elapsed().as_secs_f64();
        Ok((index, text, bodies.len() as f64 / s.max(1e-9)))
    })
    .await?
}

/// The timed queries of a side go in this many stretches, each side's stretch right after
/// the other's: a neighbour that slows this VM for a second slows both sides alike, instead
/// of whichever phase it fell in (the query phases are seconds long, and one side's phase
/// used to follow the other's whole).
pub(super) const STRETCHES: usize = 10;

/// `plan` cut into [`STRETCHES`] runs of consecutive items (the last may be shorter).
pub(super) fn stretches<T>(plan: &[T]) -> std::slice::Chunks<'_, T> {
    plan.chunks(plan.len().div_ceil(STRETCHES).max(1))
}

/// Times each of `words` on the bare index, unscoped, top 20 by BM25: milliseconds each.
pub(super) async fn bare_queries(
    index: &Index,
    text: kith_search::tantivy::schema::Field,
    words: Vec<&'static str>,
) -> anyhow::Result<Vec<f64>> {
    let reader = index.reader()?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<f64>> {
        let searcher = reader.searcher();
        let mut limit = Vec::with_capacity(words.len());
        for word in &words {
            let t = Instant::now();
            let terms = kith_search::query_terms(word);
            let q = BooleanQuery::new(
                terms
                    .iter()
                    .map(|w| {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(
                                Term::from_field_text(text, w),
                                IndexRecordOption::WithFreqs,
                            )) as Box<dyn Query>,
                        )
                    })
                    .collect(),
            );
            let top = searcher.search(&q, &TopDocs::with_limit(20).order_by_score())?;
            std::hint::black_box(top);
            limit.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(limit)
    })
    .await?
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (members, follows, posts, default_queries) = sizes(args.scale);
    let queries = args.queries.unwrap_or(default_queries).max(1);
    println!(
        "kith bench search --scale {}: {members} members, {follows} follows, {posts} posts, {queries} queries",
        args.scale.name()
    );
    let World {
        app,
        dir,
        ids,
        friends,
        bodies,
        mut rng,
        _temp,
        ..
    } = world("search", members, follows, posts, 1000).await?;

    // --- 1. indexing ---------------------------------------------------------------------
    // Each side ROUNDS times, taking turns, and its best round counts: one bulk load is
    // over in a second and a noisy neighbour can halve either side's figure.
    let index = kith_app::discovery::search::open_index(&dir.join("search"))?;
    app.attach_search_index(index.clone());
    let (mut ours_docs_per_s, mut bare_docs_per_s, mut docs) = (0f64, 0f64, 0);
    let mut bare = None;
    for round in 1..=ROUNDS {
        let t = Instant::now();
        let n = kith_app::discovery::search::rebuild(&app, index.clone()).await?;
        let ours_index_s = t.elapsed().as_secs_f64();
        let ours = n as f64 / ours_index_s.max(1e-9);
        docs = docs.max(n);
        let (index, text, limit) = bare_index(bodies.clone()).await?;
        eprintln!(
            "  indexing, round {round}: ours {n} docs in {ours_index_s:.2} s ({ours:.0}/s); bare tantivy {limit:.0}/s"
        );
        ours_docs_per_s = ours_docs_per_s.max(ours);
        bare_docs_per_s = bare_docs_per_s.max(limit);
        bare = Some((index, text));
    }
    let (bare, bare_text) = bare.expect("at least one round");

    // --- 2. friend-scoped query vs bare ----------------------------------------------------
    let searchers: Vec<usize> = (0..members).filter(|m| !friends[*m].is_empty()).collect();
    anyhow::ensure!(!searchers.is_empty(), "nobody has friends");
    let mut plan = Vec::with_capacity(queries);
    for _ in 0..queries {
        let who = searchers[rng.below(searchers.len())];
        let word = WORDS[rng.below(WORDS.len())];
        plan.push((who, word));
    }
    // Warm both sides once.
    for (who, word) in plan.iter().take(5) {
        friend_query(&app, &ids[*who], word).await?;
    }
    let mut ours = Vec::with_capacity(queries);
    let mut limit_ms = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for stretch in stretches(&plan) {
        for (who, word) in stretch {
            let t = Instant::now();
            hits += friend_query(&app, &ids[*who], word).await?;
            ours.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let words: Vec<&'static str> = stretch.iter().map(|(_, w)| *w).collect();
        limit_ms.extend(bare_queries(&bare, bare_text, words).await?);
    }
    let mut ours_sorted = ours.clone();
    ours_sorted.sort_by(f64::total_cmp);
    let mut limit_sorted = limit_ms;
    limit_sorted.sort_by(f64::total_cmp);
    let (o50, o99) = (
        percentile(&ours_sorted, 0.5),
        percentile(&ours_sorted, 0.99),
    );
    let (l50, l99) = (
        percentile(&limit_sorted, 0.5),
        percentile(&limit_sorted, 0.99),
    );
    eprintln!(
        "  friend-scoped query: p50 {o50:.3} ms, p99 {o99:.3} ms ({hits} results in all); bare tantivy p50 {l50:.3} ms, p99 {l99:.3} ms"
    );

    // --- 3. segmentation ------------------------------------------------------------------
    let (ours_cps, jieba_cps, chars) = tokio::task::spawn_blocking(move || {
        let chars: usize = bodies.iter().map(|b| b.chars().count()).sum();
        let mut analyzer = kith_search::analyzer();
        let _ = kith_search::segment(&mut analyzer, "预热词典");
        let jieba = jieba_rs::Jieba::new();
        let (mut ours, mut direct) = (0f64, 0f64);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let mut n = 0;
            for b in &bodies {
                n += kith_search::segment(&mut analyzer, b);
            }
            ours = ours.max(chars as f64 / t.elapsed().as_secs_f64().max(1e-9));
            std::hint::black_box(n);
            let t = Instant::now();
            let mut m = 0;
            for b in &bodies {
                m += jieba
                    .tokenize(b, jieba_rs::TokenizeMode::Search, true)
                    .len();
            }
            direct = direct.max(chars as f64 / t.elapsed().as_secs_f64().max(1e-9));
            std::hint::black_box(m);
        }
        (ours, direct, chars)
    })
    .await?;
    eprintln!(
        "  segmentation: {chars} chars; ours {ours_cps:.0} chars/s, jieba-rs directly {jieba_cps:.0} chars/s"
    );

    println!(
        "indexing: ours {ours_docs_per_s:.0} docs/s, bare tantivy {bare_docs_per_s:.0} docs/s"
    );
    println!(
        "friend-scoped query: ours p50 {o50:.3} ms p99 {o99:.3} ms, bare tantivy (no scoping) p50 {l50:.3} ms p99 {l99:.3} ms"
    );
    println!("segmentation: ours {ours_cps:.0} chars/s, jieba-rs {jieba_cps:.0} chars/s");
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    let ratio = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.001 };
    println!(
        "ratio index_vs_bare_tantivy {:.3}",
        ratio(ours_docs_per_s / bare_docs_per_s)
    );
    println!(
        "ratio friend_query_p50_vs_bare_tantivy {:.3}",
        ratio(l50 / o50)
    );
    println!(
        "ratio friend_query_p99_vs_bare_tantivy {:.3}",
        ratio(l99 / o99)
    );
    println!(
        "ratio segmentation_vs_jieba {:.3}",
        ratio(ours_cps / jieba_cps)
    );
    Ok(())
}

/// The tokenizer tantivy-jieba offers, as one would register it directly.
fn tantivy_jieba_tokenizer() -> kith_search::tantivy::tokenizer::TextAnalyzer {
    kith_search::tantivy::tokenizer::TextAnalyzer::from(kith_search::JiebaTokenizer::new())
}

async fn friend_query(app: &App, who: &str, word: &str) -> anyhow::Result<usize> {
    let p = Principal {
        account_id: who.to_owned(),
        is_platform_admin: false,
    };
    let q = SearchQuery {
        q: word.to_owned(),
        scope: Scope::Friends,
        target: Target::Posts,
        page: PageRequest::first(20),
    };
    let r = app
        .search(Some(&p), q)
        .await
        .map_err(|e| anyhow::anyhow!("search: {e}"))?;
    Ok(r.items.len())
}
