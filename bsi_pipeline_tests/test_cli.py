"""`bsi materialize`: headless, in-process, non-zero exit on failure."""

import gzip

import duckdb

from bsi_pipeline.cli import main
from bsi_pipeline.config import load_settings
from bsi_pipeline_tests.conftest import EMBEDDED_PBP, write_config


def small_sample(tmp_path, games=6):
    """The first few real games of the embedded 2021 sample, as a plain CSV."""
    with gzip.open(EMBEDDED_PBP[-1], "rt", newline="") as f:
        lines = f.readlines()
    keep, seen = [lines[0]], []
    for line in lines[1:]:
        gid = line.split(",", 1)[0]
        if gid not in seen:
            if len(seen) == games:
                break
            seen.append(gid)
        keep.append(line)
    path = tmp_path / "sample.csv"
    path.write_text("".join(keep))
    return path, seen


def test_materialize_selection_then_everything(tmp_path, capsys):
    sample, game_ids = small_sample(tmp_path)
    config = write_config(tmp_path, [sample])
    assert main(["materialize", "--config", str(config), "--select", "ncaa_pbp_lines"]) == 0
    settings = load_settings(config)
    assert (settings.lake / "ncaa_pbp_lines").exists() and not (settings.lake / "plays").exists()
    assert main(["materialize", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert str(settings.warehouse_path) in out and "play-by-play parsing" in out
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("SELECT count(*) FROM games").fetchall()[0][0] == len(game_ids)
    con.close()


def test_missing_column_fails_the_run_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("game_id,date,inning\n1,02/19/2021,1\n")
    config = write_config(tmp_path, [bad])
    assert main(["materialize", "--config", str(config)]) == 1
    assert "missing required column(s)" in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path, capsys):
    config = tmp_path / "bsi.yaml"
    config.write_text("sources: {}\n")
    assert main(["materialize", "--config", str(config)]) == 2
    assert "missing required key 'workspace'" in capsys.readouterr().err


def test_unknown_selection_exits_2(tmp_path, capsys):
    sample, _ = small_sample(tmp_path, games=1)
    config = write_config(tmp_path, [sample])
    assert main(["materialize", "--config", str(config), "--select", "no_such_asset"]) == 2
    assert "invalid --select 'no_such_asset'" in capsys.readouterr().err
