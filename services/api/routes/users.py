"""`/users`: people's logins and roles; admins only."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from services.api.accounts import add_user, disable_user
from services.api.deps import AdminUser, SessionDep, StateDep
from services.api.models import ApiUserRow
from services.api.schemas.common import RowId
from services.api.schemas.users import UserCreate, UserPublic
from services.api.security import Role
from services.ledger import MemberRow, RegistryError

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
def list_users(admin: AdminUser, session: SessionDep) -> list[UserPublic]:
    """Every login, by id."""
    rows = session.scalars(select(ApiUserRow).order_by(ApiUserRow.id)).all()
    return [UserPublic.model_validate(r) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, admin: AdminUser, state: StateDep, session: SessionDep
) -> UserPublic:
    """Give a person a login; a member login names a registered member."""
    if body.member is not None and session.get(MemberRow, body.member) is None:
        raise RegistryError("member", f"{body.member!r} is not a registered member")
    row = add_user(
        session,
        passwords=state.passwords,
        username=body.username,
        password=body.password,
        role=Role(body.role),
        member=body.member,
        now=state.clock(),
    )
    session.commit()
    return UserPublic.model_validate(row)


@router.post("/{user_id}/disable")
def disable(user_id: RowId, admin: AdminUser, state: StateDep, session: SessionDep) -> UserPublic:
    """Stop a login from working, tokens included."""
    row = session.get(ApiUserRow, user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no user {user_id}")
    disable_user(session, row, now=state.clock())
    session.commit()
    return UserPublic.model_validate(row)
