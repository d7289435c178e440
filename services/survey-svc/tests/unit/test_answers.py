"""Answer validation names the item; per-response scores; callback satisfaction."""

from survey_svc.questionnaires.catalogue import CALLBACK, SEEDED, SERVQUAL_RETAIL
from survey_svc.responses.answers import (
    CleanAnswer,
    ItemSpec,
    RawAnswer,
    callback_satisfied,
    score_response,
    validate_answers,
)

ITEMS = [
    ItemSpec("q1", "servqual_pair", True, "reliability"),
    ItemSpec("q2", "servqual_pair", True, "empathy"),
    ItemSpec("r1", "rating", True),
    ItemSpec("yn", "yes_no", False),
    ItemSpec("note", "text", False),
]


def test_the_seeded_servqual_questionnaire_has_twenty_items_over_five_dimensions() -> None:
    assert len(SERVQUAL_RETAIL.items) == 20
    per_dimension: dict[str | None, int] = {}
    for item in SERVQUAL_RETAIL.items:
        per_dimension[item.dimension] = per_dimension.get(item.dimension, 0) + 1
    assert per_dimension == {
        "reliability": 3,
        "assurance": 5,
        "tangibles": 4,
        "empathy": 4,
        "responsiveness": 4,
    }
    assert {seed.code for seed in SEEDED} == {"servqual-retail", "service-satisfaction", "callback"}
    assert [item.code for item in CALLBACK.items] == [
        "reached",
        "solved",
        "satisfaction",
        "comment",
    ]


def test_valid_answers_are_cleaned() -> None:
    clean, problems = validate_answers(
        ITEMS,
        [
            RawAnswer("q1", expectation=5, perception=3),
            RawAnswer("q2", expectation=4, perception=4),
            RawAnswer("r1", score=4),
            RawAnswer("yn", value=True),
            RawAnswer("note", value="fine"),
        ],
    )
    assert problems == []
    assert clean[0] == CleanAnswer(
        "q1", "servqual_pair", "reliability", expectation=5, perception=3
    )
    assert clean[3].flag is True and clean[4].text == "fine"


def test_every_problem_names_its_item() -> None:
    _, problems = validate_answers(
        ITEMS,
        [
            RawAnswer("q1", expectation=6, perception=3),  # out of scale
            RawAnswer("q1", expectation=4, perception=4),  # duplicate
            RawAnswer("r1", score=3.5),  # not an integer
            RawAnswer("zz", score=3),  # not in the questionnaire
            RawAnswer("yn", value="yes"),  # not a boolean
            RawAnswer("note", score=2),  # wrong field for a text item
        ],
    )
    found = {(p.item_code, p.rule, p.field) for p in problems}
    assert found == {
        ("q1", "scale", "answers.0.expectation"),
        ("q1", "duplicate_item", "answers.1.item_code"),
        ("r1", "scale", "answers.2.score"),
        ("zz", "unknown_item", "answers.3.item_code"),
        ("yn", "yes_no", "answers.4.value"),
        ("note", "not_for_format", "answers.5.score"),
        ("note", "text", "answers.5.value"),
        ("q2", "required", "answers"),
    }
    assert all(p.item_code in p.message for p in problems)


def test_booleans_are_not_scores() -> None:
    _, problems = validate_answers([ItemSpec("r1", "rating", True)], [RawAnswer("r1", score=True)])
    assert [(p.item_code, p.rule) for p in problems] == [("r1", "scale")]


def test_response_score_is_the_mean_of_dimension_gaps_and_the_satisfaction_index() -> None:
    answers = [
        CleanAnswer("a", "servqual_pair", "reliability", expectation=5, perception=3),
        CleanAnswer("b", "servqual_pair", "reliability", expectation=4, perception=4),
        CleanAnswer("c", "servqual_pair", "empathy", expectation=3, perception=5),
    ]
    score = score_response(answers)
    # reliability (-2 + 0) / 2 = -1, empathy +2 → mean 0.5; perceptions 3,4,5 → mean 4 → 75.
    assert score.overall_gap == 0.5
    assert score.satisfaction_index == 75.0
    ratings = score_response([CleanAnswer("r", "rating", None, score=1)])
    assert ratings.overall_gap is None and ratings.satisfaction_index == 0.0


def test_callback_is_satisfied_only_when_solved_and_rated_four_or_five() -> None:
    def answers(solved: bool, rating: int) -> list[CleanAnswer]:
        return [
            CleanAnswer("reached", "yes_no", None, flag=True),
            CleanAnswer("solved", "yes_no", None, flag=solved),
            CleanAnswer("satisfaction", "rating", None, score=rating),
        ]

    assert callback_satisfied(answers(True, 4))
    assert callback_satisfied(answers(True, 5))
    assert not callback_satisfied(answers(True, 3))
    assert not callback_satisfied(answers(False, 5))
