"""Ingest: raw source files -> typed lines, with every rejected row quarantined with its reason."""


import dagster as dg

from bsi_pipeline.defs.resources import BsiConfig
from bsi_pipeline.markdown import markdown_table
from bsi_pipeline.ncaa.pbp_reader import file_report_frame, lines_frame, quarantine_frame, read_pbp_files


@dg.multi_asset(
    outs={
        "ncaa_pbp_lines": dg.AssetOut(description="Accepted stats.ncaa.org play-by-play rows, typed.",
                                      kinds={"polars", "parquet"}),
        "pbp_quarantine": dg.AssetOut(description="Rejected rows with the reason.", kinds={"polars", "parquet"}),
        "pbp_source_files": dg.AssetOut(description="Rows read, accepted and quarantined per source file.",
                                        kinds={"polars", "parquet"}),
    },
    group_name="ingest",
)
def ncaa_pbp_ingest(context: dg.AssetExecutionContext, bsi: BsiConfig):
    settings = bsi.settings()
    files = settings.source_files("ncaa_baseball_pbp")
    context.log.info(f"reading {len(files)} ncaa_baseball_pbp file(s) from {settings.config_path}")
    result = read_pbp_files(files)
    lines, quarantine, report = lines_frame(result), quarantine_frame(result), file_report_frame(result)
    read = int(report["rows_read"].sum() or 0)
    reasons = quarantine.group_by("reason").len().sort("len", descending=True).head(20)
    yield dg.Output(lines, "ncaa_pbp_lines", metadata={
        "files": len(files), "rows_read": read, "rows_accepted": lines.height,
        "rows_quarantined": quarantine.height, "games": lines["source_game_id"].n_unique(),
    })
    yield dg.Output(quarantine, "pbp_quarantine", metadata={
        "rows": quarantine.height,
        "top_reasons": dg.MetadataValue.md(markdown_table(reasons)),
    })
    yield dg.Output(report, "pbp_source_files", metadata={
        "files": dg.MetadataValue.md(markdown_table(report)),
    })
