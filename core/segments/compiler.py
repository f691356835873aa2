"""A rule tree becomes ONE SQLAlchemy Core query over `contacts`, run by the database.

Groups become AND / OR (NOT when negated), conditions the catalogue's SQL (mostly `contacts.id IN (SELECT …)` over
indexed columns, built once per query). Contacts whose processing is restricted (Art. 18 DSGVO) at `at` are in no
segment. Nothing is loaded into Python to be filtered: `count` is `SELECT count(*)`, `sample` reads `limit` rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, text, true
from sqlalchemy.orm import Session

from core.consent.gate import active_restrictions
from core.segments.catalogue import CompileContext, catalogue
from core.segments.rules import Condition, Group, Node, parse_rules
from db.models import Account, Contact

Rules = Group | Mapping[str, Any]


@dataclass(frozen=True)
class SampleMember:
    id: int
    first_name: str
    last_name: str
    email: str | None
    account_name: str | None


def matches(
    session: Session, rules: Rules, *, at: dt.datetime, scope: ColumnElement[bool] | None = None
) -> ColumnElement[bool]:
    """The rules as a condition on `contacts` (validated first; restricted contacts never match), to combine with
    other queries over the contacts table. With `scope` (a condition on contacts) the result is exact only for the
    contacts in the scope, and the condition includes the scope (see CompileContext.scope)."""
    prepare_transaction(session)
    unrestricted = not_(Contact.id.in_(active_restrictions("restriction", at).correlate(None)))
    ctx = CompileContext(session=session, at=at, audience=scope, scope=scope)
    tests = [compile_node(ctx, parse_rules(rules)), unrestricted]
    return and_(scope, *tests) if scope is not None else and_(*tests)


# PostgreSQL hashes an `IN (subquery)` inside OR only when the set fits into work_mem (default 4 MB: about 100,000
# ids); a larger set is rescanned for every contact — a segment of "opened OR clicked in 90 days" over 5,000,000
# activities ran for more than ten minutes. The evaluating transaction gets room for a few million ids.
PG_WORK_MEM = "64MB"


def prepare_transaction(session: Session) -> None:
    """On PostgreSQL, memory to hash the sets (PG_WORK_MEM) for the evaluating transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))


def compile_rules(session: Session, rules: Rules, *, at: dt.datetime) -> Select[tuple[int]]:
    """SELECT contacts.id of every contact the rules match at `at`."""
    return select(Contact.id).where(matches(session, rules, at=at))


def count(session: Session, rules: Rules, *, at: dt.datetime) -> int:
    """How many contacts the rules match, counted in the database."""
    stmt = select(func.count()).select_from(Contact).where(matches(session, rules, at=at))
    return int(session.scalar(stmt) or 0)


def sample(session: Session, rules: Rules, *, at: dt.datetime, limit: int = 10) -> list[SampleMember]:
    """The first `limit` matching contacts by id, with their company (for the builder's preview)."""
    ids = list(session.scalars(compile_rules(session, rules, at=at).order_by(Contact.id).limit(limit)))
    if not ids:
        return []
    rows = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Account.name)
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
    )
    return [SampleMember(*row) for row in rows]


def compile_node(ctx: CompileContext, node: Node) -> ColumnElement[bool]:
    """SQL of one (validated) node: a condition through its catalogue entry, a group from its children.
    An empty AND group is TRUE (everyone), an empty OR group FALSE (no one).

    In an AND group that is not negated, the children with a narrowing condition (the consent gate) are compiled
    with their other siblings added to the audience, so the expensive set is built only among the contacts those
    siblings let through; when such a child is confined to its audience, the siblings need no second test outside.
    """
    if isinstance(node, Condition):
        return catalogue()[node.field].compile(ctx, node)
    plain = {i: compile_node(ctx, child) for i, child in enumerate(node.children) if not _narrows(child)}
    narrowing = _pushes_down(node) and bool(plain)
    inner = ctx
    if narrowing:
        siblings = list(plain.values())
        inner = replace(ctx, audience=and_(*siblings) if ctx.audience is None else and_(ctx.audience, *siblings))
    narrowed = {i: compile_node(inner, child) for i, child in enumerate(node.children) if i not in plain}
    if narrowing and any(_confined(node.children[i]) for i in narrowed):
        parts = list(narrowed.values())
    else:
        parts = [plain[i] if i in plain else narrowed[i] for i in range(len(node.children))]
    if node.op == "and":
        combined = and_(*parts) if parts else true()
    else:
        combined = or_(*parts) if parts else false()
    return not_(combined) if node.negate else combined


def _pushes_down(node: Group) -> bool:
    return node.op == "and" and not node.negate


def _narrows(node: Node) -> bool:
    if isinstance(node, Condition):
        return catalogue()[node.field].narrows
    return any(_narrows(child) for child in node.children)


def _confined(node: Node) -> bool:
    """Whether the node's SQL matches only members of the audience it is compiled with."""
    if isinstance(node, Condition):
        return node.operator in catalogue()[node.field].confined
    return _pushes_down(node) and any(_confined(child) for child in node.children)
