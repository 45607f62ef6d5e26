"""Templates and drafts (R12): named bodies to reuse, and bodies being written.

Names are unique among templates and compared as written after trimming spaces. A draft
can become a template once its text is final.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import InputError, TemplateExistsError
from sms_core.store.models import Draft, Template, audit

__all__ = [
    "delete_draft",
    "delete_template",
    "get_draft",
    "get_template",
    "list_drafts",
    "list_templates",
    "promote_draft",
    "rename_template",
    "save_draft",
    "save_template",
]

MAX_NAME = 100
MAX_TITLE = 200
# Far above the 660 characters of one SMS: a long body is split into several (R8).
MAX_BODY = 20_000


def _name(name: str, what: str = "template name", limit: int = MAX_NAME) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InputError(f"the {what} is empty", key="template.empty")
    if len(cleaned) > limit:
        raise InputError(
            f"the {what} is longer than {limit} characters",
            key="template.name_too_long",
            limit=limit,
        )
    return cleaned


def _body(body: str) -> str:
    if not body or not body.strip():
        raise InputError("the message body is empty", key="template.body_empty")
    if len(body) > MAX_BODY:
        raise InputError(
            f"the message body is longer than {MAX_BODY:,} characters",
            key="template.body_too_long",
            limit=MAX_BODY,
        )
    return body


def _find(session: Session, name: str) -> Template | None:
    return session.scalars(select(Template).where(Template.name == name)).one_or_none()


def save_template(session: Session, name: str, body: str, *, actor: str = "system") -> Template:
    """Save ``body`` under ``name``, replacing the body of a template of that name."""
    name, body = _name(name), _body(body)
    template = _find(session, name)
    if template is None:
        template = Template(name=name, body=body)
        session.add(template)
    else:
        template.body = body
        template.updated_at = now_utc()
    try:
        session.flush()
    except IntegrityError:
        raise InputError(
            f"a template named '{name}' was saved at the same moment",
            key="template.race",
            name=name,
        ) from None
    audit(session, actor, "template.save", name=name)
    return template


def get_template(session: Session, name: str) -> Template:
    """The template called ``name``; InputError listing the names there are otherwise."""
    template = _find(session, _name(name))
    if template is None:
        names = [t.name for t in list_templates(session)]
        available = ", ".join(names) if names else "there are none yet"
        raise InputError(
            f"no template named '{name.strip()}' (templates: {available})",
            key="template.missing",
            name=name.strip(),
        )
    return template


def list_templates(session: Session) -> list[Template]:
    """Every template, by name."""
    return list(session.scalars(select(Template).order_by(Template.name)))


def rename_template(session: Session, old: str, new: str, *, actor: str = "system") -> Template:
    """Give a template a new name; InputError when the new name is taken."""
    template = get_template(session, old)
    new = _name(new)
    if new != template.name and _find(session, new) is not None:
        raise InputError(
            f"a template named '{new}' already exists", key="template.exists", name=new
        )
    previous, template.name = template.name, new
    template.updated_at = now_utc()
    session.flush()
    audit(session, actor, "template.rename", old=previous, new=new)
    return template


def delete_template(session: Session, name: str, *, actor: str = "system") -> None:
    """Delete the template called ``name`` (InputError if there is none)."""
    template = get_template(session, name)
    session.delete(template)
    session.flush()
    audit(session, actor, "template.delete", name=template.name)


def save_draft(session: Session, title: str, body: str, draft_id: int | None = None) -> Draft:
    """Save a draft: a new one, or the draft ``draft_id`` edited (an empty body is fine)."""
    title = _name(title, "draft title", MAX_TITLE)
    if len(body) > MAX_BODY:
        raise InputError(
            f"the message body is longer than {MAX_BODY:,} characters",
            key="template.body_too_long",
            limit=MAX_BODY,
        )
    if draft_id is None:
        draft = Draft(title=title, body=body, updated_at=now_utc())
        session.add(draft)
    else:
        draft = get_draft(session, draft_id)
        draft.title, draft.body, draft.updated_at = title, body, now_utc()
    session.flush()
    return draft


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft ``draft_id``; InputError when there is none."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise InputError(f"no draft number {draft_id}", key="draft.missing", id=draft_id)
    return draft


def list_drafts(session: Session) -> list[Draft]:
    """Every draft, most recently edited first."""
    return list(session.scalars(select(Draft).order_by(Draft.updated_at.desc(), Draft.id.desc())))


def delete_draft(session: Session, draft_id: int) -> None:
    """Delete the draft ``draft_id`` (InputError if there is none)."""
    session.delete(get_draft(session, draft_id))
    session.flush()


def promote_draft(
    session: Session,
    draft_id: int,
    name: str | None = None,
    *,
    body: str | None = None,
    overwrite: bool = False,
    actor: str = "system",
) -> Template:
    """Save draft ``draft_id`` as a template (named ``name``, default its title; with
    ``body``, default the draft's), then remove the draft, in the caller's transaction.

    A template of that name already there is refused (TemplateExistsError) unless
    ``overwrite`` is given: turning a draft into a template never replaces one silently.
    """
    draft = get_draft(session, draft_id)
    name = _name(name if name is not None else draft.title)
    if not overwrite and _find(session, name) is not None:
        raise TemplateExistsError(
            f"a template named '{name}' already exists: choose another name, or overwrite it",
            key="template.exists",
            name=name,
        )
    template = save_template(session, name, body if body is not None else draft.body, actor=actor)
    session.delete(draft)
    session.flush()
    audit(session, actor, "draft.promote", draft=draft_id, name=name, overwrite=overwrite)
    return template
