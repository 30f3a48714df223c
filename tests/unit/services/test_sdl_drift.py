"""The committed SDL (schema/schema.graphql) must match the schema the code builds."""

from __future__ import annotations

from pathlib import Path

from rolepulse.services.graphql.schema import export_sdl

SDL_FILE = Path(__file__).resolve().parents[3] / "schema" / "schema.graphql"


def test_committed_sdl_matches_code() -> None:
    committed = SDL_FILE.read_text(encoding="utf-8")
    assert committed == export_sdl(), (
        "schema/schema.graphql is stale: regenerate it from services.graphql.schema.export_sdl()"
    )


def test_sdl_keeps_the_contract_fields() -> None:
    sdl = export_sdl()
    for fragment in (
        # Arguments may be added after these (issue 10: `filter`), never taken away.
        "compareRoles(a: String!, b: String!, salaryBasis: SalaryBasis! = MIDPOINT",
        "limit: Int! = 8\n  ): [NameCount!]!",
        "enum SalaryBasis {\n  MIN\n  MAX\n  MIDPOINT\n}",
    ):
        assert fragment in sdl
