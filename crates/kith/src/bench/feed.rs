//! `kith bench feed`: the trust-ranked feed of members who follow many people, against a
//! bare tantivy query measured in the same run (docs/PRODUCT.md §7: the feed's p99 is held
//! to the same budget as a search).
//!
//! The world is `kith bench search`'s (members, friend circles, posts with Chinese bodies),
//! with posts spread over the last 30 days, plus `readers` members who each follow
//! [`FOLLOWED`] random members, half of whom follow them back (friends), and likes: one
//! post in five has 1–8 likes from random members, made within a day of the post (the rows
//! and each post's `like_count`). Rows are inserted directly; the generator is seeded.
//!
//! It measures **the first page** of `App::trusted_feed` (20 posts: the reader's circle and
//! visibility read from storage, every candidate ranked by closeness, recency and
//! engagement, the page of posts loaded) for random readers, p50 and p99, against the
//! **limit**: bare tantivy's top-20 BM25 query for a random word over the same post bodies
//! (one text field, in RAM) — `ratio trusted_feed_p50_vs_bare_tantivy` and `…_p99_…` =
//! limit time ÷ ours. It also follows each timed reader's second page (its cursor), so
//! the snapshot paths run too, and reports them apart. The feed and the bare queries take
//! turns in stretches of the plan (as in `kith bench search`), so a slow second of this
//! machine falls on both sides.
//!
//! Before timing, each reader of the plan reads their first page once (the warm-up), as on
//! a server that has run a while: the first visits fault the pages they touch into the
//! memory map of the read connection that serves them (one page at a time, as timed). They
//! are printed apart (`first visits after start-up`) and left out of the ratios.

use std::time::Instant;

use clap::Args;
use kith_app::Principal;
use kith_app::discovery::feed::FeedCursor;
use kith_app::platform::ids::PostId;
use kith_store::Value;

use super::Scale;
use super::search::{
    Rng, WORDS, World, bare_index, bare_queries, insert_rows, percentile, stretches, world,
};

#[derive(Debug, Clone, Args)]
pub struct FeedArgs {
    /// small: 5 000 members / 50 000 follows / 50 000 posts; reference (docs/PRODUCT.md §7):
    /// 100 000 / 1 000 000 / 500 000; large: 1 000 000 / 10 000 000 / 5 000 000. Readers
    /// following 500 people come on top.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Feed pages timed (and bare queries, the same count).
    #[arg(long)]
    pub queries: Option<usize>,
    /// Likes a second, at most, while the feed is timed (random members liking random posts
    /// through `App::like_post`, each waiting for its commit before the next; 1–1000), as on
    /// a server where members also write: 0, the default, times the feed on a store nobody
    /// writes to (the ratios' setting).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub writes: u32,
}

/// How many people each reader follows.
const FOLLOWED: usize = 500;
const DAY_MS: i64 = 86_400_000;

/// (members, follow rows, posts, readers, queries)
fn sizes(scale: Scale) -> (usize, usize, usize, usize, usize) {
    match scale {
        Scale::Tiny => (600, 3_000, 3_000, 5, 50),
        Scale::Small => (5_000, 50_000, 50_000, 50, 300),
        Scale::Reference => (100_000, 1_000_000, 500_000, 100, 1_000),
        Scale::Large => (1_000_000, 10_000_000, 5_000_000, 100, 1_000),
    }
}

pub async fn run(args: FeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (members, follows, posts, readers, default_queries) = sizes(args.scale);
    let queries = args.queries.unwrap_or(default_queries).max(1);
    let followed = FOLLOWED.min(members / 2);
    println!(
        "kith bench feed --scale {}: {members} members, {follows} follows, {posts} posts over 30 days, {readers} readers following {followed} each, {queries} queries",
        args.scale.name()
    );
    let gap = (30 * DAY_MS / posts as i64).max(1);
    let World {
        app,
        db,
        ids,
        follows: mut directed,
        bodies,
        mut rng,
        now,
        _temp,
        ..
    } = world("feed", members, follows, posts, gap).await?;

    // --- readers who follow many, and likes ---------------------------------------------
    let t = Instant::now();
    let reader_ix: Vec<usize> = (0..readers).map(|_| rng.below(members)).collect();
    let mut rows = Vec::new();
    for &r in &reader_ix {
        let mut n = 0;
        while n < followed {
            let who = rng.below(members);
            if who == r || !directed.insert((r, who)) {
                continue;
            }
            n += 1;
            rows.push(vec![
                Value::from(&ids[r]),
                Value::from(&ids[who]),
                Value::from(now - 40 * DAY_MS),
            ]);
            // Every other one follows back: a friend.
            if n % 2 == 0 && directed.insert((who, r)) {
                rows.push(vec![
                    Value::from(&ids[who]),
                    Value::from(&ids[r]),
                    Value::from(now - 40 * DAY_MS),
                ]);
            }
        }
    }
    let extra_follows = rows.len();
    insert_rows(
        &db,
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)",
        rows,
    )
    .await?;
    let post_ids: Vec<(String, i64)> = db
        .read(|c| {
            c.query("SELECT id, created_at FROM posts ORDER BY created_at", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.int(1)?)))
                .collect::<Result<Vec<_>, kith_app::AppError>>()
        })
        .await
        .map_err(|e| anyhow::anyhow!("read posts: {e}"))?;
    let mut rows = Vec::new();
    for (id, at) in &post_ids {
        if rng.below(5) != 0 {
            continue;
        }
        let n = 1 + rng.below(8);
        let mut likers = std::collections::HashSet::new();
        while likers.len() < n {
            likers.insert(rng.below(members));
        }
        for who in likers {
            let when = (at + rng.below(DAY_MS as usize) as i64).min(now);
            rows.push(vec![
                Value::from(id),
                Value::from(&ids[who]),
                Value::from(when),
            ]);
        }
    }
    let likes = rows.len();
    insert_rows(
        &db,
        "INSERT INTO post_likes (post_id, account_id, created_at) VALUES ($1, $2, $3)",
        rows,
    )
    .await?;
    db.write(|c| {
        c.execute(
            "UPDATE posts SET like_count = (SELECT COUNT(*) FROM post_likes l WHERE l.post_id = posts.id)",
            &[],
        )?;
        Ok::<_, kith_app::AppError>(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("like counts: {e}"))?;
    eprintln!(
        "  readers: {extra_follows} follows, {likes} likes in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // --- the trusted feed ------------------------------------------------------------------
    let plan: Vec<usize> = (0..queries)
        .map(|_| reader_ix[rng.below(reader_ix.len())])
        .collect();
    // Warm-up (see the module docs): each reader's first page once, timed apart.
    let mut cold = Vec::new();
    let mut warmed = std::collections::HashSet::new();
    for r in &plan {
        if warmed.insert(*r) {
            let t = Instant::now();
            feed_page(&app, &ids[*r], None).await?;
            cold.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    // The limit, bare tantivy, is timed in turns with the feed (see `STRETCHES`).
    let (bare, text, _) = bare_index(bodies).await?;
    let words: Vec<&'static str> = (0..queries)
        .map(|_| WORDS[rng.below(WORDS.len())])
        .collect();
    let writer = (args.writes > 0).then(|| {
        likes_meanwhile(
            app.clone(),
            ids.clone(),
            post_ids.iter().map(|(id, _)| id.clone()).collect(),
            args.writes,
        )
    });
    let mut limit = Vec::with_capacity(queries);
    let mut first = Vec::with_capacity(queries);
    let mut second = Vec::with_capacity(queries);
    let mut shown = 0usize;
    let maps = kith_store::stats::counters();
    let timed = Instant::now();
    for (readers, words) in stretches(&plan).zip(stretches(&words)) {
        for r in readers {
            let t = Instant::now();
            let (n, cursor) = feed_page(&app, &ids[*r], None).await?;
            first.push(t.elapsed().as_secs_f64() * 1000.0);
            shown += n;
            if let Some(cursor) = cursor {
                let t = Instant::now();
                let (n, _) = feed_page(&app, &ids[*r], Some(cursor)).await?;
                second.push(t.elapsed().as_secs_f64() * 1000.0);
                shown += n;
            }
        }
        limit.extend(bare_queries(&bare, text, words.to_vec()).await?);
    }
    let timed_secs = timed.elapsed().as_secs_f64();
    if let Some((stop, task)) = writer {
        let _ = stop.send(true);
        let (liked, refused) = task.await??;
        let now = kith_store::stats::counters();
        println!(
            "meanwhile: {liked} likes committed ({:.0}/s; {refused} refused: posts the liker may not see); \
             read transactions after a commit kept their memory map {} times, dropped it {} times",
            liked as f64 / timed_secs,
            now.maps_kept - maps.maps_kept,
            now.maps_dropped - maps.maps_dropped
        );
    }
    anyhow::ensure!(shown > 0, "the readers' feeds are empty");
    // Readers following 500 people have more than a page: a feed that never pages would
    // leave the second-page figures empty (and its percentiles meaningless).
    anyhow::ensure!(!second.is_empty(), "no reader's feed had a second page");

    for v in [&mut first, &mut second, &mut limit, &mut cold] {
        v.sort_by(f64::total_cmp);
    }
    let (o50, o99) = (percentile(&first, 0.5), percentile(&first, 0.99));
    let (s50, s99) = (percentile(&second, 0.5), percentile(&second, 0.99));
    let (l50, l99) = (percentile(&limit, 0.5), percentile(&limit, 0.99));
    eprintln!("  {shown} posts shown in all");
    println!(
        "trusted feed, first page: ours p50 {o50:.3} ms p99 {o99:.3} ms; second page p50 {s50:.3} ms p99 {s99:.3} ms"
    );
    println!("bare tantivy top-20 query: p50 {l50:.3} ms p99 {l99:.3} ms");
    println!(
        "first visits after start-up (warm-up, {} readers, not in the ratios): p50 {:.3} ms p99 {:.3} ms",
        cold.len(),
        percentile(&cold, 0.5),
        percentile(&cold, 0.99)
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    let ratio = |x: f64| if x.is_finite() { x.max(0.001) } else { 0.001 };
    println!(
        "ratio trusted_feed_p50_vs_bare_tantivy {:.3}",
        ratio(l50 / o50)
    );
    println!(
        "ratio trusted_feed_p99_vs_bare_tantivy {:.3}",
        ratio(l99 / o99)
    );
    Ok(())
}

/// Likes `per_second` random posts by random members until told to stop: how many were
/// committed and how many refused (a post the liker may not see answers 404).
fn likes_meanwhile(
    app: kith_app::App,
    members: Vec<String>,
    posts: Vec<String>,
    per_second: u32,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<(u64, u64)>>,
) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut rng = Rng(0x11CE);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs_f64(
            1.0 / f64::from(per_second),
        ));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut liked, mut refused) = (0u64, 0u64);
        loop {
            tokio::select! {
                _ = stopped.changed() => return Ok((liked, refused)),
                _ = tick.tick() => {}
            }
            let who = Principal {
                account_id: members[rng.below(members.len())].clone(),
                is_platform_admin: false,
            };
            let post = PostId::parse_or_404(&posts[rng.below(posts.len())])
                .map_err(|e| anyhow::anyhow!("post id: {e}"))?;
            match app.like_post(&who, &post).await {
                Ok(_) => liked += 1,
                Err(kith_app::AppError::NotFound(_)) => refused += 1,
                Err(e) => anyhow::bail!("like: {e}"),
            }
        }
    });
    (stop, task)
}

/// One page of `who`'s trusted feed (20 posts): how many, and the next page's cursor.
async fn feed_page(
    app: &kith_app::App,
    who: &str,
    cursor: Option<String>,
) -> anyhow::Result<(usize, Option<String>)> {
    let p = Principal {
        account_id: who.to_owned(),
        is_platform_admin: false,
    };
    let cursor = cursor
        .map(|c| FeedCursor::parse(&c))
        .transpose()
        .map_err(|e| anyhow::anyhow!("cursor: {e}"))?;
    let page = app
        .trusted_feed(&p, 20, cursor)
        .await
        .map_err(|e| anyhow::anyhow!("trusted feed: {e}"))?;
    Ok((page.items.len(), page.next_cursor))
}
