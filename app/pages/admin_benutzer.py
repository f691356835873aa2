"""Benutzerverwaltung: list users, create one, change role/team/active, reset a password."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components import context, queries
from app.components.feedback import show_error
from app.components.fields import FormField
from app.components.i18n import LANGUAGES, current_lang, t
from app.components.object_page import EditForm
from core.errors import DomainError, ValidationFailed
from core.formatting import fmt_datetime
from core.permissions import Role
from core.users import MIN_PASSWORD_LENGTH, UserView, create_user, get_user, set_password, update_user

NS = "users"
lang = current_lang()
teams = queries.team_choices()


def role_label(role: Any) -> str:
    return t(f"role.{Role(role).value}")


PROFILE_FIELDS = [
    FormField("display_name", t("users.display_name"), required=True),
    FormField("email", t("users.email")),
    FormField("role", t("users.role"), "select", list(Role), format_func=role_label, required=True),
    FormField("team_id", t("users.team"), "select", list(teams), format_func=lambda i: teams.get(i, str(i))),
    FormField("locale", t("users.locale"), "select", list(LANGUAGES), format_func=LANGUAGES.get, required=True),
    FormField("is_active", t("users.active"), "bool"),
]
NEW_FIELDS = [
    FormField("username", t("users.username"), required=True, help=t("users.username_help")),
    *PROFILE_FIELDS[:-1],
    FormField("password", t("users.password"), "password", required=True, help=t("users.password_help", n=MIN_PASSWORD_LENGTH)),
]


def users_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("users.username"): frame["username"],
            t("users.display_name"): frame["display_name"],
            t("users.role"): [role_label(r) for r in frame["role"]],
            t("users.team"): frame["team"].fillna("–"),
            t("users.email"): frame["email"].fillna(""),
            t("users.active"): frame["is_active"].astype(bool),
            t("users.last_login"): [fmt_datetime(v, lang) if pd.notna(v) else "–" for v in frame["last_login_at"]],
        }
    )


def create(values: dict[str, Any], _version: int | None, _reason: str | None) -> UserView:
    password = values.pop("password") or ""
    return create_user(context.uow(), values | {"is_active": True}, password=password)


def edit_user(users: pd.DataFrame) -> None:
    names = {int(r.id): f"{r.display_name} ({r.username})" for r in users.itertuples()}
    user_id = st.selectbox(t("users.pick"), list(names), format_func=names.get, key=f"{NS}__pick")
    if user_id is None:
        return
    try:
        user = get_user(context.uow(), user_id)
    except DomainError as exc:
        show_error(exc)
        return

    def save(values: dict[str, Any], expected_version: int | None, _reason: str | None) -> UserView:
        return update_user(context.uow(), user.id, values, expected_version=expected_version)

    values = {f.name: getattr(user, f.name) for f in PROFILE_FIELDS}
    EditForm(ns=f"{NS}_edit", fields=PROFILE_FIELDS, save=save, submit_label=t("common.save"), columns=3).render(
        record_id=user.id, version=user.version, values=values
    )
    st.markdown(f"**{t('users.reset_password')}**")
    with st.form(f"{NS}__password_form", clear_on_submit=True):
        first, second = st.columns(2)
        new = first.text_input(t("users.new_password"), type="password", key=f"{NS}__pw1")
        repeat = second.text_input(t("users.repeat_password"), type="password", key=f"{NS}__pw2")
        submitted = st.form_submit_button(t("users.set_password"), icon=":material/password:")
    if submitted:
        try:
            if new != repeat:
                raise ValidationFailed({"password": t("users.passwords_differ")})
            set_password(context.uow(), user.id, new)
        except DomainError as exc:
            show_error(exc, labels={"password": t("users.new_password")})
        else:
            st.success(t("users.password_set", name=user.username), icon=":material/check_circle:")


st.title(f":material/group: {t('page.users')}")
users = queries.users_table()
list_tab, edit_tab, new_tab = st.tabs([t("users.all"), t("users.edit"), t("users.new")], key=f"{NS}__tab")
with list_tab:
    st.caption(t("users.count", n=len(users)))
    st.dataframe(users_table(users), hide_index=True, width="stretch")
with edit_tab:
    edit_user(users)
with new_tab:
    EditForm(ns=f"{NS}_new", fields=NEW_FIELDS, save=create, submit_label=t("users.create"), columns=3).render(record_id=None, version=None, values={"locale": "de", "role": Role.SALES_REP})
