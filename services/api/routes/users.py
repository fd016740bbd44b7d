"""`/users`: people's logins and roles; admins only."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from services.api import queries
from services.api.accounts import add_user, disable_user
from services.api.deps import AdminUser, DbDep, StateDep
from services.api.schemas.common import RowId
from services.api.schemas.users import UserCreate, UserPublic
from services.api.security import Role
from services.ledger import RegistryError

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
def list_users(admin: AdminUser, db: DbDep) -> list[UserPublic]:
    """Every login, by id."""
    return [UserPublic.model_validate(r) for r in queries.logins(db)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: AdminUser, state: StateDep, db: DbDep) -> UserPublic:
    """Give a person a login; a member login names a registered member."""
    if body.member is not None and queries.member(db, body.member) is None:
        raise RegistryError("member", f"{body.member!r} is not a registered member")
    row = add_user(
        db,
        passwords=state.passwords,
        username=body.username,
        password=body.password,
        role=Role(body.role),
        member=body.member,
        now=state.clock(),
    )
    db.commit()
    return UserPublic.model_validate(row)


@router.post("/{user_id}/disable")
def disable(user_id: RowId, admin: AdminUser, state: StateDep, db: DbDep) -> UserPublic:
    """Stop a login from working, tokens included."""
    row = queries.login(db, user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no user {user_id}")
    disable_user(db, row, now=state.clock())
    db.commit()
    return UserPublic.model_validate(row)
