"""Description text -> structured line, on real stats.ncaa.org descriptions."""

import pytest

from bsi_pipeline.ncaa.pbp_text import (
    FIRST, HOME, KIND_NOTE, KIND_OTHER, KIND_SUB, KIND_SUMMARY, OUT, SECOND, THIRD, is_summary_line, parse_description,
)


def test_single_with_rbi_count_and_runners():
    line = parse_description(
        "J. Engel singled to left field, RBI (0-2 FF); L. Pritchard advanced to second; B. Feist scored.")
    assert line.event_type == "single" and line.is_pa
    assert line.batter.name == "J. Engel" and line.batter.dest == FIRST
    assert (line.balls, line.strikes, line.pitches) == (0, 2, "FF")
    assert line.rbi == 1
    assert [(r.name, r.dest) for r in line.runners] == [("L. Pritchard", SECOND), ("B. Feist", HOME)]


def test_segments_without_semicolons_are_split_at_names():
    line = parse_description(
        "Wiley, Z. hit by pitch Mulcahy, J. advanced to second Phillips, A. advanced to third.")
    assert line.event_type == "hit_by_pitch"
    assert line.batter.name == "Wiley, Z."
    assert [(r.name, r.dest) for r in line.runners] == [("Mulcahy, J.", SECOND), ("Phillips, A.", THIRD)]


def test_colon_separated_runners():
    line = parse_description("M. Graham walked, RBI (3-1 BBKBB): C. Emmertz advanced to second: C. Gilbert scored.")
    assert line.event_type == "walk" and line.rbi == 1
    assert [(r.name, r.dest) for r in line.runners] == [("C. Emmertz", SECOND), ("C. Gilbert", HOME)]


@pytest.mark.parametrize("text, event", [
    ("B. Clifford singled to left field (3-2 BBBKK).", "single"),
    ("B. Stutzman doubled to left center (0-1 S).", "double"),
    ("Nanny tripled to right center (1-1 BK).", "triple"),
    ("J. Engel homered to left field, RBI (2-0 BB).", "home_run"),
    ("B. Feist walked (3-2 BBFKBB).", "walk"),
    ("Roskam, L. intentionally walked (0-0).", "intentional_walk"),
    ("Hegamin,I hit by pitch (2-2 BBKFF).", "hit_by_pitch"),
    ("K. Cloward struck out looking (0-2 KFFK).", "strikeout"),
    ("Oshiro,R grounded out to 2b (2-2 BFBK).", "groundout"),
    ("J. Raymond flied out to cf (1-0 B).", "flyout"),
    ("Smith lined out to ss (0-0).", "lineout"),
    ("Chavis,C fouled out to c (1-2 KSB).", "popout"),
    ("Chavis,C fouled out to rf (1-2 KSB).", "flyout"),
    ("PEARRE, B. popped up to 2b (2-2 KKBB).", "popout"),
    ("Palensky, A. infield fly to ss (1-0).", "popout"),
    ("Hegamin,I grounded into double play 3b to 2b to 1b (1-2 BKF); Santiago,E out on the play.", "double_play"),
    ("B. Clifford reached on a fielders choice (2-2 SBFB); Flemetakis out at second ss to 2b.", "fielders_choice"),
    ("B. Feist reached on a throwing error by 3b (2-2 KBKB).", "reached_on_error"),
    ("Cicci reached on catchers interference (0-1 F); Oldham advanced to second.", "catcher_interference"),
    ("J. Raymond grounded out to p, SAC, bunt (0-0); B. Clifford advanced to second.", "sac_bunt"),
    ("T. Fisher flied out to cf, SF, RBI (3-2 BSBKB); B. Clifford scored.", "sac_fly"),
    ("Smith out at first p to 2b, SAC, bunt (1-0 B); Jones advanced to second.", "sac_bunt"),
    ("B. Feist stole second; B. Clifford stole third.", "stolen_base"),
    ("Kim out at second c to ss, caught stealing.", "caught_stealing"),
    ("Wiemer picked off, out at first p to 1b.", "pickoff"),
    ("B. Clifford advanced to second on a wild pitch.", "wild_pitch"),
    ("B. Feist advanced to third on a passed ball.", "passed_ball"),
    ("DUCOFF advanced to second on a balk.", "balk"),
    ("Sprinkle, J. out at second c to 2b.", "caught_stealing"),
    ("Bortak advanced to second on a throwing error by p, advanced to third.", "pickoff"),
    ("C. Harris to p for J. Gonzales.", "substitution"),
])
def test_event_types(text, event):
    assert parse_description(text).event_type == event


def test_strikeout_reaching_on_wild_pitch_leaves_batter_on_first():
    line = parse_description("McNicoll,M struck out swinging, reached first on a passed ball (2-2 BBFSS).")
    assert line.event_type == "strikeout" and line.batter.dest == FIRST


def test_batter_thrown_out_stretching_is_out():
    assert parse_description("X singled, out at second rf to ss (1-1 BK).").batter.dest == OUT


def test_reached_then_double_play_wording_keeps_batter_safe():
    line = parse_description("MURPHY, T. reached on a fielders choice, grounded into double play 3b to c; "
                             "WEEKS, W. out on the play; CLARK, T. out on the play.")
    assert line.batter.dest == FIRST
    assert [r.dest for r in line.runners] == [OUT, OUT]
    assert line.event_type == "fielders_choice"


@pytest.mark.parametrize("text, outs", [
    # 2019 games 4764068 and 4720081 (before, the second was read as a substitution "... to 3b")
    ("Marco, A reached on a fielders choice (1-1 KB); Eastburn, R out on the play; Beltran, M out on double play "
     "3b to 2b.", [("Eastburn, R", OUT), ("Beltran, M", OUT)]),
    ("Smith, C out on double play c to 1b to 3b; Lever, R out on the play.", [("Smith, C", OUT), ("Lever, R", OUT)]),
    ("Hurtubise, Jacob struck out swinging Martin, Trey out on double play c to 3b, caught stealing., double play",
     [("Martin, Trey", OUT)]),
    ("SHEARER, B. reached on a fielders choice to right field (1-0 B); OYAMA, K. out on triple play rf to c to 3b "
     "to ss; SOGARD, N. out on the play; UHL, C. out on the play.",
     [("OYAMA, K.", OUT), ("SOGARD, N.", OUT), ("UHL, C.", OUT)]),
])
def test_runner_out_on_double_or_triple_play(text, outs):
    line = parse_description(text)
    assert [(r.name, r.dest) for r in line.runners] == outs


def test_did_not_advance_is_an_action_that_moves_nobody():
    # 2021 game 5024543: before, "did not advance CHONKICH, ZACH scored" was one person's text, so YOUNG scored
    line = parse_description("MODLIN, AHARON grounded out to ss, RBI YOUNG, WYATT did not advance CHONKICH, ZACH "
                             "scored.")
    assert line.batter.name == "MODLIN, AHARON" and line.rbi == 1
    assert [(r.name, r.dest) for r in line.runners] == [("YOUNG, WYATT", None), ("CHONKICH, ZACH", HOME)]


def test_caught_stealing_annotation_after_safe_advance_is_not_an_out():
    line = parse_description("Mercer advanced to second on a muffed throw by 2b, caught stealing, assist by c.")
    assert line.runners[0].dest == SECOND and line.runners[0].caught


def test_bare_picked_off_is_an_attempt_not_an_out():
    assert parse_description("C. Seltzer picked off.").runners[0].dest is None


def test_substitutions():
    pitcher = parse_description("C. Harris to p for J. Gonzales.")
    assert pitcher.kind == KIND_SUB and (pitcher.sub_new, pitcher.sub_pos, pitcher.sub_old) == (
        "C. Harris", "p", "J. Gonzales")
    runner = parse_description("BREWER, M. pinch ran for HOWIE, N..")
    assert (runner.sub_new, runner.sub_pos, runner.sub_old) == ("BREWER, M.", "pr", "HOWIE, N.")
    continuation = parse_description("for SVETE, J.")  # one period: the sentence's (see the replay test)
    assert continuation.kind == KIND_SUB and continuation.sub_new is None and continuation.sub_old == "SVETE, J"


@pytest.mark.parametrize("text", ["H: 1 LOB: 1", "R: 2 H: 3 E: 1 LOB: 2", "LOB: 2", "E: 1"])
def test_inning_summaries(text):
    assert is_summary_line(text) and parse_description(text).kind == KIND_SUMMARY


@pytest.mark.parametrize("text", [
    "Georgia replayed call of out at 2nd base, was overturned.",
    "Play at second was reviewed. Call overturned.",
    "Carolina is reviewing the call of out at second; play was upheld.",  # 2019 game 4775614 (was a play, an out)
    "Carolina is reviewing the play of out at first; play stands.",  # 2019 game 4790529 (was a groundout)
    "Alabama Mound Visit.",
    "No play.",
    "Dropped foul ball, E2.",
    "Weather Delay.",
])
def test_notes_move_nobody(text):
    line = parse_description(text)
    assert line.kind == KIND_NOTE and not line.runners and line.batter is None


def test_unreadable_text_is_other_and_never_raises():
    for text in ["0-1", ".", "Schwellenback hits a shot that ate up 2B Kafer. Solid base hit."]:
        assert parse_description(text).kind in (KIND_OTHER, KIND_NOTE)


@pytest.mark.parametrize("text, rbi", [
    ("Longrie, Conner doubled to left field, 2 RBI; Van Blake, Caleb scored; Lara, Alejandro scored.", 2),
    ("J. Engel homered to left field, 3 RBI (2-0 BB); L. Pritchard scored; B. Feist scored.", 3),
])
def test_multi_run_rbi_counts(text, rbi):
    """'2 RBI' is two runs batted in (978 plays of the embedded seasons say n RBI)."""
    assert parse_description(text).rbi == rbi


def test_sac_on_a_line_drive_is_a_sacrifice_fly():
    """Some scorers write SAC on a fly ball (flied, lined, fouled): a sacrifice fly."""
    line = parse_description("T. Fisher lined out to rf, SAC, RBI (1-1 BK); B. Clifford scored.")
    assert line.sac == "SF" and line.event_type == "sac_fly"
