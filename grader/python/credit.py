"""The partial credit of one Python function: its rule and its constants, in one place.

:func:`function_credit` decides the share of a function's points; the feedback states
the rule in :data:`RULE` and :data:`SHEET_RULE`.
"""

from __future__ import annotations

#: Each 1 % of a function's hidden tests failed costs this many % of its points.
COST_PER_FAILED_SHARE = 4

#: The most a function wrong on the sheet's own events earns, as a share of its points.
SHEET_WRONG_CAP = 0.2

#: The rule in the feedback's words.
RULE = f"each 1 % of hidden tests failed costs {COST_PER_FAILED_SHARE} % of the points"
SHEET_RULE = f"wrong on the sheet's own events: at most {round(SHEET_WRONG_CAP * 100)} % of the points"


def function_credit(*, sheet_correct: bool, hidden_failed: int, hidden_ran: int, all_ran: bool) -> float:
    """The share of a function's points it earns, from 0 to 1.

    * Some test did not run (``all_ran`` false): 0.  An untested call is never a pass, so
      a submission cannot earn partial credit by making the harness skip its tests.
    * Correct on the sheet's events and on every hidden test: 1.
    * Correct on the sheet's events, failing some hidden tests:
      ``max(0, 1 - 4 * failed / ran)``: 95 % of the hidden tests passed earns 80 %, 75 %
      or fewer earns nothing.
    * Wrong on the sheet's own events: the same, capped at 20 %.
    * No hidden test ran (none were generated for it): 1 when correct on the sheet's
      events, else 0; there is nothing to earn partial credit on.

    A function that is not defined, is not a function or could not be imported earns 0
    before this rule is asked.
    """
    if not all_ran:
        return 0.0
    if hidden_ran <= 0:
        return 1.0 if sheet_correct else 0.0
    share = max(0.0, 1.0 - COST_PER_FAILED_SHARE * hidden_failed / hidden_ran)
    return share if sheet_correct else min(SHEET_WRONG_CAP, share)
