"""The tables analysts can rely on: lake table name -> one-line description.

The warehouse creates a view for each, with the description as its comment; the README's table
catalog says the same. Keep names stable: analysts' queries depend on them.
"""

from bsi_pipeline.defs.analytics import ANALYTICS_TABLES
from bsi_pipeline.defs.features import FEATURE_TABLES
from bsi_pipeline.defs.game_sources import GAME_SOURCE_TABLES
from bsi_pipeline.defs.games import GAMES_TABLES
from bsi_pipeline.defs.models import MODEL_TABLES
from bsi_pipeline.defs.monitoring import MONITORING_TABLES
from bsi_pipeline.defs.ratings import BETTING_TABLES
from bsi_pipeline.defs.registry import REGISTRY_TABLES

TABLES: dict[str, str] = {
    "ncaa_pbp_lines": "Accepted rows of the NCAA play-by-play sources, typed (one per source row).",
    "pbp_quarantine": "Rejected source rows and games, with the reason.",
    "pbp_source_files": "Per source file: rows read, accepted, quarantined, and a note if truncated.",
    "plays": "One row per play-by-play line: inning, half, teams, batter, pitcher, event type, outs and "
             "bases before/after, runs, RBI, count and pitch sequence, raw text.",
    "play_runners": "Every person moved or put out on a line: start_base 0 = batter; end_base 0 = out, 4 = scored.",
    "pbp_parse_report": "Per game: 'reconciled' with the score column, or 'mismatch' with the first half inning "
                        "that is not and why.",
    "pbp_parse_summary": "Per season: games, games reconciled (%), lines, notes, lines classified (%), also over "
                         "all non-summary lines.",
    "ncaa_pbp_games": "One row per play-by-play game: date, away and home team, final score, innings, reconciled.",
    **GAMES_TABLES,
    "teams": "Teams per season with conference from the NCAA D1 registry; non-D1 teams flagged with a note.",
    "box_batting": "Per batter per game: PA, AB, H, 2B, 3B, HR, R, RBI, BB, IBB, HBP, K, SB, CS, SH, SF.",
    "box_pitching": "Per known pitcher per game: BF, outs recorded, IP, H, R, BB, HBP, K, HR, pitches.",
}
TABLES.update(GAME_SOURCE_TABLES)
TABLES.update({
    "game_forecasts": "Pre-game home-win probability of every game from every rating system (walk-forward).",
    "team_ratings": "elo_fit (and, in college leagues, ridge_margin) rating of each team before and after every "
                    "game (point in time).",
    "elo_settings": "Elo settings per league, season and system, with the earlier-season Brier that chose them.",
    "conference_strength": "Elo and ridge strength by conference and season, margin per game vs average, the "
                           "scoring edge player stats are credited with; independents flagged.",
    **BETTING_TABLES,
    "forecast_metrics": "Per sport, league, season (null = all) and system: games, Brier, log loss, accuracy, ECE.",
})
TABLES.update(ANALYTICS_TABLES)
TABLES.update(FEATURE_TABLES)
TABLES.update(MODEL_TABLES)
TABLES.update(REGISTRY_TABLES)
TABLES.update(MONITORING_TABLES)
