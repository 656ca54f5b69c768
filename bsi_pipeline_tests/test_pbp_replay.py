"""Game-state replay and reconciliation, on real lines of game 4694185 (Utah Tech at Saint Martin's, 2019)."""

from bsi_pipeline.ncaa.pbp_replay import GameLine, replay_game

AWAY, HOME = "Utah Tech", "Saint Martin's"


def lines(rows, away_team=AWAY, home_team=HOME):
    """rows: (inning, half, 'away-home' after the line, description)."""
    out = []
    for n, (inning, half, score, text) in enumerate(rows, start=2):
        away, home = (int(x) for x in score.split("-"))
        batting, fielding = (away_team, home_team) if half == "top" else (home_team, away_team)
        out.append(GameLine(n, inning, half, away, home, batting, fielding, text))
    return out


FIRST_INNING = [
    (1, "top", "0-0", "B. Clifford singled to left field (3-2 BBBKK)."),
    (1, "top", "0-0", "J. Raymond flied out to cf to left center (2-2 KBFBF)."),
    (1, "top", "0-0", "B. Clifford advanced to second on a wild pitch."),
    (1, "top", "0-0", "B. Feist walked (3-2 BBFKBB)."),
    (1, "top", "0-0", "B. Feist stole second; B. Clifford stole third."),
    (1, "top", "1-0", "T. Fisher flied out to cf, SF, RBI (3-2 BSBKB); B. Clifford scored."),
    (1, "top", "1-0", "B. Feist advanced to third on a passed ball."),
    (1, "top", "1-0", "L. Pritchard walked (3-0 BBBB)."),
    (1, "top", "2-0", "J. Engel singled to left field, RBI (0-2 FF); L. Pritchard advanced to second; B. Feist scored."),
    (1, "top", "2-0", "K. Cloward struck out looking (0-2 KFFK)."),
    (1, "bot", "2-0", "Santiago,E walked (3-0 BBBB)."),
    (1, "bot", "2-0", "Hegamin,I grounded into double play 3b to 2b to 1b (1-2 BKF); Santiago,E out on the play."),
    (1, "bot", "2-0", "Feist,A struck out swinging (0-2 KFFFFFS)."),
]


def test_real_first_inning_state_and_reconciliation():
    result = replay_game(lines(FIRST_INNING))
    assert result.status == "reconciled", result.reason
    plays = result.plays
    states = [(p["outs_before"], p["bases_before"], p["outs_after"], p["bases_after"], p["runs_on_play"])
              for p in plays]
    assert states[:10] == [
        (0, "empty", 0, "1", 0),
        (0, "1", 1, "1", 0),
        (1, "1", 1, "2", 0),
        (1, "2", 1, "1-2", 0),
        (1, "1-2", 1, "2-3", 0),
        (1, "2-3", 2, "2", 1),
        (2, "2", 2, "3", 0),
        (2, "3", 2, "1-3", 0),
        (2, "1-3", 2, "1-2", 1),
        (2, "1-2", 3, "1-2", 0),
    ]
    assert plays[10]["bases_after"] == "1" and plays[11]["outs_after"] == 2 and plays[11]["bases_after"] == "empty"
    assert plays[5]["runners_scored"] == "B. Clifford" and plays[5]["sac"] == "SF" and plays[5]["rbi"] == 1
    assert (result.parsed_away_runs, result.parsed_home_runs) == (2, 0)
    steals = [m for m in result.runners if m["stolen_base"]]
    assert {m["runner"] for m in steals} == {"B. Feist", "B. Clifford"}


def test_runs_that_the_score_does_not_show_are_a_mismatch():
    rows = list(FIRST_INNING)
    rows[5] = (1, "top", "2-0", rows[5][3])  # the score now claims two runs on a one-run play
    rows[6:10] = [(i, h, "3-0" if s == "2-0" else "2-0", t) for i, h, s, t in rows[6:10]]
    result = replay_game(lines(rows))
    assert result.status == "mismatch"
    assert (result.mismatch_inning, result.mismatch_half) == (1, "top")
    assert "parsed 2 runs but the score changed by 3" in result.reason


def test_half_inning_short_of_three_outs_is_a_mismatch_unless_it_ends_the_game():
    short = FIRST_INNING[:9] + FIRST_INNING[10:]  # drop the third out of the top half
    result = replay_game(lines(short))
    assert result.status == "mismatch" and "ended with 2 outs" in result.reason
    walk_off = FIRST_INNING[:10] + FIRST_INNING[10:11]  # bottom half ends after one walk: the game's last half
    assert replay_game(lines(walk_off)).status == "reconciled"


def test_fielding_team_score_change_is_a_mismatch():
    rows = list(FIRST_INNING)
    rows[1] = (1, "top", "0-1", rows[1][3])
    rows[2:] = [(i, h, f"{s.split('-')[0]}-1", t) for i, h, s, t in rows[2:]]
    result = replay_game(lines(rows))
    assert result.status == "mismatch" and "fielding team's score changed" in result.reason


def test_pitcher_is_credited_back_from_the_change_line():
    rows = [
        (5, "bot", "3-0", "Renuad,A struck out swinging (3-2 BKBSBS)."),
        (5, "bot", "3-0", "C. Harris to p for J. Gonzales."),
        (5, "bot", "3-0", "McNicoll,M flied out to rf (0-1 K)."),
        (5, "bot", "3-0", "Dulatre,C grounded out to 2b (3-1 BKBB)."),
    ]
    result = replay_game(lines(rows))
    pitchers = [p["pitcher"] for p in result.plays]
    assert pitchers == ["J. Gonzales", None, "C. Harris", "C. Harris"]


def test_pitcher_change_split_over_two_lines():
    rows = [
        (7, "top", "1-1", "B. Clifford flied out to cf (1-0 B)."),
        (7, "top", "1-1", "GRISWOLD, R to p."),
        (7, "top", "1-1", "for SVETE, J."),
        (7, "top", "1-1", "J. Raymond flied out to cf (1-0 B)."),
    ]
    pitchers = [p["pitcher"] for p in replay_game(lines(rows)).plays]
    # "for SVETE, J." ends in one period: the sentence's, so the name is read without it
    assert pitchers[0] == "SVETE, J" and pitchers[3] == "GRISWOLD, R"


def test_pinch_runner_takes_the_base_and_scores_under_his_name():
    rows = [
        (7, "bot", "0-0", "HOWIE, N. walked (3-1 BKBBB)."),
        (7, "bot", "0-0", "BREWER, M. pinch ran for HOWIE, N.."),
        (7, "bot", "0-1", "JOHNSON, W. doubled to left center, RBI (3-2 BBKSBB); BREWER, M. scored."),
    ]
    result = replay_game(lines(rows))
    assert result.plays[1]["bases_after"] == "1"
    assert result.plays[2]["runners_scored"] == "BREWER, M." and result.plays[2]["bases_after"] == "2"


def test_unmentioned_forced_runner_is_pushed_ahead():
    rows = [
        (2, "top", "0-0", "A. Able singled to left field (0-0)."),
        (2, "top", "0-0", "B. Baker walked (3-0 BBBB)."),  # the text does not say Able moved to second
    ]
    result = replay_game(lines(rows))
    assert result.plays[1]["bases_after"] == "1-2"


def test_summary_lines_do_not_split_or_score_half_innings():
    rows = [
        (2, "top", "0-0", "MCGILL singled to third base (3-2 KBBFB)."),
        (2, "top", "0-0", "KELLY struck out swinging (1-2 BFFS)."),
        (2, "top", "0-0", "STELLATO struck out swinging (2-2 FBSBS)."),
        (2, "top", "0-0", "NICOLAS flied out to rf (0-0)."),
        (2, "bot", "0-0", "ZAYICEK, S. lined out to 3b (1-2 SBF)."),
        (2, "top", "0-1", "H: 1 LOB: 1"),  # printed late, carrying the score after the bottom half
        (2, "bot", "0-0", "EBERT, J. lined out to rf (1-2 BFF)."),
        (2, "bot", "0-1", "BERGMAN, E. homered to rf, RBI (2-2 KBKB)."),
        (2, "bot", "0-1", "SUTTON, B. grounded out to 3b (2-2 BSBS)."),
    ]
    result = replay_game(lines(rows))
    assert result.status == "reconciled", result.reason
    assert result.half_innings == 2
    assert result.plays[5]["line_kind"] == "summary"


def test_runner_out_on_double_play_is_an_out():
    """Real lines of game 4764068 (2019, top 7th; the score there was 5-9): the second out is written
    'out on double play'."""
    rows = [
        (7, "top", "0-0", "Beltran, M singled up the middle (0-2 KF)."),
        (7, "top", "0-0", "Eastburn, R walked (3-0 BBBB); Beltran, M advanced to second."),
        (7, "top", "0-0", "Marco, A reached on a fielders choice (1-1 KB); Eastburn, R out on the play; "
                          "Beltran, M out on double play 3b to 2b."),
        (7, "top", "0-0", "Madsen, M lined out to rf (0-0)."),
        (7, "bot", "0-0", "Renuad,A struck out swinging (3-2 BKBSBS)."),
    ]
    result = replay_game(lines(rows))
    assert [(p["outs_after"], p["bases_after"]) for p in result.plays[:4]] == [(0, "1"), (0, "1-2"), (2, "1"), (3, "1")]
    assert result.status == "reconciled", result.reason


def test_runner_who_did_not_advance_keeps_his_base():
    """Real lines of game 4756819 (2019, Pacific at UC Davis, bottom 8th, from 0-3 to 0-7), people run together
    without ';'. Before, 'did not advance' was not an action, so Morrison's and Murray's actions went to Lara:
    Lara 'scored' from first and Murray stayed on third."""
    rows = [
        (8, "bot", "0-0", "Vitoria, Daniel to p for Standley, Joseph."),
        (8, "bot", "0-0", "Murray, Tanner singled to left field."),
        (8, "bot", "0-0", "Morrison, Cooper singled to center field Murray, Tanner advanced to third."),
        (8, "bot", "0-0", "Lara, Alejandro walked Morrison, Cooper advanced to second."),
        (8, "bot", "0-1", "Myers, Joseph flied out to lf, sacrifice fly, RBI Lara, Alejandro did not advance "
                          "Morrison, Cooper did not advance Murray, Tanner scored."),
        (8, "bot", "0-2", "Van Blake, Caleb singled to center field, RBI Lara, Alejandro advanced to second "
                          "Morrison, Cooper scored."),
        (8, "bot", "0-2", "Winkler, Josh to p for Vitoria, Daniel."),
        (8, "bot", "0-2", "Longrie, Conner pinch hit for Smith, Jalen."),
        (8, "bot", "0-4", "Longrie, Conner doubled to left field, out at third lf to c to 3b, 2 RBI Van Blake, Caleb "
                          "scored Lara, Alejandro scored."),
        (8, "bot", "0-4", "OBoy, Jackson grounded out to 3b."),
    ]
    result = replay_game(lines(rows))
    sac_fly, single = result.plays[4], result.plays[5]
    assert (sac_fly["runners_scored"], sac_fly["bases_after"], sac_fly["outs_after"]) == ("Murray, Tanner", "1-2", 1)
    assert (single["runners_scored"], single["bases_after"]) == ("Morrison, Cooper", "1-2")
    assert result.status == "reconciled", result.reason


def _pitchers(result):
    """(fielding team, pitcher) of each play line."""
    return [(p["fielding_team"], p["pitcher"]) for p in result.plays if p["line_kind"] == "play"]


def test_pitching_change_printed_while_its_team_bats_is_its_teams():
    """Real lines of game 4707557 (2019, Richmond at Kennesaw St.; scores left out): Kennesaw St.'s change
    'Mann, R. to p for Exley, B.' is printed in the bottom of the 5th, while Kennesaw St. bats. Its chain
    (Coburn, Torbert, Exley, Mann, Horn) is printed three times in halves Kennesaw St. fields, once here.
    Before, Mann was Richmond's pitcher for the rest of the 5th and Exley Kennesaw St.'s in the 6th."""
    rows = [
        (4, "top", "0-0", "Torbert, L. to p for Coburn, J.."),
        (4, "top", "0-0", "SCHAUB grounded out to ss (3-2 KBBBF)."),
        (4, "top", "0-0", "Exley, B. to p for Torbert, L.."),
        (4, "bot", "0-0", "Colina, N. grounded out to p, bunt (1-2 KKB)."),
        (4, "bot", "0-0", "MARCUS to p for MCGUIGAN."),
        (4, "bot", "0-0", "Carballo, A. struck out swinging (1-2 KSBS)."),
        (5, "top", "0-0", "COOK struck out swinging (0-2 KKS)."),
        (5, "bot", "0-0", "Mann, R. to p for Exley, B.."),
        (5, "bot", "0-0", "Colina, N. struck out swinging (2-2 BKBKS)."),
        (6, "top", "0-0", "KLOEHN grounded out to 3b (0-1 K)."),
        (7, "top", "0-0", "Horn, M. to p for Mann, R.."),
        (7, "top", "0-0", "FORTE struck out swinging (2-2 FBBKS)."),
    ]
    result = replay_game(lines(rows, "Richmond", "Kennesaw St."))
    assert _pitchers(result) == [
        ("Kennesaw St.", "Torbert, L."), ("Richmond", "MCGUIGAN"), ("Richmond", "MARCUS"),
        ("Kennesaw St.", "Exley, B."), ("Richmond", "MARCUS"), ("Kennesaw St.", "Mann, R."),
        ("Kennesaw St.", "Horn, M."),
    ]


def test_pitching_change_on_a_tie_goes_to_the_team_no_other_chain_has():
    """The reproducer's cut of game 4707557: Kennesaw St.'s two changes are printed once in a half it
    fields and once in a half it bats; Richmond's one change is in a half Richmond fields."""
    rows = [
        (4, "top", "0-0", "Exley, B. to p for Torbert, L.."),
        (4, "top", "0-0", "SCHAUB grounded out to 3b."),
        (4, "bot", "0-0", "MARCUS to p for MCGUIGAN."),
        (4, "bot", "0-0", "Simon, T. struck out looking."),
        (5, "bot", "0-0", "Mann, R. to p for Exley, B.."),
        (5, "bot", "0-0", "Hodges, G. struck out swinging."),
        (6, "top", "0-0", "KLOEHN grounded out to 3b."),
    ]
    result = replay_game(lines(rows, "Richmond", "Kennesaw St."))
    assert _pitchers(result) == [("Kennesaw St.", "Exley, B."), ("Richmond", "MARCUS"), ("Richmond", "MARCUS"),
                                 ("Kennesaw St.", "Mann, R.")]


def test_two_pitchers_of_the_two_teams_with_one_name_stay_apart():
    """Real lines of game 4709754 (2019, NC State at Elon; scores left out): both teams bring in a 'Justice'.
    Each 'for Justice' continues the latest chain that brought a Justice in: Lorenz is Elon's, Gauthier NC
    State's (chains joined by name alone would put one team's four changes on the other)."""
    rows = [
        (3, "bot", "0-0", "Nelson, B. to p for Bienlien."),
        (3, "bot", "0-0", "Devanney fouled out to c (3-2 BBBKFFFF)."),
        (5, "bot", "0-0", "Justice to p for Nelson, B.."),
        (5, "bot", "0-0", "Devanney grounded out to 2b (0-1 K)."),
        (6, "top", "0-0", "Justice to p for Wetherbee."),
        (6, "top", "0-0", "McDonough flied out to lf (2-0 BB)."),
        (8, "top", "0-0", "Lorenz to p for Justice."),
        (8, "top", "0-0", "Debo struck out swinging (0-2 FSS)."),
        (8, "bot", "0-0", "Gauthier to p for Justice."),
        (8, "bot", "0-0", "Oldham grounded out to 3b (0-2 KK)."),
    ]
    result = replay_game(lines(rows, "NC State", "Elon"))
    assert _pitchers(result) == [("NC State", "Nelson, B."), ("NC State", "Justice"), ("Elon", "Justice"),
                                 ("Elon", "Lorenz"), ("NC State", "Gauthier")]


def test_a_half_inning_with_four_outs_does_not_reconcile():
    """Four outs in a half inning is a parse error, reported as such, also in the game's last half inning
    (where fewer than 3 outs is allowed: a walk-off)."""
    rows = [(1, "top", "0-0", f"P{i} struck out swinging (0-2 KS).") for i in range(3)]
    rows += [(1, "bot", "0-0", f"Q{i} struck out swinging (0-2 KS).") for i in range(4)]
    result = replay_game(lines(rows))
    assert result.status == "mismatch" and result.reason == "parsed 4 outs in the half inning"
