"""The benches' pure parts: load splits, percentiles, token profiles, profile summaries, scale tables, final lines."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from bench.loadgen import GeneratorResult, LoadFigures, percentile_ms, ratio, split, token_profile
from bench.profiles import summary, top_frames
from bench.scale import HOT_STATEMENT, OPERATIONS, Case, Timings, last_full_month, table
from bench.tokens import Figures, final_line
from bench.transfers import Figures as TransferFigures
from bench.transfers import final_line as transfers_final_line


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("total", "parts", "expected"), [(32, 1, [32]), (32, 3, [11, 11, 10]), (2, 4, [1, 1, 0, 0]), (0, 2, [0, 0])]
)
def test_connections_are_spread_evenly_over_generators(total: int, parts: int, expected: list[int]) -> None:
    assert split(total, parts) == expected
    assert sum(split(total, parts)) == total


def test_percentiles_are_in_milliseconds_and_need_two_samples() -> None:
    latencies = [i / 1000 for i in range(1, 101)]  # 1..100 ms

    assert percentile_ms(latencies, 50) == pytest.approx(50.5)
    assert 98.9 < percentile_ms(latencies, 99) <= 100
    assert percentile_ms([0.5], 50) == 0.0
    assert ratio(3, 0) == 0.0


def test_generator_figures_add_up_and_flag_a_saturated_generator() -> None:
    busy = GeneratorResult([0.01] * 900, errors=2, first_error="400", elapsed=3.0, cpu_seconds=2.9, ran_out=False)
    idle = GeneratorResult([0.02] * 300, errors=0, first_error="", elapsed=2.5, cpu_seconds=0.3, ran_out=True)
    figures = LoadFigures("tokens", [busy, idle])

    assert figures.operations == 1200
    assert figures.errors == 2
    assert figures.per_second == pytest.approx(400)
    assert figures.generator_cpu_seconds == pytest.approx(3.2)
    line = figures.generator_line()
    assert "2 process(es)" in line
    assert "GENERATOR-BOUND" in line
    assert "RAN OUT OF ASSERTIONS" in line
    calm = LoadFigures("tokens", [idle]).generator_line()
    assert "GENERATOR-BOUND" not in calm


def test_a_token_profile_says_its_alg_type_and_binding() -> None:
    bound = f"{_b64({'alg': 'ES256', 'typ': 'at+jwt'})}.{_b64({'cnf': {'x5t#S256': 'abc'}})}.sig"
    unbound = f"{_b64({'alg': 'PS256', 'typ': 'JWT'})}.{_b64({'sub': 'x'})}.sig"

    assert token_profile(bound) == "ES256 at+jwt mTLS-bound"
    assert token_profile(unbound) == "PS256 JWT unbound"
    assert token_profile("an-opaque-token") == "opaque"


def test_top_frames_rank_own_and_total_time_counting_a_recursive_frame_once_without_the_trunk() -> None:
    speedscope = {
        "shared": {
            "frames": [
                {"name": "main", "file": "bench/x.py", "line": 1},
                {"name": "handle", "file": "app.py", "line": 2},
                {"name": "sign", "file": "crypto.py", "line": 3},
                {"name": "log", "file": "log.py", "line": 4},
            ]
        },
        "profiles": [
            # main -> handle -> handle -> sign (3), main -> handle (1), main -> log (4), an empty stack (ignored)
            {"type": "sampled", "samples": [[0, 1, 1, 2], [0, 1], [0, 3], []], "weights": [3, 1, 4, 5]},
            {"type": "evented", "events": []},
        ],
    }

    own, total = top_frames(speedscope, 2)

    assert [(item.frame.split()[0], item.share) for item in own] == [("log", 0.5), ("sign", 0.375)]
    # main is on every stack (the trunk); handle is counted once per sample although it recurses.
    assert [(item.frame.split()[0], item.share) for item in total] == [("handle", 0.5), ("log", 0.5)]
    text = summary(speedscope, 2)
    assert "by own time" in text
    assert "37.5%  sign (crypto.py:3)" in text
    assert top_frames({"shared": {"frames": []}, "profiles": []}, 5) == ([], [])


@pytest.mark.parametrize(("today", "month"), [(date(2026, 12, 5), "2026-11"), (date(2027, 1, 31), "2026-12")])
def test_the_statement_month_is_the_last_full_one(today: date, month: str) -> None:
    assert last_full_month(today) == month


def _case(postings: int) -> Case:
    return Case(postings, postings // 10, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), postings // 20, 1.0)


def _timings(ms: float) -> Timings:
    return Timings([ms / 1000] * 10)


def test_the_scale_table_gives_ratios_to_the_smallest_case_and_a_verdict() -> None:
    # The hot account's statement grows with the ledger: per line, and outside the verdict even when 10x slower.
    small = {**{operation: _timings(10) for operation in OPERATIONS}, HOT_STATEMENT: _timings(10)}
    large = {**{operation: _timings(15) for operation in OPERATIONS}, HOT_STATEMENT: _timings(100)}
    cases = [replace(_case(10**4), hot_month_lines=50), replace(_case(10**5), hot_month_lines=500)]

    lines = table(cases, [small, large])

    assert len(lines) == len(OPERATIONS) + 4
    assert "x1.50" in lines[1]
    assert lines[-3].count("  200 us/ln") == 2
    assert lines[-1] == "scale: worst p50 ratio to the smallest case x1.50 (meets the aim of 2x)"
    slow = {**large, "statement (month)": _timings(25)}
    assert "misses the aim" in table(cases, [small, slow])[-1]


def test_the_final_lines_carry_rates_ratios_and_memory() -> None:
    obank = Figures("obank", 300, 0, 3.0, [0.01, 0.02, 0.03])
    node = Figures("node", 600, 0, 3.0, [0.005, 0.01, 0.015])
    floor = Figures("floor", 450, 0, 3.0, [0.005, 0.01, 0.015])

    line = final_line(obank, node, floor, 200 * 2**20, 100 * 2**20)

    assert line.startswith("tokens: obank=100/s node=200/s ratio=0.50 floor=150/s obank/floor=0.67 floor/node=0.75 ")
    assert "rss obank=200MiB node=100MiB" in line

    def figures(name: str, count: int) -> TransferFigures:
        return TransferFigures(name, count, 1.0, 0.1, [0.001 * (i + 1) for i in range(count)])

    by_name = {
        "plain SQL (baseline)": figures("plain", 400),
        "HTTP (in-process ASGI)": figures("http", 100),
        "plain SQL balance read (baseline)": figures("plain read", 1000),
        "HTTP balance read (in-process ASGI)": figures("http read", 250),
        "HTTP floor (bench.core_floor)": figures("floor", 200),
        "HTTP floor balance read": figures("floor read", 500),
    }
    summary_line = transfers_final_line(by_name, 150 * 2**20, 160 * 2**20)
    assert summary_line.startswith("transfers: plain=400/s http=100/s ratio=0.25 floor=0.50 ")
    assert "balance: plain=1000/s http=250/s ratio=0.25 floor=0.50" in summary_line
    assert summary_line.endswith("rss idle=150MiB load=160MiB")
