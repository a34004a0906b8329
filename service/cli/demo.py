"""``remap demo``: a seeded synthetic town stored and analysed end to end."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import click

from service.cli.common import handles_errors, json_option, progress, using_store


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("remap-demo"), show_default=True)
@click.option("--seed", default=20181001, show_default=True, type=int)
@json_option
@handles_errors
def demo(out_dir: Path, seed: int, as_json: bool) -> None:
    """Build a demo store from a seeded synthetic town and show what remap does."""
    from service.app.demo import run_demo

    using_store(f"sqlite:///{out_dir / 'remap-demo.db'}")
    # with --json nothing else is said while the demo runs (about a minute)
    with progress("remap demo") if as_json else nullcontext():
        summary = run_demo(out_dir, seed=seed, echo=None if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
