"""The DuckDB warehouse: a view per lake table, rebuilt atomically after the tables change."""


import dagster as dg

from bsi_pipeline.catalog import TABLES
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.lake import unknown_tables
from bsi_pipeline.warehouse import build_warehouse


def _asset_tables() -> set[str]:
    """Every lake table an asset of the code location writes (its IO manager names them after the asset)."""
    from bsi_pipeline.definitions import ASSETS  # the code location imports this module

    return {key.path[-1] for asset in ASSETS for key in asset.keys}


@dg.asset(
    deps=list(TABLES),
    pool="duckdb",
    group_name="warehouse",
    kinds={"duckdb"},
    description="warehouse.duckdb in the workspace: one view per table, for analysts.",
)
def warehouse(context: dg.AssetExecutionContext, bsi: BsiConfig) -> dg.MaterializeResult:
    settings = bsi.settings()
    lake = settings.storage
    counts = build_warehouse(settings.warehouse_path, lake, list(TABLES), TABLES)
    missing = sorted(set(TABLES) - set(counts))
    if missing:
        context.log.warning(f"no data yet for: {', '.join(missing)}")
    stray = unknown_tables(lake, {*TABLES, *_asset_tables()})
    if stray:
        context.log.warning(f"lake tables no asset writes (not in the warehouse; remove them if unwanted): "
                            f"{', '.join(stray)}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(settings.warehouse_path)),
        "unknown_lake_tables": ", ".join(stray) or "none",
        **{f"rows_{name}": n for name, n in counts.items()},
    })
