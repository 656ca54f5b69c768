"""The DuckDB warehouse: a view per lake table, rebuilt atomically after the tables change."""


import dagster as dg

from bsi_pipeline.catalog import TABLES
from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.warehouse import build_warehouse


@dg.asset(
    deps=list(TABLES),
    pool="duckdb",
    group_name="warehouse",
    kinds={"duckdb"},
    description="warehouse.duckdb in the workspace: one view per table, for analysts.",
)
def warehouse(context: dg.AssetExecutionContext, bsi: BsiConfig) -> dg.MaterializeResult:
    settings = bsi.settings()
    counts = build_warehouse(settings.warehouse_path, settings.storage, list(TABLES), TABLES)
    missing = sorted(set(TABLES) - set(counts))
    if missing:
        context.log.warning(f"no data yet for: {', '.join(missing)}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(settings.warehouse_path)),
        **{f"rows_{name}": n for name, n in counts.items()},
    })
