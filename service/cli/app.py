"""The ``remap`` command group: global options and every command group.

``remap --help`` and ``remap --version`` import only click and these
modules; each command imports the analysis and the store when it runs.
"""

from __future__ import annotations

import click

from service import log
from service.cli.analysis import autocorrelation_cmd, counts_cmd, hotspots_cmd, layers_cmd
from service.cli.audit import audit_group
from service.cli.backup import backup_cmd, restore_cmd
from service.cli.batch import batch_group
from service.cli.demo import demo
from service.cli.displacement import displacement_group
from service.cli.emerging import emerging_cmd
from service.cli.export import export_cmd
from service.cli.gazetteer import gazetteer_group, geocode_cmd
from service.cli.harm_index import harm_index_group
from service.cli.imports import boundaries_group, import_group
from service.cli.keys import keys_group
from service.cli.maps import map_group, pack_group
from service.cli.near_repeat import near_repeat_cmd
from service.cli.operations import operation_group
from service.cli.profile import profile_cmd
from service.cli.serve import migrate, serve
from service.cli.streets import streets_group
from service.cli.watch import watch_group


@click.group()
# the version is pyproject.toml's, read from the installed metadata only when asked
@click.version_option(package_name="remap", prog_name="remap")
@click.option("--verbose", "-v", is_flag=True,
              help="log the start and end of long steps to stderr")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="where `remap batch` runs: local (a LocalCluster, the default) or a Dask "
                   "scheduler such as tcp://host:8786 (else REMAP_DASK_ADDRESS)")
@click.pass_context
def main(ctx: click.Context, verbose: bool, dask_address: str | None) -> None:
    """remap: hotspot and displacement analysis for drug-market policing."""
    ctx.ensure_object(dict)
    ctx.obj["dask"] = dask_address
    log.configure(verbose)


for _command in (import_group, boundaries_group, layers_cmd, counts_cmd, hotspots_cmd,
                 autocorrelation_cmd, map_group, pack_group, keys_group, serve, migrate,
                 demo, operation_group, displacement_group, audit_group, harm_index_group):
    main.add_command(_command)
main.add_command(profile_cmd)
main.add_command(export_cmd)
main.add_command(near_repeat_cmd)
main.add_command(emerging_cmd)
main.add_command(watch_group)
for _command in (backup_cmd, restore_cmd):  # deployment: the store copied and back
    main.add_command(_command)
main.add_command(gazetteer_group)
main.add_command(geocode_cmd)
main.add_command(streets_group)
main.add_command(batch_group)
