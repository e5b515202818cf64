//! The social context's read models: the column lists and decoders of posts, comments,
//! reports, communities, members and reviews, and the queries that load them, so the
//! use-case files read as rules. Every post query applies the visibility rule in its SQL.

use kith_domain::Fen;
use kith_store::{Conn, Engine, Row, Value, args};

use super::visibility::no_block;
use super::visibility::post_visible;
use crate::platform::ids::{
    AccountId, CommentId, CommunityId, InviteId, MerchantId, PostId, ProductId, ReviewId, SkuId,
};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::social::communities::{
    Announcement, Community, CommunityMember, CommunityRole, JoinPolicy, MemberState,
};
use crate::social::media::MediaRef;
use crate::social::posts::{
    Comment, PersonRef, Post, PostImage, PostTag, Report, ReportTarget, Visibility,
};
use crate::social::reviews::{Review, ReviewAuthor, ReviewReply};
use crate::{AppError, AppResult, rfc3339};

// ---------------------------------------------------------------------------------------
// Reading posts

// Columns of a post row; `$1` is the viewer (for `liked_by_me`).
kith_store::columns!(PostCols {
    "p.id" => id,
    "p.author_id" => author_id,
    "a.display_name" => author_name,
    "a.avatar_media_id" => author_avatar,
    "p.body" => body,
    "p.visibility" => visibility,
    "p.community_id" => community_id,
    "p.like_count" => like_count,
    "p.comment_count" => comment_count,
    "p.share_count" => share_count,
    "p.created_at" => created_at,
    "p.updated_at" => updated_at,
    "p.hidden_at" => hidden_at,
    "CASE WHEN EXISTS (SELECT 1 FROM post_likes pl WHERE pl.post_id = p.id AND pl.account_id = $1) THEN 1 ELSE 0 END" => liked_by_me,
});
const POST_COLS: &str = PostCols::LIST;

fn post_from_row(r: &Row) -> AppResult<(i64, Post)> {
    let created = r.int(PostCols::created_at)?;
    let updated = r.int(PostCols::updated_at)?;
    Ok((
        created,
        Post {
            id: PostId::from_row(r.text(PostCols::id)?),
            author: PersonRef::of(
                r.text(PostCols::author_id)?,
                r.text(PostCols::author_name)?,
                r.opt_text(PostCols::author_avatar)?,
            ),
            body: r.text(PostCols::body)?,
            visibility: Visibility::from_db(&r.text(PostCols::visibility)?)?,
            community_id: r
                .opt_text(PostCols::community_id)?
                .map(CommunityId::from_row),
            images: images_of(r.opt_text(PostCols::LEN)?.as_deref())?,
            tags: tags_of(r.opt_text(PostCols::LEN + 1)?.as_deref())?,
            like_count: r.int(PostCols::like_count)?,
            comment_count: r.int(PostCols::comment_count)?,
            share_count: r.int(PostCols::share_count)?,
            liked_by_me: r.int(PostCols::liked_by_me)? != 0,
            hidden: r.opt_int(PostCols::hidden_at)?.is_some(),
            created_at: rfc3339(created),
            updated_at: rfc3339(updated),
            edited: updated > created,
        },
    ))
}

/// A post's images and tags, selected after [`POST_COLS`] as two JSON arrays — the media
/// ids in the author's order, and (SKU, merchant, product name, list price) by SKU — so a
/// page of posts is one statement, not three. The aggregate is the engine's own:
/// `json_group_array` on SQLite (`[]` for none), `json_agg` on PostgreSQL (NULL for none).
/// SQLite aggregates the rows of an ordered subquery in that order (walking the primary
/// key); an `ORDER BY` inside its aggregate would build a temporary B-tree for every post
/// (callgrind: +2.7 % for a search, against −1.6 % this way). The post stories check the
/// images' order on both engines.
fn media_and_tags_cols(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => {
            "(SELECT json_group_array(media_id) FROM
                (SELECT i.media_id FROM post_images i WHERE i.post_id = p.id ORDER BY i.position)),
             (SELECT json_group_array(json_array(sku_id, merchant_id, name, list_price_fen)) FROM
                (SELECT t.sku_id, t.merchant_id, pr.name, s.list_price_fen
                   FROM post_tags t JOIN skus s ON s.id = t.sku_id JOIN products pr ON pr.id = s.product_id
                  WHERE t.post_id = p.id ORDER BY t.sku_id))"
        }
        Engine::Postgres => {
            "(SELECT json_agg(i.media_id ORDER BY i.position) FROM post_images i WHERE i.post_id = p.id),
             (SELECT json_agg(json_build_array(t.sku_id, t.merchant_id, pr.name, s.list_price_fen) ORDER BY t.sku_id)
                FROM post_tags t JOIN skus s ON s.id = t.sku_id JOIN products pr ON pr.id = s.product_id
               WHERE t.post_id = p.id)"
        }
    }
}

/// A JSON array column as read (NULL: none).
fn json_list<T: serde::de::DeserializeOwned>(json: Option<&str>, what: &str) -> AppResult<Vec<T>> {
    json.map_or(Ok(Vec::new()), |j| {
        serde_json::from_str(j).map_err(|e| AppError::Internal(format!("{what} as read: {e}")))
    })
}

fn images_of(json: Option<&str>) -> AppResult<Vec<PostImage>> {
    let ids: Vec<String> = json_list(json, "a post's images")?;
    Ok(ids
        .into_iter()
        .map(|id| PostImage {
            url: format!("/media/{id}"),
            thumb_url: format!("/media/{id}/thumb"),
            id,
        })
        .collect())
}

fn tags_of(json: Option<&str>) -> AppResult<Vec<PostTag>> {
    let rows: Vec<(String, String, String, i64)> = json_list(json, "a post's tags")?;
    Ok(rows
        .into_iter()
        .map(|(sku, merchant, name, price)| PostTag {
            sku_id: SkuId::from_row(sku),
            merchant_id: MerchantId::from_row(merchant),
            product_name: name,
            price_fen: Fen::new(price),
        })
        .collect())
}

/// Posts the viewer may see, with their images and tags. `filter` is more SQL over `p`
/// (and `a`, the author) whose parameters follow the viewer (`$1`) in `params`; `tail`
/// orders and limits. Returns each post with its creation time in ms (its page key).
pub(crate) fn query_posts(
    c: &mut dyn Conn,
    viewer: &str,
    filter: &str,
    mut params: Vec<Value>,
    tail: &str,
) -> AppResult<Vec<(i64, Post)>> {
    params.insert(0, Value::from(viewer));
    let sql = format!(
        "SELECT {POST_COLS}, {} FROM posts p JOIN accounts a ON a.id = p.author_id
         WHERE {} AND ({filter}) {tail}",
        media_and_tags_cols(c.engine()),
        post_visible("$1")
    );
    c.query(&sql, &params)?.iter().map(post_from_row).collect()
}

/// One post the viewer may see, or 404.
pub(crate) fn load_post(c: &mut dyn Conn, viewer: &str, post_id: &str) -> AppResult<Post> {
    query_posts(c, viewer, "p.id = $2", vec![Value::from(post_id)], "")?
        .pop()
        .map(|(_, p)| p)
        .ok_or(AppError::NotFound("post"))
}

/// A newest-first page of posts the viewer may see: `filter` over `p` with `params`
/// following the viewer (`$1`), and the page's cursor applied after them.
pub(crate) fn newest_first(
    c: &mut dyn Conn,
    viewer: &str,
    filter: &str,
    mut params: Vec<Value>,
    page: &PageRequest,
) -> AppResult<Page<Post>> {
    // `$1` is the viewer, then `params`, then the key.
    let after = page.keyset(
        Direction::NewestFirst,
        "p.created_at",
        "p.id",
        params.len() + 2,
    );
    params.extend(after.args);
    let rows = query_posts(
        c,
        viewer,
        &format!("({filter}) AND {}", after.sql),
        params,
        &format!(
            "ORDER BY p.created_at DESC, p.id DESC LIMIT {}",
            page.fetch()
        ),
    )?;
    Ok(Page::from_keyed(rows, page.limit, |p| &p.id))
}

// ---------------------------------------------------------------------------------------
// Comments

kith_store::columns!(pub(in crate::social) CommentCols {
    "cm.id" => id,
    "cm.post_id" => post_id,
    "cm.author_id" => author_id,
    "a.display_name" => author_name,
    "a.avatar_media_id" => author_avatar,
    "cm.parent_id" => parent_id,
    "cm.body" => body,
    "cm.created_at" => created_at,
});
pub(in crate::social) const COMMENT_COLS: &str = CommentCols::LIST;

pub(in crate::social) fn comment_from_row(r: &Row) -> AppResult<(i64, Comment)> {
    let created = r.int(CommentCols::created_at)?;
    Ok((
        created,
        Comment {
            id: CommentId::from_row(r.text(CommentCols::id)?),
            post_id: PostId::from_row(r.text(CommentCols::post_id)?),
            author: PersonRef::of(
                r.text(CommentCols::author_id)?,
                r.text(CommentCols::author_name)?,
                r.opt_text(CommentCols::author_avatar)?,
            ),
            parent_id: r.opt_text(CommentCols::parent_id)?.map(CommentId::from_row),
            body: r.text(CommentCols::body)?,
            created_at: rfc3339(created),
            replies: Vec::new(),
            reply_count: 0,
        },
    ))
}

/// SQL over comments `cm` (with their post `p`): live, not hidden, on a post the viewer
/// (`$1`) may see, and not by a member blocked with the viewer.
pub(in crate::social) fn comment_readable() -> String {
    format!(
        "cm.deleted_at IS NULL AND cm.hidden_at IS NULL AND {} AND {}",
        no_block("$1", "cm.author_id"),
        post_visible("$1")
    )
}

// ---------------------------------------------------------------------------------------
// Reports

kith_store::columns!(pub(in crate::social) ReportCols {
    "r.id" => id,
    "r.target_kind" => target_kind,
    "r.target_id" => target_id,
    "CASE WHEN r.target_kind = 'post' THEN r.target_id ELSE cm.post_id END" => post_id,
    "r.reporter_id" => reporter_id,
    "a.display_name" => reporter_name,
    "a.avatar_media_id" => reporter_avatar,
    "r.created_at" => created_at,
    "r.reason" => reason,
    "r.resolved_at" => resolved_at,
    "r.resolution" => resolution,
});

/// Reports with their reporter, and the post a reported comment is on.
pub(in crate::social) fn report_select() -> String {
    format!(
        "SELECT {} FROM reports r JOIN accounts a ON a.id = r.reporter_id
         LEFT JOIN comments cm ON r.target_kind = 'comment' AND cm.id = r.target_id",
        ReportCols::LIST
    )
}

pub(in crate::social) fn report_from_row(r: &Row) -> AppResult<Report> {
    let kind = match r.text(ReportCols::target_kind)?.as_str() {
        "post" => ReportTarget::Post,
        "comment" => ReportTarget::Comment,
        other => {
            return Err(AppError::Internal(format!(
                "unknown report target {other:?} in storage"
            )));
        }
    };
    Ok(Report {
        id: r.text(ReportCols::id)?,
        target_kind: kind,
        target_id: r.text(ReportCols::target_id)?,
        post_id: r.opt_text(ReportCols::post_id)?.map(PostId::from_row),
        reporter: PersonRef::of(
            r.text(ReportCols::reporter_id)?,
            r.text(ReportCols::reporter_name)?,
            r.opt_text(ReportCols::reporter_avatar)?,
        ),
        created_at: rfc3339(r.int(ReportCols::created_at)?),
        reason: r.text(ReportCols::reason)?,
        resolved_at: r.opt_int(ReportCols::resolved_at)?.map(rfc3339),
        resolution: r.opt_text(ReportCols::resolution)?,
    })
}

// ---------------------------------------------------------------------------------------
// Communities and their members

// Columns of a community as the viewer (`me`) sees it.
kith_store::columns!(pub(in crate::social) CommunityCols {
    "c.id" => id,
    "c.name" => name,
    "c.description" => description,
    "c.cover_media_id" => cover_media_id,
    "c.tags" => tags,
    "c.join_policy" => join_policy,
    "c.merchant_id" => merchant_id,
    "c.owner_account_id" => owner_account_id,
    "c.parent_id" => parent_id,
    "c.created_at" => created_at,
    "(SELECT COUNT(*) FROM community_members mc WHERE mc.community_id = c.id AND mc.state = 'active')" => member_count,
    "me.role" => my_role,
    "me.state" => my_state,
    "me.joined_at" => my_joined_at,
});

/// The SELECT of a community as seen by the viewer bound at `viewer` (e.g. `"$2"`);
/// callers add `WHERE …`. Its columns are [`CommunityCols`].
pub(in crate::social) fn community_select(viewer: &str) -> String {
    format!(
        "SELECT {} FROM communities c
         LEFT JOIN community_members me ON me.community_id = c.id AND me.account_id = {viewer}",
        CommunityCols::LIST
    )
}

pub(in crate::social) fn community_from_row(r: &Row) -> AppResult<Community> {
    let tags: Vec<String> = serde_json::from_str(&r.text(CommunityCols::tags)?)
        .map_err(|e| AppError::Internal(format!("stored community tags: {e}")))?;
    let state = r
        .opt_text(CommunityCols::my_state)?
        .map(|s| MemberState::from_db(&s))
        .transpose()?;
    let role = match state {
        Some(MemberState::Active | MemberState::Pending) => r
            .opt_text(CommunityCols::my_role)?
            .map(|s| CommunityRole::from_db(&s))
            .transpose()?,
        _ => None,
    };
    Ok(Community {
        id: CommunityId::from_row(r.text(CommunityCols::id)?),
        name: r.text(CommunityCols::name)?,
        description: r.text(CommunityCols::description)?,
        cover_media_id: r.opt_text(CommunityCols::cover_media_id)?,
        tags,
        join_policy: JoinPolicy::from_db(&r.text(CommunityCols::join_policy)?)?,
        merchant_id: r
            .opt_text(CommunityCols::merchant_id)?
            .map(MerchantId::from_row),
        owner_account_id: AccountId::from_row(r.text(CommunityCols::owner_account_id)?),
        parent_id: r
            .opt_text(CommunityCols::parent_id)?
            .map(CommunityId::from_row),
        member_count: r.int(CommunityCols::member_count)?,
        created_at: rfc3339(r.int(CommunityCols::created_at)?),
        my_role: role,
        my_state: state,
    })
}

pub(in crate::social) fn load_community(
    c: &mut dyn Conn,
    id: &str,
    viewer: &str,
) -> AppResult<Community> {
    let sql = format!("{} WHERE c.id = $1", community_select("$2"));
    let r = c
        .query_opt(&sql, args![id, viewer])?
        .ok_or(AppError::NotFound("community"))?;
    community_from_row(&r)
}

// Columns of an active member as the member list shows them.
kith_store::columns!(pub(in crate::social) MemberCols {
    "m.account_id" => account_id,
    "a.display_name" => display_name,
    "a.avatar_media_id" => avatar,
    "m.role" => role,
    "m.opinion_leader" => opinion_leader,
    "m.invited_by" => invited_by,
    "m.invite_id" => invite_id,
    "m.joined_at" => joined_at,
});

// Columns of one membership change.
kith_store::columns!(pub(in crate::social) HistoryCols {
    "e.id" => id,
    "e.account_id" => account_id,
    "a.display_name" => display_name,
    "e.event" => event,
    "e.actor_id" => actor_id,
    "e.related_community_id" => related_community_id,
    "e.at" => at,
});

pub(in crate::social) fn member_from_row(r: &Row) -> AppResult<CommunityMember> {
    Ok(CommunityMember {
        account_id: AccountId::from_row(r.text(MemberCols::account_id)?),
        display_name: r.text(MemberCols::display_name)?,
        avatar: r.opt_text(MemberCols::avatar)?.map(|m| MediaRef::of(&m)),
        role: CommunityRole::from_db(&r.text(MemberCols::role)?)?,
        opinion_leader: r.bool(MemberCols::opinion_leader)?,
        invited_by: r.opt_text(MemberCols::invited_by)?.map(AccountId::from_row),
        invite_id: r.opt_text(MemberCols::invite_id)?.map(InviteId::from_row),
        joined_at: rfc3339(r.int(MemberCols::joined_at)?),
    })
}

pub(in crate::social) fn load_member(
    c: &mut dyn Conn,
    community_id: &str,
    account_id: &str,
) -> AppResult<CommunityMember> {
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM community_members m JOIN accounts a ON a.id = m.account_id
                 WHERE m.community_id = $1 AND m.account_id = $2",
                MemberCols::LIST
            ),
            args![community_id, account_id],
        )?
        .ok_or(AppError::NotFound("member"))?;
    member_from_row(&r)
}

pub(in crate::social) fn announcement_from_row(r: &Row) -> AppResult<Announcement> {
    Ok(Announcement {
        id: r.text(0)?,
        community_id: CommunityId::from_row(r.text(1)?),
        author_id: AccountId::from_row(r.text(2)?),
        author_name: r.text(3)?,
        body: r.text(4)?,
        created_at: rfc3339(r.int(5)?),
    })
}

// ---------------------------------------------------------------------------------------
// Reviews

// Columns of a review joined with its author (`a`) and order line (`l`).
kith_store::columns!(ReviewCols {
    "r.id" => id,
    "r.merchant_id" => merchant_id,
    "r.product_id" => product_id,
    "r.sku_id" => sku_id,
    "l.sku_code" => sku_code,
    "l.attrs" => sku_attrs,
    "r.author_id" => author_id,
    "a.display_name" => author_name,
    "r.rating" => rating,
    "r.body" => body,
    "r.images" => images,
    "r.created_at" => created_at,
    "r.reply_body" => reply_body,
    "r.replied_at" => replied_at,
});

/// Reviews with their author and the order line reviewed; callers add `WHERE …`.
pub(in crate::social) fn review_select() -> String {
    format!(
        "SELECT {} FROM reviews r
         JOIN accounts a ON a.id = r.author_id
         JOIN order_lines l ON l.order_id = r.order_id AND l.line_no = r.line_no",
        ReviewCols::LIST
    )
}

pub(in crate::social) fn review_from_row(r: &Row) -> AppResult<(i64, Review)> {
    let images: Vec<String> = serde_json::from_str(&r.text(ReviewCols::images)?)
        .map_err(|e| AppError::Internal(format!("stored review images: {e}")))?;
    let created = r.int(ReviewCols::created_at)?;
    let reply = match (
        r.opt_text(ReviewCols::reply_body)?,
        r.opt_int(ReviewCols::replied_at)?,
    ) {
        (Some(body), Some(at)) => Some(ReviewReply {
            body,
            replied_at: rfc3339(at),
        }),
        _ => None,
    };
    Ok((
        created,
        Review {
            id: ReviewId::from_row(r.text(ReviewCols::id)?),
            merchant_id: MerchantId::from_row(r.text(ReviewCols::merchant_id)?),
            product_id: ProductId::from_row(r.text(ReviewCols::product_id)?),
            sku_id: SkuId::from_row(r.text(ReviewCols::sku_id)?),
            sku_code: r.text(ReviewCols::sku_code)?,
            sku_attrs: serde_json::from_str(&r.text(ReviewCols::sku_attrs)?)
                .unwrap_or(serde_json::Value::Null),
            author: ReviewAuthor {
                id: AccountId::from_row(r.text(ReviewCols::author_id)?),
                display_name: r.text(ReviewCols::author_name)?,
            },
            rating: r.int(ReviewCols::rating)?,
            body: r.text(ReviewCols::body)?,
            images: images.iter().map(|id| MediaRef::of(id)).collect(),
            verified_purchase: true,
            created_at: rfc3339(created),
            reply,
        },
    ))
}

pub(in crate::social) fn load_review(c: &mut dyn Conn, review_id: &str) -> AppResult<Review> {
    let r = c
        .query_opt(
            &format!("{} WHERE r.id = $1", review_select()),
            args![review_id],
        )?
        .ok_or(AppError::NotFound("review"))?;
    Ok(review_from_row(&r)?.1)
}
