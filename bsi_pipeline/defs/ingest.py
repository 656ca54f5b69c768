"""Ingest: raw source files -> typed lines, with every rejected row quarantined with its reason."""


import dagster as dg

from bsi_pipeline.defs.resources import BsiConfig, selected_outputs
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.ncaa.pbp_reader import file_report_frame, lines_frame, quarantine_frame, read_pbp_files


@dg.multi_asset(
    outs={
        "ncaa_pbp_lines": dg.AssetOut(is_required=False, description="Accepted stats.ncaa.org play-by-play rows, typed.",
                                      kinds={"polars", "parquet"}),
        "pbp_quarantine": dg.AssetOut(is_required=False, description="Rejected rows with the reason.", kinds={"polars", "parquet"}),
        "pbp_source_files": dg.AssetOut(is_required=False, description="Rows read, accepted and quarantined per source file.",
                                        kinds={"polars", "parquet"}),
    },
    group_name="ingest",
    can_subset=True,
)
def ncaa_pbp_ingest(context: dg.AssetExecutionContext, bsi: BsiConfig):
    settings = bsi.settings()
    files = settings.source_files("ncaa_baseball_pbp")
    context.log.info(f"reading {len(files)} ncaa_baseball_pbp file(s) from {settings.config_path}")
    result = read_pbp_files(files)
    lines, quarantine, report = lines_frame(result), quarantine_frame(result), file_report_frame(result)
    read = int(report["rows_read"].sum() or 0)
    reasons = quarantine.group_by("reason").len().sort("len", descending=True).head(20)
    yield from selected_outputs(context, {
        "ncaa_pbp_lines": (lines, {
            "files": len(files), "rows_read": read, "rows_accepted": lines.height,
            "rows_quarantined": quarantine.height, "games": lines["source_game_id"].n_unique(),
        }),
        "pbp_quarantine": (quarantine, {"rows": quarantine.height,
                                        "top_reasons": dg.MetadataValue.md(markdown_table(reasons))}),
        "pbp_source_files": (report, {"files": dg.MetadataValue.md(markdown_table(report))}),
    })
