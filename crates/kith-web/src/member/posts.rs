//! The reading and writing side of the member app: a post with its comments and likes, the
//! composer, editing and deleting one's posts, and search (a visitor's too, over everyone's
//! public things). The home page with the feed is `home.rs`.

use super::*;

// --- posts -----------------------------------------------------------------------------

pub(super) async fn post_page(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let p = s.app.get_post(who.as_ref(), &id).await?;
    let comments = s
        .app
        .list_comments(who.as_ref(), &id, PageRequest::first(50))
        .await?
        .items;
    let mine = who.as_ref().is_some_and(|w| w.account_id == p.author.id);
    Ok(render(&pages::PostPage {
        c,
        p,
        comments,
        mine,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct BackForm {
    back: Option<String>,
}

pub(super) async fn like(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<BackForm>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    s.app.like_post(c.principal()?, &id).await?;
    Ok(see(local(f.back.as_deref(), &format!("/posts/{id}"))))
}

pub(super) async fn unlike(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<BackForm>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    s.app.unlike_post(c.principal()?, &id).await?;
    Ok(see(local(f.back.as_deref(), &format!("/posts/{id}"))))
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    #[serde(default)]
    pub(super) body: String,
    /// The comment this replies to (replies go one level deep).
    pub(super) parent_id: Option<String>,
}

pub(super) async fn comment(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    let parent = f.parent_id.as_deref().filter(|p| !p.is_empty());
    let cm = s
        .app
        .add_comment(c.principal()?, &id, &f.body, parent)
        .await?;
    Ok(see(format!(
        "/posts/{id}#comment-{}",
        cm.parent_id.unwrap_or(cm.id)
    )))
}

pub(super) async fn compose_page(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let communities = s
        .app
        .my_communities(&who, PageRequest::first(100))
        .await?
        .items;
    let mut products = Vec::new();
    for shop in s.app.trading_merchants().await? {
        let list = s
            .app
            .list_products(Some(&who), &shop.id, None, PageRequest::first(50))
            .await?;
        for p in list.items {
            for sku in p.skus {
                products.push((
                    sku.id.to_string(),
                    format!("{} · {} ({})", shop.name, p.name, sku.code),
                ));
            }
        }
    }
    Ok(render(&pages::ComposePage {
        c,
        communities,
        products,
    })?
    .into_response())
}

/// The composer's multipart form: text fields, at most one image, the CSRF token.
pub(super) async fn compose(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    mut form: Multipart,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let (mut body, mut visibility, mut community, mut tag, mut csrf) = (
        String::new(),
        String::from("public"),
        String::new(),
        String::new(),
        String::new(),
    );
    let mut image: Option<Vec<u8>> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::invalid("form", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::invalid("image", e.body_text()))?;
            if !bytes.is_empty() {
                image = Some(bytes.to_vec());
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| AppError::invalid(name.clone(), e.body_text()))?;
        match name.as_str() {
            "body" => body = text,
            "visibility" => visibility = text,
            "community_id" => community = text,
            "tag" => tag = text,
            "csrf" => csrf = text,
            _ => {}
        }
    }
    match kith_http::extract::session_token(&headers) {
        Some((t, _)) if csrf == csrf_token(&t) => {}
        _ => return Err(WebError::Csrf),
    }
    let visibility = Visibility::from_db(&visibility)
        .map_err(|_| AppError::invalid("visibility", "must be public, friends or community"))?;
    let mut images = Vec::new();
    if let Some(bytes) = image {
        images.push(s.app.upload_media(&who, bytes).await?.id);
    }
    let post = s
        .app
        .create_post(
            &who,
            NewPost {
                body,
                visibility,
                community_id: (!community.is_empty()).then_some(community),
                images,
                tags: if tag.is_empty() {
                    Vec::new()
                } else {
                    vec![tag]
                },
            },
        )
        .await?;
    Ok(see(format!("/posts/{}", post.id)))
}

// --- editing posts ------------------------------------------------------------------------

pub(super) async fn edit_post_page(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    let who = c.principal()?.clone();
    let p = s.app.get_post(Some(&who), &id).await?;
    if p.author.id != who.account_id {
        return Err(AppError::Forbidden("only its author may change a post".into()).into());
    }
    Ok(render(&sp::PostEditPage { c, p })?.into_response())
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
}

pub(super) async fn edit_post(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    let visibility = Visibility::from_db(&f.visibility)
        .map_err(|_| AppError::invalid("visibility", "must be public, friends or community"))?;
    let patch = PostPatch {
        body: Some(f.body),
        visibility: Some(visibility),
        ..Default::default()
    };
    s.app.update_post(c.principal()?, &id, patch).await?;
    Ok(see(format!("/posts/{id}")))
}

pub(super) async fn delete_post(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let id = PostId::parse_or_404(&id)?;
    s.app.delete_post(c.principal()?, &id).await?;
    Ok(see("/me"))
}

// --- search -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(super) struct SearchParams {
    q: Option<String>,
    scope: Option<String>,
    #[serde(rename = "type")]
    target: Option<String>,
    cursor: Option<String>,
}

/// Search with scopes (friends / following / my communities / everyone), ranked by the
/// search use case; for posts, the "who" view of people in the scope who wrote about it.
/// A visitor searches everyone's public things (the home page's search bar is theirs too).
pub(super) async fn search(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<SearchParams>,
) -> WebResult<Response> {
    use kith_app::discovery::search::SearchQuery;
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let text = q.q.clone().unwrap_or_default();
    let scope = match &who {
        Some(_) => q
            .scope
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "friends".into()),
        None => "everyone".into(),
    };
    let target = q
        .target
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "posts".into());
    let mut page = pages::SearchPage {
        c,
        q: text.clone(),
        scope: scope.clone(),
        target: target.clone(),
        total: 0,
        items: Vec::new(),
        who: Vec::new(),
        next: None,
    };
    if !text.trim().is_empty() {
        let query = SearchQuery::parse(
            Some(&text),
            Some(&scope),
            Some(&target),
            PageRequest::parse(Some(20), q.cursor.as_deref().filter(|c| !c.is_empty()))?,
        )?;
        // The results first, then the who view: the index only grows, so the who view then
        // covers every post the results show (the other way round, a post indexed between
        // the two reads would be listed with no one in the who view).
        let r = s.app.search(who.as_ref(), query.clone()).await?;
        if let Some(who) = &who
            && target == "posts"
            && q.cursor.is_none()
        {
            page.who = s.app.search_who(who, query, 10).await?.people;
        }
        page.total = r.total;
        page.items = r.items;
        page.next = r.next_cursor;
    }
    Ok(render(&page)?.into_response())
}
