"""The few portal functions the benchmarks call in-process, found in whichever checkout
this process measures (`--code`): the code after the per-noun split of chat/services.py
and chat/selectors.py, or the code before it. Call after stack.setup_django()."""

from typing import Any


def _split() -> bool:
    """True for the per-noun packages (chat/services/…), False for the old modules."""
    import chat.services

    return hasattr(chat.services, "__path__")


def csr_role_name() -> str:
    """The name of the CSR group (config.users.Role, formerly portal.roles.Role)."""
    if _split():
        from config.users import Role
    else:
        from portal.roles import Role  # type: ignore[no-redef]
    return Role.CSR.value


def bot_client_create(**kwargs: Any) -> tuple[Any, str]:
    """(BotClient, token)."""
    if _split():
        from chat.services.bot_clients import bot_client_create as create
    else:
        from chat.services import bot_client_create as create  # type: ignore[no-redef]
    return create(**kwargs)


def message_create(**kwargs: Any) -> Any:
    if _split():
        from chat.services.messages import message_create as create
    else:
        from chat.services import message_create as create  # type: ignore[no-redef]
    return create(**kwargs)


def customer_token_create(*, interaction: Any) -> str:
    if _split():
        from chat.services.customers import customer_token_create as create
    else:
        from chat.services import _customer_token_create as create  # type: ignore[no-redef]
    return create(interaction=interaction)


def app_studio_settings_get() -> Any:
    if _split():
        from chat.selectors.settings import app_studio_settings_get as get
    else:
        from chat.selectors import app_studio_settings_get as get  # type: ignore[no-redef]
    return get()


def customer_snapshot(customer: Any) -> dict[str, Any]:
    """The Interaction fields that keep the customer as they were during the chat, for
    Interaction.objects.create(); none in code older than those fields."""
    from chat.models import Interaction

    try:
        from chat.services.customers import customer_snapshot as snapshot
    except ImportError:
        return {}
    fields = {field.name for field in Interaction._meta.get_fields()}
    return {k: v for k, v in snapshot(customer=customer).items() if k in fields}
