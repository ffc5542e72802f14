"""Request and response schemas of the auth API."""

from __future__ import annotations

import marshmallow as ma

from oms.auth.enums import UserRole
from oms.pagination import PageQuerySchema, sort_field
from oms.schemas import Boolean, CountryCode, StrictSchema


class LoginSchema(StrictSchema):
    """Email and password of a login."""

    email = ma.fields.Email(required=True)
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class AddressSchema(StrictSchema):
    """A postal address; ``line2`` and ``region`` are optional."""

    name = ma.fields.String(validate=ma.validate.Length(max=200))
    line1 = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    line2 = ma.fields.String(validate=ma.validate.Length(max=200))
    city = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    region = ma.fields.String(validate=ma.validate.Length(max=100))
    postal_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    country = CountryCode(required=True)


class RegisterSchema(StrictSchema):
    """A customer's self-registration."""

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=255))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=200))
    first_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    last_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    phone = ma.fields.String(validate=ma.validate.Length(max=40))
    address = ma.fields.Nested(AddressSchema)


class UserSchema(ma.Schema):
    """A user as the API shows them (never the password hash)."""

    id = ma.fields.UUID()
    email = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    role = ma.fields.Enum(UserRole, by_value=True)
    is_active = ma.fields.Boolean()
    customer_id = ma.fields.Function(
        lambda user: str(user.customer.id) if user.customer else None, allow_none=True
    )
    created_at = ma.fields.DateTime()


class TokensSchema(ma.Schema):
    """The tokens of a new login, and who logged in."""

    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    user = ma.fields.Nested(UserSchema)


class RefreshedTokensSchema(ma.Schema):
    """A renewed access token, and the refresh token that replaces the one just spent."""

    access_token = ma.fields.String()
    refresh_token = ma.fields.String()


class MessageSchema(ma.Schema):
    """A short confirmation."""

    message = ma.fields.String()


class UserCreateSchema(StrictSchema):
    """An admin creating a user of any role."""

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=255))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=200))
    role = ma.fields.Enum(UserRole, by_value=True, required=True)
    first_name = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    last_name = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))


class UserUpdateSchema(StrictSchema):
    """An admin changing a user's role or active flag."""

    role = ma.fields.Enum(UserRole, by_value=True)
    is_active = Boolean()
    first_name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    last_name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))


class UserListQuerySchema(PageQuerySchema):
    """Filters of the user list."""

    role = ma.fields.Enum(UserRole, by_value=True)
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    sort = sort_field(("created_at", "email"), "-created_at")


class PasswordChangeSchema(StrictSchema):
    """The current password (proof it is the user, not a borrowed session) and the new one."""

    current_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=200))


class PasswordResetRequestSchema(StrictSchema):
    """The email of the account whose password was forgotten."""

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=255))


class RegisterConfirmSchema(StrictSchema):
    """The token from the confirmation email of a registration."""

    token = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class PasswordResetConfirmSchema(StrictSchema):
    """The token from the reset email and the new password."""

    token = ma.fields.String(required=True, validate=ma.validate.Length(max=200))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=200))


class LoginLockSchema(ma.Schema):
    """A login lock in force: failed logins spent an account's or an address's budget, and
    attempts from devices that never logged in to the account (or from that address) wait."""

    kind = ma.fields.String(metadata={"enum": ["account", "address"]})
    key = ma.fields.String(metadata={"description": "The account's email, or the address"})
    locked_at = ma.fields.DateTime()
    locked_until = ma.fields.DateTime()


class LoginLockListSchema(ma.Schema):
    """Every login lock in force, newest first."""

    items = ma.fields.List(ma.fields.Nested(LoginLockSchema))
