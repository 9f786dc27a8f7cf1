"""`reelforge doctor`: can every catalog model run here (packages, weights, GPUs)."""

from pathlib import Path
from typing import Annotated

import typer

from reelforge.cli.app import app, console, settings_of


@app.command()
def doctor(
    catalog: Annotated[Path | None, typer.Option(help="model catalog JSON file")] = None,
) -> None:
    """Check that every catalog model can run here: packages, weights, GPUs. Exits 1 on a problem."""
    from rich.table import Table

    from reelforge import doctor as checks
    from reelforge.runtime import open_catalog

    try:
        models = open_catalog(settings_of(catalog_path=catalog))
    except (OSError, ValueError) as exc:
        console.print(f"[red]catalog:[/red] {exc}")
        raise typer.Exit(2) from None
    versions = checks.package_versions()
    console.print(
        "packages: "
        + ", ".join(f"{name} {version or '[dim]absent[/dim]'}" for name, version in versions.items())
    )
    console.print("GPUs: " + (", ".join(checks.devices()) or "none (diffusers engines run on the CPU)"))
    table = Table("model", "engine", "status", "details")
    reports = [checks.check_model(spec) for spec in models.models]
    for report in reports:
        details = [f"[red]{p}[/red]" for p in report.problems] + report.notes
        if report.ok:
            details += [f"{modes}: {where}" for modes, where in report.weights.items()]
        table.add_row(
            report.id, report.engine, "ok" if report.ok else "[red]not ready[/red]", "\n".join(details)
        )
    console.print(table)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)
