"""What a `Role` derives from the counters of one figure set, each derivation done at most once.

A role document holds every employer, skill and metro of the role, and a salary histogram per
basis with thousands of distinct values; a field reads a few entries of each (the top four
companies, three quantiles). Ranking a map or sorting a histogram costs its length, so this
object does it once and keeps the result, and a field then costs its answer's length.

One instance lives as long as the counters it derives from: for a request, or, when the read
model keeps the counters in memory for the current data version (services/read_memo.py), for
every request at that version; a new version brings new counters and a new instance.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from rolepulse.domain.aggregates import SalaryStats, ranking, salary_stats_of
from rolepulse.domain.distribution import Distribution
from rolepulse.domain.figures import PayingCompany, best_paying, pay_ranking
from rolepulse.domain.model import SalaryBasis

# topPayingCompanies answers kept per figure set: (basis, limit, minPostings) has 300,000
# combinations, and a pick from the pay ranking may scan much of it when few companies have
# minPostings postings with pay.
MAX_PAYING_ANSWERS = 32


class DerivedFigures:
    """Salary distributions and statistics per basis, rankings of the count maps, pay rankings
    of companies, computed from `counters` (role-document shape) when first asked for."""

    __slots__ = ("_counters", "_distributions", "_pay_rankings", "_paying", "_rankings", "_stats")

    def __init__(self, counters: Mapping[str, Any]) -> None:
        self._counters = counters
        self._distributions: dict[SalaryBasis, Distribution] = {}
        self._stats: dict[SalaryBasis, SalaryStats] = {}
        self._rankings: dict[str, list[tuple[str, int]]] = {}
        self._pay_rankings: dict[SalaryBasis, list[PayingCompany]] = {}
        self._paying: OrderedDict[tuple[SalaryBasis, int, int], list[PayingCompany]] = OrderedDict()

    def distribution(self, basis: SalaryBasis) -> Distribution:
        found = self._distributions.get(basis)
        if found is None:
            hist = self._salary().get(f"hist_{basis.value}")
            found = self._distributions[basis] = Distribution.of_counters(hist)
        return found

    def salary_stats(self, basis: SalaryBasis) -> SalaryStats:
        found = self._stats.get(basis)
        if found is None:
            found = salary_stats_of(self._salary(), basis, self.distribution(basis))
            self._stats[basis] = found
        return found

    def top(self, part: str, limit: int) -> list[tuple[str, int]]:
        """The `limit` largest counters of the map `part` (skills, companies, metros), most
        first, ties by name (aggregates.top_counts)."""
        return self.ranking(part)[:limit]

    def ranking(self, part: str) -> list[tuple[str, int]]:
        found = self._rankings.get(part)
        if found is None:
            counts = self._counters.get(part)
            found = self._rankings[part] = ranking(counts if isinstance(counts, Mapping) else {})
        return found

    def top_paying(self, basis: SalaryBasis, limit: int, min_postings: int) -> list[PayingCompany]:
        """figures.top_paying over the `company_pay` map."""
        key = (basis, limit, min_postings)
        found = self._paying.get(key)
        if found is not None:
            self._paying.move_to_end(key)
            return found
        ranked = self._pay_rankings.get(basis)
        if ranked is None:
            pay = self._counters.get("company_pay")
            ranked = pay_ranking(pay if isinstance(pay, Mapping) else {}, basis)
            self._pay_rankings[basis] = ranked
        found = self._paying[key] = best_paying(ranked, limit, min_postings)
        if len(self._paying) > MAX_PAYING_ANSWERS:
            self._paying.popitem(last=False)
        return found

    def _salary(self) -> Mapping[str, object]:
        salary = self._counters.get("salary")
        return salary if isinstance(salary, Mapping) else {}
