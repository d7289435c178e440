"""Answer validation and per-response scores (pure: no framework imports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SCALE_MIN, SCALE_MAX = 1, 5
MAX_TEXT_LENGTH = 2000


@dataclass(frozen=True)
class ItemSpec:
    """What the questionnaire says about one item."""

    code: str
    format: str
    required: bool
    dimension: str | None = None


@dataclass(frozen=True)
class RawAnswer:
    """One submitted answer, before validation."""

    item_code: str
    expectation: Any = None
    perception: Any = None
    score: Any = None
    value: Any = None


@dataclass(frozen=True)
class AnswerProblem:
    """One problem with the answers, naming the item it concerns."""

    field: str
    item_code: str
    rule: str
    message: str


@dataclass(frozen=True)
class CleanAnswer:
    """A validated answer ready to store."""

    item_code: str
    format: str
    dimension: str | None
    expectation: int | None = None
    perception: int | None = None
    score: int | None = None
    flag: bool | None = None
    text: str | None = None


_FIELDS_BY_FORMAT = {
    "servqual_pair": {"expectation", "perception"},
    "rating": {"score"},
    "yes_no": {"value"},
    "text": {"value"},
}


def _is_scale(value: Any) -> bool:
    # bool is an int subclass in Python; True is not a score.
    return (
        isinstance(value, int) and not isinstance(value, bool) and SCALE_MIN <= value <= SCALE_MAX
    )


def validate_answers(
    items: Sequence[ItemSpec], answers: Sequence[RawAnswer]
) -> tuple[list[CleanAnswer], list[AnswerProblem]]:
    """Check answers against the questionnaire; every problem names its item."""
    by_code = {item.code: item for item in items}
    problems: list[AnswerProblem] = []
    clean: list[CleanAnswer] = []
    seen: set[str] = set()
    for position, answer in enumerate(answers):
        prefix = f"answers.{position}"
        item = by_code.get(answer.item_code)
        if item is None:
            problems.append(
                AnswerProblem(
                    f"{prefix}.item_code",
                    answer.item_code,
                    "unknown_item",
                    f"item {answer.item_code!r} is not in this questionnaire",
                )
            )
            continue
        if answer.item_code in seen:
            problems.append(
                AnswerProblem(
                    f"{prefix}.item_code",
                    answer.item_code,
                    "duplicate_item",
                    f"item {answer.item_code!r} is answered more than once",
                )
            )
            continue
        seen.add(answer.item_code)
        item_problems = _check_answer(prefix, item, answer)
        if item_problems:
            problems.extend(item_problems)
            continue
        clean.append(_clean(item, answer))
    for item in items:
        if item.required and item.code not in seen:
            problems.append(
                AnswerProblem(
                    "answers",
                    item.code,
                    "required",
                    f"required item {item.code!r} is not answered",
                )
            )
    return clean, problems


def _check_answer(prefix: str, item: ItemSpec, answer: RawAnswer) -> list[AnswerProblem]:
    problems: list[AnswerProblem] = []
    allowed = _FIELDS_BY_FORMAT[item.format]
    given = {
        name
        for name in ("expectation", "perception", "score", "value")
        if getattr(answer, name) is not None
    }
    for name in sorted(given - allowed):
        problems.append(
            AnswerProblem(
                f"{prefix}.{name}",
                item.code,
                "not_for_format",
                f"item {item.code!r} is a {item.format} item: {name} does not apply",
            )
        )
    if item.format in ("servqual_pair", "rating"):
        for name in sorted(allowed):
            if not _is_scale(getattr(answer, name)):
                problems.append(
                    AnswerProblem(
                        f"{prefix}.{name}",
                        item.code,
                        "scale",
                        f"item {item.code!r}: {name} must be an integer from 1 to 5",
                    )
                )
    elif item.format == "yes_no" and not isinstance(answer.value, bool):
        problems.append(
            AnswerProblem(
                f"{prefix}.value",
                item.code,
                "yes_no",
                f"item {item.code!r}: value must be true or false",
            )
        )
    elif item.format == "text" and not (
        isinstance(answer.value, str) and len(answer.value) <= MAX_TEXT_LENGTH
    ):
        problems.append(
            AnswerProblem(
                f"{prefix}.value",
                item.code,
                "text",
                f"item {item.code!r}: value must be text of at most {MAX_TEXT_LENGTH} characters",
            )
        )
    return problems


def _clean(item: ItemSpec, answer: RawAnswer) -> CleanAnswer:
    if item.format == "servqual_pair":
        return CleanAnswer(
            item.code,
            item.format,
            item.dimension,
            expectation=answer.expectation,
            perception=answer.perception,
        )
    if item.format == "rating":
        return CleanAnswer(item.code, item.format, item.dimension, score=answer.score)
    if item.format == "yes_no":
        return CleanAnswer(item.code, item.format, item.dimension, flag=answer.value)
    return CleanAnswer(item.code, item.format, item.dimension, text=answer.value)


@dataclass(frozen=True)
class ResponseScore:
    """The figures of one response that travel on survey.response_recorded."""

    overall_gap: float | None
    satisfaction_index: float | None


def satisfaction_index(mean_score: float) -> float:
    """100 · (mean perception - 1) / 4: 0 for all 1s, 100 for all 5s."""
    return 100.0 * (mean_score - SCALE_MIN) / (SCALE_MAX - SCALE_MIN)


def score_response(answers: Sequence[CleanAnswer]) -> ResponseScore:
    """SERVQUAL score (mean of dimension gaps) and satisfaction index of one response.

    Questionnaires without SERVQUAL pairs take the satisfaction index from their ratings.
    """
    pairs = [a for a in answers if a.expectation is not None and a.perception is not None]
    if pairs:
        gaps_by_dimension: dict[str, list[int]] = {}
        for answer in pairs:
            assert answer.perception is not None and answer.expectation is not None
            gaps_by_dimension.setdefault(answer.dimension or "", []).append(
                answer.perception - answer.expectation
            )
        dimension_gaps = [sum(g) / len(g) for g in gaps_by_dimension.values()]
        mean_perception = sum(a.perception or 0 for a in pairs) / len(pairs)
        return ResponseScore(
            overall_gap=sum(dimension_gaps) / len(dimension_gaps),
            satisfaction_index=satisfaction_index(mean_perception),
        )
    scores = [a.score for a in answers if a.score is not None]
    if scores:
        return ResponseScore(None, satisfaction_index(sum(scores) / len(scores)))
    return ResponseScore(None, None)


def callback_satisfied(answers: Sequence[CleanAnswer]) -> bool:
    """The shop says the problem is solved and rates the handling 4 or 5."""
    by_code = {answer.item_code: answer for answer in answers}
    solved = by_code.get("solved")
    rating = by_code.get("satisfaction")
    return bool(
        solved is not None
        and solved.flag is True
        and rating is not None
        and rating.score is not None
        and rating.score >= 4
    )


def callback_comment(answers: Sequence[CleanAnswer]) -> str | None:
    """The free-text comment of a callback, if any."""
    for answer in answers:
        if answer.item_code == "comment":
            return answer.text
    return None
