"""Analytics: SQL figures shaped with the pure formulas."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.analytics import repository
from complaint_svc.analytics.formulas import (
    ADVICE,
    changes,
    classify_trend,
    pareto,
    periods_between,
    rate,
    repeat_warning,
)
from complaint_svc.analytics.repository import Window
from complaint_svc.analytics.schemas import (
    Candidate,
    CandidatesOut,
    ConcentrationOut,
    ConcentrationRow,
    OverviewOut,
    RateFigures,
    RateGroup,
    RateOut,
    RepeatRateOut,
    TrendGroup,
    TrendOut,
    TrendPeriod,
    TrendSeries,
)
from complaint_svc.analytics.windows import active_per_period


async def complaint_rate(session: AsyncSession, window: Window, by: str | None) -> RateOut:
    """Complaint rate per group and in total (a shop counts once)."""
    groups = await repository.rate_groups(session, window, by)
    complaining = sum(numerator for _, numerator, _ in groups)
    customers = sum(denominator for _, _, denominator in groups)
    return RateOut(
        by=by,
        groups=[
            RateGroup(
                key=key,
                complaining_customers=numerator,
                customers=denominator,
                rate=rate(numerator, denominator),
            )
            for key, numerator, denominator in groups
        ]
        if by
        else [],
        total=RateFigures(
            complaining_customers=complaining,
            customers=customers,
            rate=rate(complaining, customers),
        ),
    )


async def repeat_rate(session: AsyncSession, window: Window, alert_level: float) -> RepeatRateOut:
    """Repeat complaints / all complaints, with the warning flag."""
    await repository.fold_deltas(session)
    total, repeats = await repository.repeat_counts(session, window)
    value = rate(repeats, total)
    return RepeatRateOut(
        total_complaints=total,
        repeat_complaints=repeats,
        rate=value,
        alert_level=alert_level,
        warning=repeat_warning(value, alert_level),
    )


async def concentration(session: AsyncSession, window: Window, by: str) -> ConcentrationOut:
    """The Pareto table of complaints by service item or category."""
    await repository.fold_deltas(session)
    counts = await repository.concentration_counts(session, window, by)
    rows = [ConcentrationRow(**vars(row)) for row in pareto(counts)]
    return ConcentrationOut(by=by, total=sum(count for _, count in counts), rows=rows)


def _series(dates: list[date], complaining: list[int], customers: list[int]) -> TrendSeries:
    rates = [rate(n, d) for n, d in zip(complaining, customers, strict=True)]
    deltas = changes(rates)
    classification = classify_trend(rates)
    return TrendSeries(
        periods=[
            TrendPeriod(
                period=day,
                complaining_customers=n,
                customers=d,
                rate=r,
                change=delta.absolute,
                relative_change=delta.relative,
            )
            for day, n, d, r, delta in zip(
                dates, complaining, customers, rates, deltas, strict=True
            )
        ],
        classification=classification,
        advice=ADVICE[classification],
    )


async def trend(
    session: AsyncSession, window: Window, by: str | None, granularity: str
) -> TrendOut:
    """Complaint rate per period, change from the previous one, and the classification."""
    counts = await repository.trend_counts(session, window, by, granularity)
    periods = periods_between(window.first, window.last, granularity)
    keys = sorted(set(counts.started) | set(counts.complaining))
    groups: list[TrendGroup] = []
    total_numerators = [0] * len(periods)
    total_denominators = [0] * len(periods)
    for key in keys:
        numerator = counts.complaining.get(key, [0] * len(periods))
        denominator = active_per_period(
            len(periods), counts.started.get(key, []), counts.stopped.get(key, [])
        )
        for index in range(len(periods)):
            total_numerators[index] += numerator[index]
            total_denominators[index] += denominator[index]
        series = _series(periods, numerator, denominator)
        groups.append(TrendGroup(key=key, **series.model_dump()))
    total = _series(periods, total_numerators, total_denominators)
    return TrendOut(
        granularity=granularity, by=by, groups=groups if by else [], **total.model_dump()
    )


async def overview(session: AsyncSession, window: Window) -> OverviewOut:
    """Counts, times, first-contact resolution, repeat rate and the top three items."""
    figures = await repository.overview_figures(session, window)
    total, repeats = await repository.repeat_counts(session, window)
    table = await concentration(session, window, "service_item")
    return OverviewOut(
        total_complaints=total,
        by_status=figures["by_status"],
        overdue=figures["overdue"],
        acknowledge_hours_mean=figures["acknowledge_hours_mean"],
        acknowledge_hours_p90=figures["acknowledge_hours_p90"],
        resolve_hours_mean=figures["resolve_hours_mean"],
        resolve_hours_p90=figures["resolve_hours_p90"],
        first_contact_resolution_rate=rate(figures["resolved_first_contact"], figures["resolved"]),
        repeat_rate=rate(repeats, total),
        top_items=table.rows[:3],
    )


async def case_candidates(
    session: AsyncSession, window: Window, *, top: int = 3, per_item: int = 5, chains: int = 10
) -> CandidatesOut:
    """Complaints worth a case analysis: top concentration items and longest repeat chains."""
    table = await concentration(session, window, "service_item")
    top_items = table.rows[:top]
    candidates: dict[object, Candidate] = {}
    for row in await repository.longest_chains(session, window, chains):
        candidates[row[0]] = Candidate(
            complaint_id=row[0],
            ref=row[1],
            service_item=row[2],
            category=row[3],
            repeats=row[4],
            reason="repeat_chain",
        )
    items = [row.key for row in top_items]
    for row in await repository.item_examples(session, window, items, per_item):
        candidates.setdefault(
            row[0],
            Candidate(
                complaint_id=row[0],
                ref=row[1],
                service_item=row[2],
                category=row[3],
                repeats=row[4],
                reason="top_item",
            ),
        )
    return CandidatesOut(top_items=top_items, candidates=list(candidates.values()))
