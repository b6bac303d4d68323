"""The chat app's receivers of Django's auth and user-model signals: a portal user's open
sockets close as soon as their session ends — they log out, their password changes,
their account is deactivated or deleted (docs/websocket-protocol.md, "Sessions").

Django's own checks refuse such a session at the next HTTP request; a socket opened
before keeps working unless it is told (chat.events.user_sockets_end), and checks its
session again every few seconds as a backstop (config.sockets). Connected by
chat.apps.ChatConfig.ready()."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save

from chat.events import SessionEnd, user_sockets_end

# Set on a user instance by the pre_save receiver, read by the post_save one.
_PENDING_END = "_portal_sockets_end"


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Only the sockets of the session being logged out: the user's other browsers
    stay logged in."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is None or not session_key:
        return
    user_sockets_end(user_id=user.pk, reason=SessionEnd.LOGGED_OUT, session_key=session_key)


def on_user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Note a password change or a deactivation, comparing with the stored row (one
    query, skipped for saves that cannot change either, such as the login's
    last_login)."""
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    stored = (
        sender._default_manager.filter(pk=instance.pk).values_list("password", "is_active").first()
    )
    if stored is None:
        return
    password, was_active = stored
    if was_active and not instance.is_active:
        setattr(instance, _PENDING_END, SessionEnd.DEACTIVATED)
    elif instance.password != password:
        setattr(instance, _PENDING_END, SessionEnd.PASSWORD_CHANGED)


def on_user_post_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    reason = instance.__dict__.pop(_PENDING_END, None)
    if reason is not None:
        user_sockets_end(user_id=instance.pk, reason=reason)


def on_user_post_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    user_sockets_end(user_id=instance.pk, reason=SessionEnd.DEACTIVATED)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(on_logout, dispatch_uid="chat-sockets-logout")
    pre_save.connect(on_user_pre_save, sender=user_model, dispatch_uid="chat-sockets-user")
    post_save.connect(on_user_post_save, sender=user_model, dispatch_uid="chat-sockets-user")
    post_delete.connect(on_user_post_delete, sender=user_model, dispatch_uid="chat-sockets-user")
