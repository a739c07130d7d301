"""Fraud scoring measured on labelled data: precision, recall and F1 per rule and per fraud pattern, and latency.

Run: `.venv/bin/python -m bench.fraud [--transactions 100000] [--seed 7] [--customers 3000] [--weeks 8]
[--history-weeks 5] [--loop uvloop]`. It starts a throw-away embedded PostgreSQL, migrates it and generates a
labelled data set (`bench.fraud_data`: customers with habits, legitimate noise, fraud injected by pattern). The
throw-away database commits without waiting for its WAL flush (`synchronous_commit` off; decisions only read).
Then:
- history: the weeks before go-live, settled payments, sign-ins, payees, applied through
  `fraud.features.service.apply_events` in transactions of 10,000 events (no decision is taken there; the
  same features as `apply_event` on each, in a round trip per kind of write);
- the mule list: analysts' accounts marked with `fraud.features.service.mark_mule`;
- live, in time order: for each payment, the events before it are applied in one transaction through
  `apply_event`, one by one as the features consumer does (sign-ins, payees, password changes, earlier payments'
  acceptance and settlement), then `FraudEngine.decide` is timed
  (`perf_counter_ns`) on the same database. APPROVE and MONITOR settle (`payment.status_changed` ACSC after
  the payment's settlement delay); REVIEW and BLOCK publish `payment.fraud_flagged`, BLOCK also its rejection
  (RJCT, FRAD), and neither settles. Engine defaults only: the bench measures the settings as shipped.
The data set is generated before anything is timed and then frozen out of the garbage collector's reach (it is
the bench's, not the engine's: a full collection over it would land in whichever decision it interrupts).
A payment counts as flagged when held (REVIEW or BLOCK). Per pattern: recall over that pattern's payments, and
precision against the legitimate payments held whose strongest rule bears the pattern's name (the false alarms
that look like it). Per rule: flagged when held with the rule among those fired; precision over every label,
recall over the rule's own pattern. The last line sums it up for comparing runs; the aims are recall >= 0.9 with
at most 2 % of legitimate payments held, and p99 decision latency <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import itertools
import math
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import psycopg
import uvloop
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.trail import platform_units
from bench import bench_settings
from bench.fraud_data import (
    PATTERNS,
    FraudDataset,
    LabelledPayment,
    acceptance_events,
    fraud_flagged_event,
    fraud_rejection_event,
    generate,
    settlement_event,
)
from fraud.decisions import Decision, Recommendation
from fraud.engine import FraudEngine
from fraud.features.service import apply_event, apply_events, mark_mule
from obank.actor import Actor, ActorKind
from obank.database import unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.outbox.record import Event
from obank.runtime import Platform, build_platform

HISTORY_BATCH = 10_000
HELD = (Recommendation.REVIEW, Recommendation.BLOCK)
ANALYST = Actor(ActorKind.STAFF, "bench-fraud-analyst")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One payment's decision and how long `decide` took."""

    payment: LabelledPayment
    decision: Decision
    latency_ns: int

    @property
    def held(self) -> bool:
        return self.decision.recommendation in HELD

    @property
    def fired(self) -> set[str]:
        return {hit.rule for hit in self.decision.rules if hit.contribution > 0}

    @property
    def strongest_rule(self) -> str | None:
        hits = [hit for hit in self.decision.rules if hit.contribution > 0]
        return max(hits, key=lambda hit: hit.contribution).rule if hits else None


@dataclass(frozen=True, slots=True)
class Timings:
    """Where the run's wall time went: history, and the live replay with its share applying events."""

    history_s: float
    history_events: int
    replay_s: float
    live_events: int
    apply_s: float


# Replay.


async def apply_live_events(sessions: async_sessionmaker[AsyncSession], events: Sequence[Event]) -> None:
    """Apply events to the features in one transaction, one by one in order, as the features consumer does."""
    async with unit_of_work(sessions) as session:
        for event in events:
            await apply_event(session, event)


async def apply_history(sessions: async_sessionmaker[AsyncSession], history: Sequence[Event]) -> float:
    """The weeks before go-live, in transactions of `HISTORY_BATCH` events (no decision falls between them)."""
    started = time.perf_counter()
    for offset in range(0, len(history), HISTORY_BATCH):
        async with unit_of_work(sessions) as session:
            await apply_events(session, history[offset : offset + HISTORY_BATCH])
    return time.perf_counter() - started


async def mark_mules(platform: Platform, accounts: Iterable[str]) -> None:
    """The mule list as analysts left it before go-live."""
    async with platform_units(platform).begin(ANALYST) as uow:
        for account in accounts:
            await mark_mule(uow, account, reason="Confirmed mule account (reported by the receiving bank)")


def consequences(payment: LabelledPayment, decision: Decision) -> list[Event]:
    """What core banking publishes about a payment once decided: acceptance, then settlement or the fraud outcome."""
    events = acceptance_events(payment)
    if decision.recommendation in HELD:
        events.append(fraud_flagged_event(payment, decision))
        if decision.recommendation is Recommendation.BLOCK:
            events.append(fraud_rejection_event(payment))
    else:
        events.append(settlement_event(payment))
    return events


async def replay(
    dataset: FraudDataset, sessions: async_sessionmaker[AsyncSession], engine: FraudEngine
) -> tuple[list[Outcome], Timings]:
    """Every live payment decided in time order, after the events that precede it."""
    outcomes: list[Outcome] = []
    later: list[tuple[datetime, int, Event]] = []  # the payments' own events, due at their times
    order = itertools.count()
    pending: list[Event] = []
    applied = 0
    apply_ns = 0
    total = len(dataset.payments)
    started = time.perf_counter()
    for item in dataset.timeline:
        moment = item.occurred_at if isinstance(item, Event) else item.facts.created_at
        while later and later[0][0] <= moment:
            pending.append(heapq.heappop(later)[2])
        if isinstance(item, Event):
            pending.append(item)
            continue
        if pending:
            began = time.perf_counter_ns()
            await apply_live_events(sessions, pending)
            apply_ns += time.perf_counter_ns() - began
            applied += len(pending)
            pending = []
        began = time.perf_counter_ns()
        decision = await engine.decide(item.facts)
        outcomes.append(Outcome(item, decision, time.perf_counter_ns() - began))
        for event in consequences(item, decision):
            heapq.heappush(later, (event.occurred_at, next(order), event))
        if len(outcomes) % 10_000 == 0:
            elapsed = time.perf_counter() - started
            print(f"  ... {len(outcomes)}/{total} payments decided in {elapsed:.0f} s", flush=True)
    replay_s = time.perf_counter() - started
    return outcomes, Timings(0.0, 0, replay_s, applied, apply_ns / 1e9)


# Figures.


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def percentile(sorted_values: Sequence[int], q: float) -> float:
    """Nearest-rank percentile."""
    return float(sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)])


def pattern_table(outcomes: Sequence[Outcome]) -> list[str]:
    """Per injected pattern: recall over its payments and its cases, precision against look-alike false alarms."""
    by_pattern: dict[str | None, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_pattern[outcome.payment.pattern].append(outcome)
    false_alarms = Counter(outcome.strongest_rule for outcome in by_pattern[None] if outcome.held)
    lines = [
        f"{'pattern':24} {'payments':>8} {'held':>6} {'precision':>9} {'recall':>7} {'f1':>6} {'cases':>6} "
        f"{'caught':>6}   APPROVE/MONITOR/REVIEW/BLOCK"
    ]
    for pattern in PATTERNS:
        group = by_pattern[pattern]
        held = sum(outcome.held for outcome in group)
        precision, recall = ratio(held, held + false_alarms[pattern]), ratio(held, len(group))
        cases: dict[int | None, bool] = defaultdict(bool)
        for outcome in group:
            cases[outcome.payment.case_id] |= outcome.held
        spread = Counter(outcome.decision.recommendation for outcome in group)
        lines.append(
            f"{pattern:24} {len(group):8} {held:6} {precision:9.3f} {recall:7.3f} {f1(precision, recall):6.3f} "
            f"{len(cases):6} {ratio(sum(cases.values()), len(cases)):6.1%}   "
            + "/".join(str(spread[recommendation]) for recommendation in Recommendation)
        )
    return lines


def rule_table(outcomes: Sequence[Outcome]) -> list[str]:
    """Per rule: how often it fired, on what, and its precision/recall when the payment was held."""
    legit = sum(1 for outcome in outcomes if outcome.payment.pattern is None)
    own = Counter(outcome.payment.pattern for outcome in outcomes)
    rules = sorted({rule for outcome in outcomes for rule in outcome.fired})
    lines = [
        f"{'rule':24} {'fired':>7} {'on fraud':>8} {'on legit':>8} {'legit %':>7} {'held':>6} {'precision':>9} "
        f"{'recall':>7} {'f1':>6}"
    ]
    for rule in rules:
        fired = [outcome for outcome in outcomes if rule in outcome.fired]
        on_fraud = sum(1 for outcome in fired if outcome.payment.fraudulent)
        flagged = [outcome for outcome in fired if outcome.held]
        precision = ratio(sum(1 for outcome in flagged if outcome.payment.fraudulent), len(flagged))
        recall_text, f1_text = f"{'-':>7}", f"{'-':>6}"
        if rule in PATTERNS:
            recall = ratio(sum(1 for outcome in flagged if outcome.payment.pattern == rule), own[rule])
            recall_text, f1_text = f"{recall:7.3f}", f"{f1(precision, recall):6.3f}"
        on_legit = len(fired) - on_fraud
        lines.append(
            f"{rule:24} {len(fired):7} {on_fraud:8} {on_legit:8} {ratio(on_legit, legit):7.2%} "
            f"{len(flagged):6} {precision:9.3f} {recall_text} {f1_text}"
        )
    return lines


def false_alarm_lines(outcomes: Sequence[Outcome], top: int = 8) -> list[str]:
    """The rule combinations behind legitimate payments held, most frequent first (what to tune)."""
    combinations = Counter(
        " + ".join(sorted(outcome.fired)) or "(no rule)"
        for outcome in outcomes
        if outcome.held and not outcome.payment.fraudulent
    )
    return [f"  {count:6}  {combination}" for combination, count in combinations.most_common(top)]


def false_alarms_by_kind(outcomes: Sequence[Outcome]) -> list[str]:
    """Legitimate payments held and MONITORed by the kind of payment they are (which noise the engine mistakes)."""
    payments = Counter(outcome.payment.kind for outcome in outcomes if not outcome.payment.fraudulent)
    held = Counter(outcome.payment.kind for outcome in outcomes if outcome.held and not outcome.payment.fraudulent)
    monitored = Counter(
        outcome.payment.kind
        for outcome in outcomes
        if outcome.decision.recommendation is Recommendation.MONITOR and not outcome.payment.fraudulent
    )
    return [
        f"  {kind:16} {count:7} payments, held {held[kind]:5} ({ratio(held[kind], count):6.2%}), "
        f"MONITORed {monitored[kind]:5} ({ratio(monitored[kind], count):6.2%})"
        for kind, count in payments.most_common()
    ]


def missed_lines(outcomes: Sequence[Outcome], top: int = 12) -> list[str]:
    """Fraud let through, by pattern and the rules that did fire (what the engine cannot see or weighs too low)."""
    missed = Counter(
        (outcome.payment.pattern, " + ".join(sorted(outcome.fired)) or "(no rule)")
        for outcome in outcomes
        if outcome.payment.fraudulent and not outcome.held
    )
    return [f"  {count:6}  {pattern:24} {rules}" for (pattern, rules), count in missed.most_common(top)]


def report(dataset: FraudDataset, outcomes: Sequence[Outcome], timings: Timings, cpu_s: float) -> None:
    fraud = [outcome for outcome in outcomes if outcome.payment.fraudulent]
    legit = [outcome for outcome in outcomes if not outcome.payment.fraudulent]
    caught = sum(outcome.held for outcome in fraud)
    false_alarms = sum(outcome.held for outcome in legit)
    monitored = sum(outcome.decision.recommendation is Recommendation.MONITOR for outcome in legit)
    precision, recall = ratio(caught, caught + false_alarms), ratio(caught, len(fraud))
    legit_held = ratio(false_alarms, len(legit))
    latencies = sorted(outcome.latency_ns for outcome in outcomes)
    p50, p90, p99 = (percentile(latencies, q) / 1e6 for q in (0.5, 0.9, 0.99))
    decide_s = sum(latencies) / 1e9
    print("\n== Per pattern (a payment is flagged when held: REVIEW or BLOCK)")
    print("\n".join(pattern_table(outcomes)))
    print("\n== Per rule (fired: contribution > 0; precision and recall counted on held payments)")
    print("\n".join(rule_table(outcomes)))
    print("\n== Legitimate payments held, by the rules that fired")
    print("\n".join(false_alarm_lines(outcomes)) or "  none")
    print("\n== Legitimate payments by kind")
    print("\n".join(false_alarms_by_kind(outcomes)))
    print("\n== Fraud let through, by pattern and the rules that fired")
    print("\n".join(missed_lines(outcomes)) or "  none")
    print("\n== Overall")
    print(
        f"fraud payments {len(fraud)}, held {caught}: precision {precision:.3f}, recall {recall:.3f}, "
        f"F1 {f1(precision, recall):.3f}"
    )
    print(
        f"legitimate payments {len(legit)}: held {false_alarms} ({legit_held:.2%}), "
        f"MONITORed {monitored} ({ratio(monitored, len(legit)):.2%})"
    )
    print(
        f"decide latency: p50 {p50:.2f} ms, p90 {p90:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1] / 1e6:.2f} ms; "
        f"{len(outcomes) / decide_s:.0f} decisions/s (one at a time)"
    )
    print(
        f"history: {timings.history_events} events in {timings.history_s:.1f} s; live replay: {len(outcomes)} "
        f"payments and {timings.live_events} events in {timings.replay_s:.1f} s "
        f"({len(outcomes) / timings.replay_s:.0f} payments/s; applying events {timings.apply_s:.1f} s)"
    )
    print(f"bench process CPU time {cpu_s:.1f} s (PostgreSQL's own not included)")
    print(
        f"fraud: recall={recall:.3f} precision={precision:.3f} f1={f1(precision, recall):.3f} "
        f"legit_held={legit_held:.2%} p99_ms={p99:.2f}",
        flush=True,
    )


def commit_without_flush_wait(database_url: str) -> None:
    """The throw-away database commits without waiting for its WAL flush: the bench measures scoring, not the disk."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        name = connection.execute("SELECT current_database()").fetchone()
        assert name is not None
        connection.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name[0])))


async def measure(database_url: str, data_dir: Path, dataset: FraudDataset, cpu_started: float) -> None:
    settings = bench_settings(database_url, data_dir)
    platform = build_platform(settings)
    try:
        history_s = await apply_history(platform.sessions, dataset.history)
        print(f"history applied: {len(dataset.history)} events in {history_s:.1f} s", flush=True)
        await mark_mules(platform, dataset.mule_accounts)
        engine = FraudEngine.for_platform(platform)
        outcomes, timings = await replay(dataset, platform.sessions, engine)
        timings = replace(timings, history_s=history_s, history_events=len(dataset.history))
        report(dataset, outcomes, timings, time.process_time() - cpu_started)
    finally:
        await platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=100_000, help="live payments to decide")
    parser.add_argument("--seed", type=int, default=7, help="the data set's random seed")
    parser.add_argument("--customers", type=int, default=3_000, help="customers in the population")
    parser.add_argument("--weeks", type=int, default=8, help="weeks of live traffic")
    parser.add_argument("--history-weeks", type=int, default=5, help="weeks of settled history before go-live")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop")
    args = parser.parse_args()
    cpu_started = time.process_time()
    started = time.perf_counter()
    dataset = generate(
        args.transactions, seed=args.seed, customers=args.customers, weeks=args.weeks, history_weeks=args.history_weeks
    )
    print(f"== Data set (generated in {time.perf_counter() - started:.1f} s; times in London)")
    print("\n".join(dataset.composition()), flush=True)
    gc.freeze()  # the data set lives to the end: no collection need ever walk it
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            commit_without_flush_wait(url)
            loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else asyncio.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(measure(url, Path(scratch) / "var", dataset, cpu_started))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
