"""Print the rows the benchmarks wrote to bench/results/ as one Markdown table with targets."""

from __future__ import annotations

import json

from _common import RESULTS


def main() -> None:
    records = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*--*.json"))]
    print("\n| benchmark | row | ratio | target | |\n| --- | --- | --- | --- | --- |")
    for r in records:
        verdict = "reported" if r["met"] is None else "met" if r["met"] else "NOT met"
        print(f"| {r['benchmark']} | {r['row']} | {r['ratio']:.2f} | {r['target']} | {verdict} |")
    if records:
        print(
            f"\n{records[0]['machine']}; load average at the end: {records[-1]['load_average']:.1f}"
        )


if __name__ == "__main__":
    main()
