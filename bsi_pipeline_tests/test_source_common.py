"""Helpers every source reader shares."""

from pathlib import Path

from bsi_pipeline.sources.common import canonical_number, file_labels


def test_file_labels_are_names_until_two_files_share_one():
    paths = [Path("/data/statcast/2021/savant.csv"), Path("/data/statcast/2022/savant.csv"),
             Path("/data/statcast/extra.csv"), Path("/backup/2021/savant.csv")]
    assert file_labels(paths) == {
        paths[0]: "statcast/2021/savant.csv", paths[1]: "2022/savant.csv", paths[2]: "extra.csv",
        paths[3]: "backup/2021/savant.csv"}
    # one path given twice is one file (the config de-duplicates; a reader's caller may not)
    assert file_labels([paths[2], paths[2]]) == {paths[2]: "extra.csv"}
    assert file_labels(["GL2019.TXT.gz"]) == {Path("GL2019.TXT.gz"): "GL2019.TXT.gz"}


def test_canonical_number_drops_leading_zeros_of_digit_ids_only():
    assert [canonical_number(v) for v in ("0401631919", "7", "000", "4005x7870", "", None, "²")] == [
        "401631919", "7", "0", "4005x7870", "", None, "²"]
