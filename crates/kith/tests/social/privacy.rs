//! The privacy matrix: one author, viewers in every relation to them, posts of every
//! visibility (and one hidden by a moderator, one deleted), and every endpoint that returns
//! posts, comments or likes, or acts on a post. Each cell says whether the viewer sees the
//! post there; the answer must be exactly what the one visibility rule says, and a post the
//! viewer may not see must look the same as one that does not exist.
//!
//! Adding an endpoint is one line in `SURFACES`. Placeholders: `{post}` the post,
//! `{comment}` the author's comment on it, `{author}` the author's account, `{community}`
//! the community.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(privacy_matrix);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Author,
    /// Mutual follow with the author.
    Friend,
    /// Follows the author; the author does not follow back.
    Follower,
    /// No relation at all.
    Stranger,
    /// Followed the author and joined the community, then the author blocked them.
    Blocked,
    /// An active member of the author's community.
    Member,
    /// Joined the community, then left it.
    FormerMember,
    Anonymous,
}

const VIEWERS: [Viewer; 8] = [
    Viewer::Author,
    Viewer::Friend,
    Viewer::Follower,
    Viewer::Stranger,
    Viewer::Blocked,
    Viewer::Member,
    Viewer::FormerMember,
    Viewer::Anonymous,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Public,
    Followers,
    Friends,
    Community,
    /// Public, then hidden by a platform admin.
    Hidden,
    /// Public, then deleted by the author.
    Deleted,
}

const KINDS: [Kind; 6] = [
    Kind::Public,
    Kind::Followers,
    Kind::Friends,
    Kind::Community,
    Kind::Hidden,
    Kind::Deleted,
];

/// The rule, written out as a table: may `v` see a post of kind `k`?
fn may_see(v: Viewer, k: Kind) -> bool {
    use Kind as K;
    use Viewer as V;
    match (v, k) {
        (_, K::Deleted) => false,
        (V::Author, _) => true,
        (V::Blocked, _) => false,
        (_, K::Hidden) => false,
        (_, K::Public) => true,
        (V::Friend | V::Follower, K::Followers) => true,
        (V::Friend, K::Friends) => true,
        (V::Member, K::Community) => true,
        _ => false,
    }
}

/// Beyond visibility, which posts an endpoint lists at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every post of the author.
    All,
    /// Only signed-in callers (actions); the anonymous get 401.
    SignedIn,
    /// The feed: the caller's own posts, those of people they follow, those of their
    /// communities; signed in only.
    Feed,
    /// The community's page: its community posts, for its active members.
    CommunityPage,
}

fn in_scope(s: Scope, v: Viewer, k: Kind) -> bool {
    use Viewer as V;
    match s {
        Scope::All => true,
        Scope::SignedIn => v != V::Anonymous,
        Scope::Feed => match v {
            V::Anonymous => false,
            V::Author | V::Friend | V::Follower => true,
            V::Member => k == Kind::Community,
            _ => false,
        },
        Scope::CommunityPage => k == Kind::Community && matches!(v, V::Author | V::Member),
    }
}

/// How a response says "seen".
#[derive(Debug, Clone, Copy)]
enum Seen {
    /// `ok` when seen, `refused` when not (the anonymous get 401 on `SignedIn` rows).
    Status(u16, u16),
    /// A page of posts that contains the post (any other answer: not seen).
    Listed,
    /// A page of comments with the author's comment on the post.
    HasAuthorsComment,
    /// A page of likes with the author's like.
    HasAuthorsLike,
}

/// What to do after a successful action so the next cell starts from the same state.
#[derive(Debug, Clone, Copy)]
enum Undo {
    None,
    /// Delete the comment the action made (as the viewer).
    DeleteComment,
}

struct Surface {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: &'static str,
    seen: Seen,
    scope: Scope,
    undo: Undo,
}

const fn s(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: &'static str,
    seen: Seen,
    scope: Scope,
    undo: Undo,
) -> Surface {
    Surface {
        name,
        method,
        path,
        body,
        seen,
        scope,
        undo,
    }
}

/// Every endpoint that shows or touches a post. Reads first: they also check the counts
/// inside every post they return, which the actions below change (and undo) later.
#[rustfmt::skip]
const SURFACES: &[Surface] = &[
    s("post by id",      "GET",    "/api/v1/posts/{post}", "", Seen::Status(200, 404), Scope::All, Undo::None),
    s("account posts",   "GET",    "/api/v1/accounts/{author}/posts?limit=100", "", Seen::Listed, Scope::All, Undo::None),
    s("community posts", "GET",    "/api/v1/communities/{community}/posts?limit=100", "", Seen::Listed, Scope::CommunityPage, Undo::None),
    s("feed",            "GET",    "/api/v1/feed?limit=100", "", Seen::Listed, Scope::Feed, Undo::None),
    s("comments list",   "GET",    "/api/v1/posts/{post}/comments", "", Seen::HasAuthorsComment, Scope::All, Undo::None),
    s("likes list",      "GET",    "/api/v1/posts/{post}/likes", "", Seen::HasAuthorsLike, Scope::All, Undo::None),
    s("like",            "POST",   "/api/v1/posts/{post}/like", "{}", Seen::Status(200, 404), Scope::SignedIn, Undo::None),
    s("unlike",          "DELETE", "/api/v1/posts/{post}/like", "", Seen::Status(200, 404), Scope::SignedIn, Undo::None),
    s("comment",         "POST",   "/api/v1/posts/{post}/comments", r#"{"body": "看到了"}"#, Seen::Status(201, 404), Scope::SignedIn, Undo::DeleteComment),
    s("reply",           "POST",   "/api/v1/posts/{post}/comments", r#"{"body": "同感", "parent_id": "{comment}"}"#, Seen::Status(201, 404), Scope::SignedIn, Undo::DeleteComment),
    s("share",           "POST",   "/api/v1/posts/{post}/shares", r#"{"channel": "moments"}"#, Seen::Status(201, 404), Scope::SignedIn, Undo::None),
    s("report post",     "POST",   "/api/v1/reports", r#"{"target_kind": "post", "target_id": "{post}", "reason": "测试举报"}"#, Seen::Status(201, 422), Scope::SignedIn, Undo::None),
    s("report comment",  "POST",   "/api/v1/reports", r#"{"target_kind": "comment", "target_id": "{comment}", "reason": "测试举报"}"#, Seen::Status(201, 422), Scope::SignedIn, Undo::None),
];

struct World {
    author: User,
    friend: User,
    follower: User,
    stranger: User,
    blocked: User,
    member: User,
    former: User,
    community: String,
    /// (kind, post id, the author's comment on it)
    posts: Vec<(Kind, String, String)>,
}

impl World {
    fn user(&self, v: Viewer) -> Option<&User> {
        Some(match v {
            Viewer::Author => &self.author,
            Viewer::Friend => &self.friend,
            Viewer::Follower => &self.follower,
            Viewer::Stranger => &self.stranger,
            Viewer::Blocked => &self.blocked,
            Viewer::Member => &self.member,
            Viewer::FormerMember => &self.former,
            Viewer::Anonymous => return None,
        })
    }

    fn token(&self, v: Viewer) -> Option<&str> {
        self.user(v).map(|u| u.token.as_str())
    }
}

async fn ok(t: &TestApp, method: &str, path: &str, who: &User, body: Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let r = t.request(m, path, Some(&who.token), Some(body)).await;
    assert!(r.status.is_success(), "{method} {path}: {r:?}");
}

async fn follow(t: &TestApp, who: &User, whom: &User) {
    ok(
        t,
        "POST",
        &format!("/api/v1/accounts/{}/follow", whom.id),
        who,
        json!({}),
    )
    .await;
}

/// Likes and comments on every post come first, from the author (and on the public post
/// from the member later blocked); then the hiding, deleting and blocking.
async fn world(t: &TestApp) -> World {
    let author = t.register_member("作者").await;
    let friend = t.register_member("好友").await;
    let follower = t.register_member("粉丝").await;
    let stranger = t.register_member("路人").await;
    let blocked = t.register_member("被拉黑").await;
    let member = t.register_member("群成员").await;
    let former = t.register_member("退群者").await;

    follow(t, &author, &friend).await;
    follow(t, &friend, &author).await;
    follow(t, &follower, &author).await;
    follow(t, &blocked, &author).await;

    let community = t
        .post(
            "/api/v1/communities",
            Some(&author.token),
            json!({ "name": "减肥打卡群", "description": "每天打卡", "tags": ["减肥"], "join_policy": "open" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .expect("community id")
        .to_owned();
    for u in [&member, &blocked, &former] {
        ok(
            t,
            "POST",
            &format!("/api/v1/communities/{community}/join"),
            u,
            json!({}),
        )
        .await;
    }
    ok(
        t,
        "POST",
        &format!("/api/v1/communities/{community}/leave"),
        &former,
        json!({}),
    )
    .await;

    let mut posts = Vec::new();
    for kind in KINDS {
        let (visibility, community_id) = match kind {
            Kind::Followers => ("followers", None),
            Kind::Friends => ("friends", None),
            Kind::Community => ("community", Some(community.as_str())),
            Kind::Public | Kind::Hidden | Kind::Deleted => ("public", None),
        };
        t.clock.advance_ms(1000);
        let p = t
            .post(
                "/api/v1/posts",
                Some(&author.token),
                json!({ "body": format!("{kind:?} 的帖子\n第二行"), "visibility": visibility, "community_id": community_id }),
            )
            .await
            .expect(201);
        let id = p["id"].as_str().expect("post id").to_owned();
        t.post(
            &format!("/api/v1/posts/{id}/like"),
            Some(&author.token),
            json!({}),
        )
        .await
        .expect(200);
        let comment = t
            .post(
                &format!("/api/v1/posts/{id}/comments"),
                Some(&author.token),
                json!({ "body": "作者的评论" }),
            )
            .await
            .expect(201)["id"]
            .as_str()
            .expect("comment id")
            .to_owned();
        posts.push((kind, id, comment));
    }
    let public = posts[0].1.clone();
    t.post(
        &format!("/api/v1/posts/{public}/like"),
        Some(&blocked.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/api/v1/posts/{public}/comments"),
        Some(&blocked.token),
        json!({ "body": "拉黑前的评论" }),
    )
    .await
    .expect(201);

    let admin = t.admin().await;
    for (kind, id, _) in &posts {
        match kind {
            Kind::Hidden => {
                t.post(
                    &format!("/api/v1/posts/{id}/hide"),
                    Some(&admin.token),
                    json!({ "reason": "违规" }),
                )
                .await
                .expect(200);
            }
            Kind::Deleted => {
                t.delete(&format!("/api/v1/posts/{id}"), Some(&author.token))
                    .await
                    .expect(204);
            }
            _ => {}
        }
    }
    ok(
        t,
        "POST",
        &format!("/api/v1/accounts/{}/block", blocked.id),
        &author,
        json!({}),
    )
    .await;

    World {
        author,
        friend,
        follower,
        stranger,
        blocked,
        member,
        former,
        community,
        posts,
    }
}

fn fill(template: &str, w: &World, post: &str, comment: &str) -> String {
    template
        .replace("{post}", post)
        .replace("{comment}", comment)
        .replace("{author}", &w.author.id)
        .replace("{community}", &w.community)
}

/// Likes and comments every post carries from the setup (the public one also those of the
/// member blocked afterwards: counters count rows, whoever may read them).
fn base_counts(k: Kind) -> i64 {
    if k == Kind::Public { 2 } else { 1 }
}

/// The counts inside a post as `v` reads it during the read rows.
#[track_caller]
fn check_counts(p: &Value, w: &World, v: Viewer) {
    let kind = w
        .posts
        .iter()
        .find(|(_, id, _)| p["id"] == id.as_str())
        .map(|(k, _, _)| *k)
        .expect("a post of the world");
    assert_eq!(p["like_count"], base_counts(kind), "{v:?} {kind:?}: {p}");
    assert_eq!(p["comment_count"], base_counts(kind), "{v:?} {kind:?}: {p}");
    assert_eq!(p["share_count"], 0, "{v:?} {kind:?}: {p}");
    assert_eq!(p["liked_by_me"], v == Viewer::Author, "{v:?} {kind:?}: {p}");
    assert_eq!(p["hidden"], kind == Kind::Hidden, "{v:?} {kind:?}: {p}");
    assert_eq!(p["author"]["id"], w.author.id.as_str());
}

async fn privacy_matrix(t: TestApp) {
    let w = world(&t).await;
    // Before the matrix changes anything: content by a member blocked with the reader is
    // left out of what the reader reads; others still see it.
    let public = &w.posts[0].1;
    let names = |body: &Value, key: &str| -> Vec<String> {
        let mut v: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i[key]["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let mut both = vec![w.author.id.clone(), w.blocked.id.clone()];
    both.sort();
    for (v, want_blocked) in [
        (Viewer::Author, false),
        (Viewer::Stranger, true),
        (Viewer::Anonymous, true),
    ] {
        let likes = t
            .get(&format!("/api/v1/posts/{public}/likes"), w.token(v))
            .await
            .expect(200);
        let comments = t
            .get(&format!("/api/v1/posts/{public}/comments"), w.token(v))
            .await
            .expect(200);
        let want = if want_blocked {
            both.clone()
        } else {
            vec![w.author.id.clone()]
        };
        assert_eq!(names(&likes, "account"), want, "likes as {v:?}");
        assert_eq!(names(&comments, "author"), want, "comments as {v:?}");
    }

    let mut cells = 0;
    for surface in SURFACES {
        for v in VIEWERS {
            for (kind, post, comment) in &w.posts {
                let expected = may_see(v, *kind) && in_scope(surface.scope, v, *kind);
                let path = fill(surface.path, &w, post, comment);
                let body = (!surface.body.is_empty()).then(|| {
                    serde_json::from_str::<Value>(&fill(surface.body, &w, post, comment))
                        .expect("body")
                });
                let method = reqwest::Method::from_bytes(surface.method.as_bytes()).unwrap();
                let r = t.request(method, &path, w.token(v), body).await;
                let what = format!("{} as {v:?} on the {kind:?} post: {r:?}", surface.name);
                let seen = match surface.seen {
                    Seen::Status(okay, refused) => {
                        let want = if expected {
                            okay
                        } else if v == Viewer::Anonymous && surface.scope == Scope::SignedIn {
                            401
                        } else {
                            refused
                        };
                        assert_eq!(r.status.as_u16(), want, "{what}");
                        if surface.method == "GET" && r.status == 200 {
                            check_counts(&r.body, &w, v);
                        }
                        r.status.as_u16() == okay
                    }
                    Seen::Listed => {
                        if r.status == 200 {
                            let items = r.body["items"].as_array().expect("items");
                            for p in items {
                                check_counts(p, &w, v);
                            }
                            items.iter().any(|p| p["id"] == post.as_str())
                        } else {
                            assert!(matches!(r.status.as_u16(), 401 | 403 | 404), "{what}");
                            false
                        }
                    }
                    Seen::HasAuthorsComment | Seen::HasAuthorsLike => {
                        if r.status == 200 {
                            let items = r.body["items"].as_array().expect("items");
                            let key = if matches!(surface.seen, Seen::HasAuthorsLike) {
                                "account"
                            } else {
                                "author"
                            };
                            items.iter().any(|i| i[key]["id"] == w.author.id.as_str())
                        } else {
                            assert_eq!(r.status, 404, "{what}");
                            false
                        }
                    }
                };
                assert_eq!(seen, expected, "{what}");
                if seen && let Undo::DeleteComment = surface.undo {
                    let id = r.body["id"].as_str().expect("comment id");
                    t.delete(&format!("/api/v1/comments/{id}"), w.token(v))
                        .await
                        .expect(204);
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, SURFACES.len() * VIEWERS.len() * KINDS.len());

    // The counts after the actions: the "unlike" row took back every like it could (the
    // author's from the setup too), every comment made was deleted, and each signed-in
    // viewer who could see a post shared it once.
    for (kind, post, _) in &w.posts {
        if *kind == Kind::Deleted {
            continue;
        }
        let p = t
            .get(&format!("/api/v1/posts/{post}"), w.token(Viewer::Author))
            .await
            .expect(200);
        let sharers = VIEWERS
            .iter()
            .filter(|v| **v != Viewer::Anonymous && may_see(**v, *kind))
            .count();
        assert_eq!(p["share_count"], sharers, "{kind:?}: {p}");
        assert_eq!(p["like_count"], base_counts(*kind) - 1, "{kind:?}: {p}");
        assert_eq!(p["comment_count"], base_counts(*kind), "{kind:?}: {p}");
    }

    // A post that never existed answers exactly like one the reader may not see.
    let nothing = "01900000-0000-7000-8000-000000000000";
    let friends_post = &w.posts[2].1;
    for path in [
        "/api/v1/posts/{p}",
        "/api/v1/posts/{p}/comments",
        "/api/v1/posts/{p}/likes",
    ] {
        let a = t
            .get(&path.replace("{p}", nothing), Some(&w.stranger.token))
            .await
            .problem(404, None);
        let b = t
            .get(&path.replace("{p}", friends_post), Some(&w.stranger.token))
            .await
            .problem(404, None);
        assert_eq!(a["detail"], b["detail"], "{path}");
    }
}
