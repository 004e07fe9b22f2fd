"""Managing the staff: invite a colleague, set a role, deactivate and reactivate.

Each function checks what must hold (one active admin at least), writes,
records the audit entry and sends the mail, in one place.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from contacts.audit import Action, audit_record
from marketing_site.roles import ADMIN, role_assign, user_role

User = get_user_model()


class TeamChangeRefused(Exception):
    """A change that would leave the team without an admin, or that the UI cannot make."""


def active_admins():
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMIN))
        .distinct()
    )


def _check_not_last_admin(user) -> None:
    if user_role(user) == ADMIN and not active_admins().exclude(pk=user.pk).exists():
        raise TeamChangeRefused(
            f"{user.get_username()} is the last admin. Make someone else an admin first."
        )


def invitation_url(user) -> str:
    """The one-time link to set a password (Django's password reset token)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def _invitation_send(user, invited_by) -> None:
    context = {
        "user": user,
        "role": user_role(user),
        "invited_by": invited_by.get_full_name() or invited_by.get_username(),
        "url": invitation_url(user),
        "site_url": settings.SITE_URL,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    subject = render_to_string("emails/invitation_subject.txt", context)
    mail = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # one line, whatever the template holds
        body=render_to_string("emails/invitation_body.txt", context),
        to=[user.email],
    )
    mail.attach_alternative(render_to_string("emails/invitation_body.html", context), "text/html")
    mail.send()


@transaction.atomic
def user_invite(*, email: str, role: str, invited_by):
    """A new account with no password yet, and a mail with the link to set one."""
    user = User(username=email, email=email, is_active=True)
    user.set_unusable_password()
    user.save()
    role_assign(user, role)
    audit_record(actor=invited_by, action=Action.USER_INVITED, target=user, details={"role": role})
    transaction.on_commit(lambda: _invitation_send(user, invited_by))
    return user


def user_is_invited(user) -> bool:
    """Invited, and has not set a password yet."""
    return not user.has_usable_password() and user.last_login is None


@transaction.atomic
def user_invite_again(*, user, invited_by) -> None:
    """A fresh link for a colleague whose invitation expired or got lost."""
    if not user_is_invited(user) or not user.is_active:
        raise TeamChangeRefused(f"{user.get_username()} has already set a password.")
    audit_record(actor=invited_by, action=Action.USER_INVITED, target=user, details={"again": True})
    transaction.on_commit(lambda: _invitation_send(user, invited_by))


@transaction.atomic
def user_set_role(*, user, role: str, actor) -> None:
    old = user_role(user)
    if user.is_superuser:
        raise TeamChangeRefused("A superuser is always an admin; change it in the Django admin.")
    if old == role:
        return
    if role != ADMIN:
        _check_not_last_admin(user)
    role_assign(user, role)
    audit_record(
        actor=actor, action=Action.ROLE_CHANGED, target=user, details={"from": old, "to": role}
    )


@transaction.atomic
def user_deactivate(*, user, actor) -> None:
    """The account can no longer sign in; its sessions stop working at once."""
    if not user.is_active:
        return
    _check_not_last_admin(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action=Action.USER_DEACTIVATED, target=user)


@transaction.atomic
def user_reactivate(*, user, actor) -> None:
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action=Action.USER_REACTIVATED, target=user)
