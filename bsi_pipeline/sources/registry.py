"""Which adapter reads which source kind, and with which reference files from the settings."""

from __future__ import annotations

from collections.abc import Callable

from bsi_pipeline.config import Settings
from bsi_pipeline.sources.cfbd_games import read_cfbd_games
from bsi_pipeline.sources.common import SourceResult
from bsi_pipeline.sources.espn_ncaa_baseball_games import read_espn_ncaa_baseball_games
from bsi_pipeline.sources.kaggle_mm_compact import read_kaggle_mm_compact
from bsi_pipeline.sources.nfl_spreadspoke import read_nfl_spreadspoke
from bsi_pipeline.sources.retrosheet_gamelogs import read_retrosheet_gamelogs


def _espn(settings: Settings) -> SourceResult:
    canonical = settings.reference_files("canonical_teams")
    return read_espn_ncaa_baseball_games(
        settings.source_files("espn_ncaa_baseball_games"),
        canonical_teams=canonical[0] if canonical else None,
        registries=settings.reference_files("ncaa_d1_teams"),
    )


# kind -> (what it is, reader taking the settings)
GAME_SOURCES: dict[str, tuple[str, Callable[[Settings], SourceResult]]] = {
    "retrosheet_gamelogs": ("MLB game logs (Retrosheet)",
                            lambda s: read_retrosheet_gamelogs(s.source_files("retrosheet_gamelogs"))),
    "nfl_spreadspoke": ("NFL results with closing lines (spreadspoke)",
                        lambda s: read_nfl_spreadspoke(s.source_files("nfl_spreadspoke"))),
    "cfbd_games": ("college football results (CollegeFootballData)",
                   lambda s: read_cfbd_games(s.source_files("cfbd_games"))),
    "kaggle_mm_compact": ("men's college basketball results (Kaggle March Mania)",
                          lambda s: read_kaggle_mm_compact(s.source_files("kaggle_mm_compact"))),
    "espn_ncaa_baseball_games": ("ESPN college baseball results", _espn),
}
