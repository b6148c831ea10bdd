"""The training: sessions on grain discipline, with a seat per trainee.

`seats` prepares a session (each seat's dataset, project and notebooks, the trainer sheet);
`exercises` is what the seats' notebooks call (the self-checks, their hints, what they
show); `grading` executes the seats' notebooks and reads their results back. The training
uses the incident (its data, builds and notebooks runner) and the toolkit; neither uses it.
"""

from fanout.training.grading import GradeRow, grade, grade_table
from fanout.training.seats import Prepared, SeatSpec, derive, expected_answers, prepare, seat_specs

__all__ = [
    "GradeRow",
    "Prepared",
    "SeatSpec",
    "derive",
    "expected_answers",
    "grade",
    "grade_table",
    "prepare",
    "seat_specs",
]
