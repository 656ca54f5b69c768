"""College player keys (bsi_pipeline/ncaa/player_names.py): one pitcher across the name forms scorers write."""

from __future__ import annotations

import polars as pl
import pytest

from bsi_pipeline.ncaa.player_names import name_parts, player_keys, with_player_key


@pytest.mark.parametrize("written, parts", [
    # forms seen for one pitcher in the 2021 play-by-play, and the shapes around them
    ("KEY, Jacob", ("key", "j")), ("KEY", ("key", "")), ("BOULDIN,K.", ("bouldin", "k")),
    ("K. BOULDIN", ("bouldin", "k")), ("J Milch", ("milch", "j")), ("J. Milch", ("milch", "j")),
    ("HATHCOCK,Dyl", ("hathcock", "d")), ("Luke Johnson", ("johnson", "l")), ("BERNHARDT L", ("bernhardt", "l")),
    ("Jo. Smith", ("smith", "j")), ("R. Black III", ("black", "r")), ("Black III", ("black", "")),
    ("Smith Jr., John", ("smith", "j")), ("O'Neil, P.", ("oneil", "p")), ("J. Van Buren", ("vanburen", "j")),
    ("De La Cruz", ("delacruz", "")), ("Van Der Weid", ("vanderweid", "")), ("Dvorak", ("dvorak", "")),
    ("38-Youngbld", ("youngbld", "")), ("25", ("", "")),
])
def test_name_parts_read_every_written_form(written, parts):
    assert name_parts(written) == parts


def keys_of(rows) -> dict[tuple[str, str], str]:
    frame = pl.DataFrame(rows, schema=["team", "player"], orient="row")
    return {(t, p): k for t, p, k in player_keys(frame).iter_rows()}


def test_forms_of_one_pitcher_share_a_key_within_his_team_only():
    keys = keys_of([("UIC", "KEY"), ("UIC", "KEY, Jacob"), ("UIC", "Key, J."), ("UIC", "J. Key"),
                    ("Oregon", "Kafka, C"), ("Oregon", "Kafka, Cullen"), ("Oregon", "KEY")])
    assert {keys[("UIC", n)] for n in ("KEY", "KEY, Jacob", "Key, J.", "J. Key")} == {"key j"}
    assert keys[("Oregon", "Kafka, C")] == keys[("Oregon", "Kafka, Cullen")] == "kafka c"
    # Oregon's KEY is not UIC's Jacob Key: no initial is known for a Key on Oregon
    assert keys[("Oregon", "KEY")] == "key"


def test_a_surname_with_two_initials_keeps_them_apart_and_credits_the_bare_form_to_neither():
    """Santa Clara's two Bernhardts (Holden and L.): a bare BERNHARDT could be either."""
    keys = keys_of([("Santa Clara", "BERNHARDT,Holden"), ("Santa Clara", "BERNHARDT H"),
                    ("Santa Clara", "BERNHARDT L"), ("Santa Clara", "BERNHARDT"), ("Santa Clara", "Bernhardt")])
    assert keys[("Santa Clara", "BERNHARDT,Holden")] == keys[("Santa Clara", "BERNHARDT H")] == "bernhardt h"
    assert keys[("Santa Clara", "BERNHARDT L")] == "bernhardt l"
    assert keys[("Santa Clara", "BERNHARDT")] == keys[("Santa Clara", "Bernhardt")] == "bernhardt"


def test_a_form_without_letters_keys_as_itself_and_null_players_stay_null():
    keys = keys_of([("Georgia Tech", "34"), ("Georgia Tech", "25")])
    assert keys == {("Georgia Tech", "34"): "34", ("Georgia Tech", "25"): "25"}
    frame = pl.DataFrame({"team": ["A", "A"], "starter": ["Ace", None]})
    keyed = with_player_key(frame, player="starter", key="starter_key")
    assert keyed.rows() == [("A", "Ace", "ace"), ("A", None, None)]


def test_two_forms_of_one_key_in_one_game_are_two_players():
    """Illinois St.'s Butlers, Jack and Joe, bat in the same games of 2021: given the games, their key splits by
    whole given names, and the forms that cannot tell them apart ("BUTLER, J.", "BUTLER") credit neither."""
    rows = [("g1", "Illinois St.", "Butler, Jack"), ("g1", "Illinois St.", "Butler, Joe"),
            ("g2", "Illinois St.", "Jack Butler"), ("g2", "Illinois St.", "BUTLER, J."),
            ("g3", "Illinois St.", "BUTLER"),
            ("g3", "Illinois St.", "Key, J."), ("g4", "Illinois St.", "KEY")]
    frame = pl.DataFrame(rows, schema=["game_id", "team", "player"], orient="row")
    keys = {p: k for _, p, k in player_keys(frame).iter_rows()}
    assert keys == {"Butler, Jack": "butler jack", "Jack Butler": "butler jack", "Butler, Joe": "butler joe",
                    "BUTLER, J.": "butler j", "BUTLER": "butler", "Key, J.": "key j", "KEY": "key j"}
    # without the games nothing says there are two: every Butler form is one player
    assert set(player_keys(frame.drop("game_id"))["player_key"]) == {"butler j", "key j"}


def test_a_name_cut_at_twelve_characters_joins_the_one_surname_it_begins():
    """Real 2021 forms: "J. Betancour" is Alcorn's Betancourt, "LOCKWOOD-POW" Central Mich.'s Lockwood-Powell,
    "Austin Markm" Sacred Heart's Markmann. Not joined: a 13-character form (not cut), two candidate surnames
    (Hernandez, Hernando), an initial that disagrees with the only candidate's (T. Fillingam, K. Fillingame),
    N.C. A&T's "Williams, J.", who bats in the same game as Williamson, and a surname of two letters."""
    rows = [("a1", "Alcorn", "J. Betancour"), ("a2", "Alcorn", "Betancourt"), ("a3", "Alcorn", "Betancourt, J."),
            ("a1", "Alcorn", "T. Fillingam"), ("a2", "Alcorn", "K.Fillingame"),
            ("c1", "Central Mich.", "LOCKWOOD-POW"), ("c2", "Central Mich.", "LOCKWOOD-POWELL, G."),
            ("s1", "Sacred Heart", "Austin Markm"), ("s2", "Sacred Heart", "A. Markmann"),
            ("s1", "Sacred Heart", "Jo Smithsonia"), ("s2", "Sacred Heart", "Smithsonian"),
            ("s1", "Sacred Heart", "Michael Hern"), ("s2", "Sacred Heart", "Hernandez, M"),
            ("s3", "Sacred Heart", "Hernando, M."),
            ("n1", "N.C. A&T", "Williams, J."), ("n1", "N.C. A&T", "Williamson"),
            ("h1", "Hawaii", "Christian Ng"), ("h2", "Hawaii", "C. Ngata")]
    keys = {p: k for _, p, k in player_keys(pl.DataFrame(rows, schema=["game_id", "team", "player"],
                                                          orient="row")).iter_rows()}
    assert keys["J. Betancour"] == keys["Betancourt"] == keys["Betancourt, J."] == "betancourt j"
    assert keys["T. Fillingam"] == "fillingam t" and keys["K.Fillingame"] == "fillingame k"
    assert keys["LOCKWOOD-POW"] == keys["LOCKWOOD-POWELL, G."] == "lockwoodpowell g"
    assert keys["Austin Markm"] == keys["A. Markmann"] == "markmann a"
    assert keys["Jo Smithsonia"] == "smithsonia j" and keys["Smithsonian"] == "smithsonian"
    assert keys["Michael Hern"] == "hern m"
    assert keys["Williams, J."] == "williams j" and keys["Williamson"] == "williamson"
    assert keys["Christian Ng"] == "ng c"  # twelve characters by chance: two letters are a whole surname
    # a second cut form with another initial is a second Betancourt: the bare form then credits neither
    more = pl.DataFrame([*rows, ("a4", "Alcorn", "T. Betancour")], schema=["game_id", "team", "player"], orient="row")
    keys = {p: k for _, p, k in player_keys(more).iter_rows()}
    assert (keys["T. Betancour"], keys["J. Betancour"], keys["Betancourt"]) == ("betancourt t", "betancourt j",
                                                                                "betancourt")
