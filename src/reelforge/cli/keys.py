"""`reelforge keys`: issue, list, revoke and change API keys on the configured database (as `serve`
uses it; it works while the server runs). Keys are shown once: `keys create` prints the new key
as the last line of its output."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from reelforge.cli.app import DataDir, app, console, operator, settings_of, when

if TYPE_CHECKING:
    from pydantic import BaseModel

    from reelforge.core.accounts import Account, ApiKey
    from reelforge.core.webhooks import Webhook

keys_app = typer.Typer(
    help="Issue, list, revoke and change API keys on the configured database (as `serve` uses it).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
KEY_OR_PREFIX = "the key, its prefix (rf_ and 8 characters, as `keys list` shows) or its id"


OPTION_OF = {
    "name": "--name",
    "credits_usd": "--credits",
    "account_id": "--account",
    "webhook_url": "--webhook-url",
    "webhook_api_key": "--webhook-api-key",
}


def _checked(model: "type[BaseModel]", values: dict) -> "BaseModel":
    """The admin API's request model, so the CLI and the API share one set of rules."""
    from pydantic import ValidationError

    from reelforge.core.errors import first_error

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        field, message, _ = first_error(exc)
        hint = OPTION_OF.get(field, f"--{field}") if field else None
        raise typer.BadParameter(message, param_hint=hint) from None


def _balance(account: "Account") -> str:
    return "unlimited" if account.balance_usd is None else f"${account.balance_usd}"


def _rpm(key: "ApiKey", default_rpm: int) -> str:
    return f"default ({default_rpm})" if key.rpm is None else str(key.rpm)


def _concurrency(account: "Account") -> str:
    return "unlimited" if account.concurrency is None else str(account.concurrency)


def _limits(key: "ApiKey", account: "Account", default_rpm: int) -> str:
    return f"credits {_balance(account)}, rpm {_rpm(key, default_rpm)}, concurrency {_concurrency(account)}"


def _named(key: "ApiKey") -> str:
    return f"{key.prefix} '{escape(key.name)}'"


def _callback(webhook: "Webhook | None") -> str:
    if webhook is None:
        return "webhook callback: none"
    bearer = ", with a bearer key" if webhook.bearer else ""
    return f"webhook callback: {escape(webhook.uri)} ({webhook.state.value}{bearer})"


WebhookUrl = Annotated[
    str | None,
    typer.Option(help="Leonardo webhook callback URL for this key's generations; `none` removes it (update)"),
]
WebhookApiKey = Annotated[
    str | None,
    typer.Option(help="sent to the callback as `Authorization: Bearer <it>`; `none` removes it (update)"),
]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    admin: Annotated[bool, typer.Option("--admin", help="may call the admin API (/admin/v1)")] = False,
    credits: Annotated[str | None, typer.Option(help="balance in USD (default: unlimited)")] = None,
    rpm: Annotated[
        int | None, typer.Option(help="creates per minute (default: REELFORGE_CREATE_RPM)")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="jobs queued or running at once (default: unlimited)")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="add the key to this account (rotation) instead of a new one")
    ] = None,
    webhook_url: WebhookUrl = None,
    webhook_api_key: WebhookApiKey = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a key; the key itself is the last line of the output, shown this once."""
    from reelforge.api.admin import KeyCreate, issue_key

    values = dict(name=name, admin=admin, credits_usd=credits, rpm=rpm, concurrency=concurrency)
    webhook = dict(webhook_url=webhook_url, webhook_api_key=webhook_api_key)
    body = _checked(KeyCreate, {**values, **webhook, "account_id": account})
    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        issued, callback = issue_key(runtime.service, body)
        limits = _limits(issued.api_key, issued.account, runtime.settings.create_rpm)
    role = "admin key" if issued.api_key.admin else "key"
    console.print(f"{role} {_named(issued.api_key)} of account {issued.account.id}")
    console.print(limits)
    if callback is not None:
        console.print(_callback(callback))
    console.print("store the key now: it is not shown again, only its hash is kept")
    typer.echo(issued.key)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """Every key with its account, limits, balance and webhook callback (never the key itself)."""
    from rich.table import Table

    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        rows = runtime.service.accounts.keys()
        callbacks = runtime.webhooks.of_keys([key.id for key, _ in rows])
        default_rpm = runtime.settings.create_rpm
    table = Table(
        "name",
        "prefix",
        "account",
        "admin",
        "rpm",
        "concurrency",
        "balance",
        "created",
        "last used",
        "revoked",
        "webhook callback",
    )
    for key, account in rows:
        table.add_row(
            escape(key.name),
            key.prefix,
            account.id,
            "yes" if key.admin else "",
            _rpm(key, default_rpm),
            _concurrency(account),
            _balance(account),
            when(key.created_at),
            when(key.last_used_at, "never"),
            when(key.revoked_at),
            escape(callbacks[key.id].uri) if key.id in callbacks else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_or_prefix: Annotated[str, typer.Argument(metavar="KEY_OR_PREFIX", help=KEY_OR_PREFIX)],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: every API node refuses it (401) from its next request on."""
    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        key = runtime.service.accounts.revoke(key_or_prefix)
    console.print(f"revoked {_named(key)} (at {when(key.revoked_at)})")


@keys_app.command("update")
def keys_update(
    key_or_prefix: Annotated[str, typer.Argument(metavar="KEY_OR_PREFIX", help=KEY_OR_PREFIX)],
    credits: Annotated[
        str | None, typer.Option(help="set the account's balance, USD; `unlimited` removes the limit")
    ] = None,
    rpm: Annotated[
        str | None, typer.Option(help="creates per minute of this key; `default`: REELFORGE_CREATE_RPM")
    ] = None,
    concurrency: Annotated[
        str | None, typer.Option(help="the account's jobs queued or running at once; `unlimited`")
    ] = None,
    webhook_url: WebhookUrl = None,
    webhook_api_key: WebhookApiKey = None,
    data_dir: DataDir = None,
) -> None:
    """Change a key's rpm or webhook callback, or its account's credits or concurrency; options left
    out stay as they are."""
    from reelforge.api.admin import KeyUpdate, update_key_of

    given = {}
    for field, value, clear in (
        ("credits_usd", credits, "unlimited"),
        ("rpm", rpm, "default"),
        ("concurrency", concurrency, "unlimited"),
        ("webhook_url", webhook_url, "none"),
        ("webhook_api_key", webhook_api_key, "none"),
    ):
        if value is not None:
            given[field] = None if value == clear else value
    if not given:
        raise typer.BadParameter("give --credits, --rpm, --concurrency, --webhook-url or --webhook-api-key")
    body = _checked(KeyUpdate, given)
    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        key, account, callback = update_key_of(runtime.service, key_or_prefix, body)
        limits = _limits(key, account, runtime.settings.create_rpm)
    console.print(f"updated {_named(key)} of account {account.id}: {limits}")
    console.print(_callback(callback))
