"""Fee engine throughput: calls per second for each rule type, against a bare Decimal floor.

    .venv/bin/python bench/fee_engine.py [--calls 100000]   (about 10 s; --calls 200000 for steadier figures)

Prints JSON lines: {"bench": "fee_engine", "case": ..., "calls": ..., "seconds": ...,
"per_second": ..., "ratio_to_floor": ...}. The engine is pure Python: no Django, no database.
The rule definitions are the demo ones (cms/fees/demo_rules.py, plain data), compiled once,
as the web layer does (FeeRule.compiled)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cms.fees import engine


def demo_definitions() -> dict[str, dict]:
    from cms.fees.demo_rules import RULES  # plain data, no Django

    assert "django" not in sys.modules
    return {r["code"]: r["definition"] for r in RULES}


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    n = args.calls
    defs = demo_definitions()

    def floor(count: int) -> None:
        a, r = Decimal("8000000.00"), Decimal("0.55")
        for _ in range(count):
            (a * r / 100).quantize(engine.FEN)

    floor_s = timed(floor, n)
    floor_rate = n / floor_s
    print(json.dumps({"bench": "fee_engine", "case": "decimal_floor",
                      "what": "one Decimal multiply, divide and quantize",
                      "calls": n, "seconds": round(floor_s, 4), "per_second": round(floor_rate),
                      "ratio_to_floor": 1.0}), flush=True)

    cases = [
        ("cumulative", "zbdl-1980", Decimal(80000000), "works", {"scope": "docs"}),
        ("interpolation", "eia-interp", Decimal(80000000), "report",
         {"industry": "complex", "sensitivity": "sensitive"}),
        ("percentage", "cost-consult-pct", Decimal(80000000), "settlement", None),
        ("fixed", "survey-fixed", None, None, {"region": "hilly"}),
    ]
    for kind, code, amount, category, coefs in cases:
        rule = engine.compile_rule(defs[code])
        calc = engine.calculate
        expected = calc(rule, amount, category, coefs).standard_fee

        def run(count: int, rule=rule, amount=amount, category=category, coefs=coefs,
                calc=calc) -> None:
            for _ in range(count):
                calc(rule, amount, category, coefs)

        seconds = timed(run, n)
        rate = n / seconds
        print(json.dumps({"bench": "fee_engine", "case": kind, "rule": code, "calls": n,
                          "seconds": round(seconds, 4), "per_second": round(rate),
                          "standard_fee": str(expected),
                          "steps": len(calc(rule, amount, category, coefs).steps),
                          "ratio_to_floor": round(floor_rate / rate, 1)}), flush=True)

    m = max(n // 20, 1000)
    definition = defs["zbdl-1980"]

    def validate(count: int) -> None:
        for _ in range(count):
            engine.validate_definition(definition)

    seconds = timed(validate, m)
    rate = m / seconds
    print(json.dumps({"bench": "fee_engine", "case": "validate_definition", "rule": "zbdl-1980",
                      "calls": m, "seconds": round(seconds, 4), "per_second": round(rate),
                      "ratio_to_floor": round(floor_rate / rate, 1)}), flush=True)


if __name__ == "__main__":
    main()
