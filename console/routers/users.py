"""Administration of users and API tokens (admin role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bldgwatch.console.auth import Admin
from bldgwatch.console.deps import AppClock, DbSession
from bldgwatch.console.errors import ConflictError, NotFoundError
from bldgwatch.console.models import ApiTokenRow, UserRow
from bldgwatch.console.paging import Page, Paging, page_of
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_auth import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from bldgwatch.console.security import hash_password
from bldgwatch.console.users import check_roles, new_token, new_user

router = APIRouter(prefix="/api", tags=["users"])

UserName = Annotated[str, Path(max_length=64, description="User name.")]


@router.get(
    "/users",
    response_model=Page[UserOut],
    responses=problem_docs(401, 403, 422),
    summary="List users",
)
def list_users(*, session: DbSession, user: Admin, paging: Paging) -> Page[UserOut]:
    """Every user account, by name."""
    return page_of(session, select(UserRow), (UserRow.name,), paging, UserOut)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses=problem_docs(400, 401, 403, 409, 422),
    summary="Create a user",
)
def create_user(*, session: DbSession, user: Admin, clock: AppClock, body: UserCreate) -> UserOut:
    """A new account with a password hashed by argon2id."""
    if session.get(UserRow, body.name) is not None:
        raise ConflictError(f"user {body.name} already exists")
    row = new_user(
        name=body.name,
        password=body.password,
        roles=body.roles,
        sites=body.sites,
        at=clock.now(),
        display_name=body.display_name,
    )
    session.add(row)
    session.commit()
    return UserOut.model_validate(row)


@router.patch(
    "/users/{name}",
    response_model=UserOut,
    responses=problem_docs(400, 401, 403, 404, 422),
    summary="Change a user",
)
def update_user(*, session: DbSession, user: Admin, name: UserName, body: UserUpdate) -> UserOut:
    """Reset the password, change roles, sites or name, or disable the account."""
    row = session.get(UserRow, name)
    if row is None:
        raise NotFoundError(f"user {name} does not exist")
    if body.password is not None:
        row.password_hash = hash_password(body.password)
    if body.roles is not None:
        row.roles = check_roles(body.roles)
    if body.all_sites:
        row.sites = None
    elif body.sites is not None:
        row.sites = sorted(set(body.sites))
    if body.display_name is not None:
        row.display_name = body.display_name
    if body.disabled is not None:
        row.disabled = body.disabled
    session.commit()
    return UserOut.model_validate(row)


@router.get(
    "/tokens",
    response_model=Page[ApiTokenOut],
    responses=problem_docs(401, 403, 422),
    summary="List API tokens",
)
def list_tokens(*, session: DbSession, user: Admin, paging: Paging) -> Page[ApiTokenOut]:
    """Every API token's record (never the secret), newest first."""
    return page_of(session, select(ApiTokenRow), (ApiTokenRow.id.desc(),), paging, ApiTokenOut)


@router.post(
    "/tokens",
    response_model=ApiTokenCreated,
    status_code=201,
    responses=problem_docs(400, 401, 403, 422),
    summary="Create an API token",
)
def create_token(
    *, session: DbSession, user: Admin, clock: AppClock, body: ApiTokenCreate
) -> ApiTokenCreated:
    """A machine credential with roles and sites; the secret is in this answer only."""
    row, token = new_token(
        name=body.name,
        roles=body.roles,
        sites=body.sites,
        created_by=user.name,
        at=clock.now(),
        expires_at=body.expires_at,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError as err:  # a token hash collision is astronomically unlikely
        raise ConflictError("token could not be stored; try again") from err
    out = ApiTokenOut.model_validate(row)
    return ApiTokenCreated(**out.model_dump(), token=token)


@router.delete(
    "/tokens/{token_id}",
    response_model=ApiTokenOut,
    responses=problem_docs(401, 403, 404, 422),
    summary="Revoke an API token",
)
def revoke_token(
    *,
    session: DbSession,
    user: Admin,
    token_id: Annotated[int, Path(ge=1, description="Token id.")],
) -> ApiTokenOut:
    """The token stops working at once."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist")
    row.revoked = True
    session.commit()
    return ApiTokenOut.model_validate(row)
