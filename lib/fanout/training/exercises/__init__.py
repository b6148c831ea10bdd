"""The training exercises, as their notebooks call them.

Each exercise notebook ends with one call, `check_find`, `check_grain_test` or `check_fix`
(`checks`), which measures the trainee's answer on the seat's own data and builds and returns
a `Result` (`results`): shown to the trainee as text, stored in the notebook's output, where
`fanout grade` reads it back. A failed check carries a hint (`hints`). `open_seat` (`seat`)
turns a notebook's parameters into the folders it works with; `display` shows the symptom,
the lineage and files; `solutions` holds the trainer's reference answers.
"""

from fanout.training.exercises.checks import answers, check_find, check_fix, check_grain_test
from fanout.training.exercises.display import lineage_table, show_files, symptom
from fanout.training.exercises.hints import HINTS
from fanout.training.exercises.results import (
    EXERCISES,
    RESULT_MIME,
    SOLUTION_FILES,
    SYMPTOM,
    Check,
    Result,
    results,
)
from fanout.training.exercises.seat import Seat, _pristine, open_seat
from fanout.training.exercises.solutions import (
    apply_solution,
    fill_answers,
    show_solution,
    solved,
)

__all__ = [
    "EXERCISES",
    "HINTS",
    "RESULT_MIME",
    "SOLUTION_FILES",
    "SYMPTOM",
    "Check",
    "Result",
    "Seat",
    "_pristine",
    "answers",
    "apply_solution",
    "check_find",
    "check_fix",
    "check_grain_test",
    "fill_answers",
    "lineage_table",
    "open_seat",
    "results",
    "show_files",
    "show_solution",
    "solved",
    "symptom",
]
