//! Communities as a member sees them: the list, a community's page, joining,
//! announcements and invite links.

use super::posts::CommentForm;
use super::*;

// --- communities and me -------------------------------------------------------------------

pub(super) async fn communities(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let list = s.app.browse_communities(&who).await?;
    Ok(render(&pages::CommunitiesPage { c, list })?.into_response())
}

pub(super) async fn community(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = CommunityId::parse_or_404(&id)?;
    let who = c.principal()?.clone();
    let cm = s.app.get_community(Some(&who), &id).await?;
    community_page(&s, c, cm, None).await
}

/// The community page: its posts, and for active members its announcements and the
/// member's invite links (`new_invite`: the URL of one just made, shown once).
pub(super) async fn community_page(
    s: &Web,
    c: Ctx,
    cm: kith_app::social::communities::Community,
    new_invite: Option<String>,
) -> WebResult<Response> {
    use kith_app::social::communities::{CommunityRole, MemberState};
    let who = c.principal()?.clone();
    // Only active members read a community's posts; others see its card and a join button.
    let posts = match s
        .app
        .community_posts(Some(&who), &cm.id, PageRequest::first(20))
        .await
    {
        Ok(p) => p.items,
        Err(AppError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let member = cm.my_state == Some(MemberState::Active);
    let admin = member
        && matches!(
            cm.my_role,
            Some(CommunityRole::Owner | CommunityRole::Admin)
        );
    let (announcements, invites) = if member {
        (
            s.app
                .list_announcements(&who, &cm.id, PageRequest::first(10))
                .await?
                .items,
            s.app.list_invites(&who, &cm.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(render(&pages::CommunityPage {
        c,
        cm,
        posts,
        member,
        admin,
        announcements,
        invites,
        new_invite,
    })?
    .into_response())
}

pub(super) async fn join(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let id = CommunityId::parse_or_404(&id)?;
    s.app.join_community(c.principal()?, &id).await?;
    Ok(see(format!("/communities/{id}")))
}

// --- community announcements and invite links ----------------------------------------------

pub(super) async fn announce(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> WebResult<Response> {
    let id = CommunityId::parse_or_404(&id)?;
    s.app
        .post_announcement(c.principal()?, &id, &f.body)
        .await?;
    Ok(see(format!("/communities/{id}")))
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    expires_in_hours: String,
}

/// Makes an invite link; its code is shown this once, on the page this answers with.
pub(super) async fn create_invite(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<InviteForm>,
) -> WebResult<Response> {
    let id = CommunityId::parse_or_404(&id)?;
    let who = c.principal()?.clone();
    let max_uses = opt_int("max_uses", &f.max_uses)?;
    let hours = opt_int("expires_in_hours", &f.expires_in_hours)?;
    let inv = s.app.create_invite(&who, &id, max_uses, hours).await?;
    let url = inv
        .url_path
        .map(|p| format!("{}{p}", s.app.config.public_url));
    let cm = s.app.get_community(Some(&who), &id).await?;
    community_page(&s, c, cm, url).await
}

/// The inviter, the owner or an admin withdraws an invite link.
pub(super) async fn revoke_invite(
    State(s): State<Web>,
    c: Ctx,
    Path((id, invite_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let id = CommunityId::parse_or_404(&id)?;
    let invite_id = InviteId::parse_or_404(&invite_id)?;
    s.app.revoke_invite(c.principal()?, &id, &invite_id).await?;
    Ok(see(format!("/communities/{id}")))
}

/// An invite code as it may appear in a link (base64url); anything else names no invite.
pub(super) fn invite_code(code: &str) -> WebResult<&str> {
    let ok = !code.is_empty()
        && code.len() <= 128
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(AppError::NotFound("invite").into())
    }
}

pub(super) async fn invite_page(c: Ctx, Path(code): Path<String>) -> WebResult<Response> {
    c.principal()?;
    let code = invite_code(&code)?.to_owned();
    Ok(render(&sp::InvitePage { c, code })?.into_response())
}

pub(super) async fn accept_invite(
    State(s): State<Web>,
    c: Ctx,
    Path(code): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let cm = s
        .app
        .accept_invite(c.principal()?, invite_code(&code)?)
        .await?;
    Ok(see(format!("/communities/{}", cm.id)))
}
