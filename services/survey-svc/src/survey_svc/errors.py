"""survey-svc problems that carry their status."""

from __future__ import annotations

from retailcare_shared.problems import ProblemError
from survey_svc.responses.answers import AnswerProblem


class AnswersInvalid(ProblemError):
    """422 listing every problem with the answers, each naming its item."""

    status, type_slug = 422, "validation-failed"

    def __init__(self, problems: list[AnswerProblem]) -> None:
        items = ", ".join(sorted({problem.item_code for problem in problems}))
        super().__init__(
            f"invalid answers for items: {items}",
            errors=[
                {
                    "field": problem.field,
                    "in": "body",
                    "rule": problem.rule,
                    "message": problem.message,
                    "item_code": problem.item_code,
                }
                for problem in problems
            ],
        )
