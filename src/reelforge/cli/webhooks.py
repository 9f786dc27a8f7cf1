"""`reelforge webhooks`: see webhook deliveries and send one again, on the configured database."""

from typing import Annotated

import typer
from rich.markup import escape

from reelforge.cli.app import DataDir, app, console, operator, settings_of, when
from reelforge.core.webhooks import DeliveryStatus

webhooks_app = typer.Typer(
    help="See webhook deliveries and send one again, on the configured database.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    account: Annotated[str | None, typer.Option(help="only this account's")] = None,
    webhook: Annotated[str | None, typer.Option(help="only this webhook's")] = None,
    status: Annotated[DeliveryStatus | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many")] = 50,
    data_dir: DataDir = None,
) -> None:
    """Webhook deliveries, newest first: status, attempts, the receiver's last answer."""
    from rich.table import Table

    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        found = runtime.webhooks.deliveries(account, webhook, status, limit)
    table = Table("id", "event", "uri", "status", "attempts", "last code", "last error", "created")
    for d in found:
        table.add_row(
            d.id,
            d.event_type,
            escape(d.uri),
            d.status.value,
            str(d.attempts),
            str(d.last_status_code or "-"),
            escape(d.last_error or ""),
            when(d.created_at),
        )
    console.print(table)


@webhooks_app.command("redeliver")
def webhooks_redeliver(
    delivery_id: Annotated[str, typer.Argument(metavar="ID", help="the delivery's id (its webhook-id)")],
    data_dir: DataDir = None,
) -> None:
    """Send a delivery again (same webhook-id and body); a running server sends it within a second."""
    with operator(settings_of(data_dir=data_dir, workers=0)) as runtime:
        delivery = runtime.webhooks.redeliver(delivery_id)
    console.print(f"delivery {delivery.id} to {escape(delivery.uri)} is pending again")
