"""Each agency sees only what it may: the police model and the police's answers hold nothing of
wellbeing (no referral, screening or attention-list id; no student at all in its answers); the
committee model has no column about students and no student's pseudonym in any row; a carer's
answers list only the carer's own pairings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_expected import refs_in
from tests.support.agencies_pages import page_links
from tongxin_contracts.events import safety as sf

pytestmark = pytest.mark.integration


async def model_text(env: AgenciesEnv, schema: str) -> dict[str, str]:
    """Every table of ``schema`` as text (one line per row)."""
    tables = await env.pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    out = {}
    for t in tables:
        rows = await env.pool.fetch(f'SELECT t::text AS r FROM "{schema}"."{t["table_name"]}" t')
        out[t["table_name"]] = "\n".join(r["r"] for r in rows)
    return out


async def columns_of(env: AgenciesEnv, schema: str) -> list[str]:
    rows = await env.pool.fetch(
        "SELECT table_name || '.' || column_name AS c FROM information_schema.columns"
        " WHERE table_schema = $1",
        schema,
    )
    return [r["c"] for r in rows]


def links_of(page: dict[str, Any]) -> list[str]:
    return [link for link in page_links(page) if link.startswith("/lists/")]


async def answers(
    env: AgenciesEnv, path: str, params: dict[str, str], headers: dict[str, str]
) -> dict[str, str]:
    """A dashboard's answer and those of every list it links to."""
    r = await env.http.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    out = {path: r.text}
    for link in sorted(set(links_of(r.json()))):
        listed = await env.http.get(link, headers=headers)
        assert listed.status_code == 200, f"{link}: {listed.status_code} {listed.text[:200]}"
        out[link] = listed.text
    return out


async def test_the_police_model_holds_nothing_of_wellbeing(agencies_env: AgenciesEnv) -> None:
    env = agencies_env
    only = env.world.wellbeing_only()
    ids = only["referral_ids"] | only["screening_ids"] | only["proposal_ids"]
    # given the police model built from the world
    tables = await model_text(env, "police")
    assert any(tables.values()), "the police model is empty"
    # then no table holds a referral, screening or attention-list id, nor a column about them
    found = {t: sorted(refs_in(text, ids)) for t, text in tables.items() if refs_in(text, ids)}
    assert not found, found
    wellbeing_words = ("referral", "screen", "attention", "band", "score", "risk_flag")
    cols = [c for c in await columns_of(env, "police") if any(w in c for w in wellbeing_words)]
    assert not cols, cols


async def test_the_police_answers_hold_no_student_and_nothing_of_wellbeing(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    world = env.world
    only = world.wellbeing_only()
    ids = only["referral_ids"] | only["screening_ids"] | only["proposal_ids"]
    # given the police of the district; when they open their page and every list behind it
    texts = await answers(
        env,
        "/dashboards/police",
        {"district": env.district},
        env.token("police", f"police-{env.district}-1"),
    )
    assert len(texts) > 1, "the police page links to no list"
    # then no answer names a student or holds a wellbeing id
    seen = {
        where: sorted(refs_in(text, world.student_refs() | world.guardian_refs() | ids))
        for where, text in texts.items()
    }
    assert not {w: s for w, s in seen.items() if s}, {w: s for w, s in seen.items() if s}


async def test_the_committee_model_has_no_student_column_and_no_students_pseudonym(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    # given the committee model built from the world
    cols = await columns_of(env, "committee")
    tables = await model_text(env, "committee")
    assert any(tables.values()), "the committee model is empty"
    # then no column is about a student, and no row holds a student's pseudonym
    assert not [c for c in cols if "student" in c], cols
    found = {t: sorted(refs_in(text, env.world.student_refs())) for t, text in tables.items()}
    assert not {t: f for t, f in found.items() if f}, found


async def test_the_committee_answers_name_no_student(agencies_env: AgenciesEnv) -> None:
    env = agencies_env
    world = env.world
    member = next(m for m in world.members if m.current and m.school_id == "330106001")
    texts = await answers(
        env,
        "/dashboards/committee",
        {"committee_id": member.committee_id},
        env.token("committee_member", member.guardian_ref, school=member.school_id),
    )
    seen = {w: sorted(refs_in(t, world.student_refs())) for w, t in texts.items()}
    assert not {w: s for w, s in seen.items() if s}, seen


async def test_a_carer_sees_only_their_own_pairings(agencies_env: AgenciesEnv) -> None:
    env = agencies_env
    world = env.world
    carers = [c for c in world.carers if c.kind != "school" and c.district == env.district]
    assert len({c.kind for c in carers}) == 3
    assert len(carers) >= 4
    # a pairing declined or released, or of a closed file, may be left out
    ended = {e.pairing_id for e in world.of(sf.CarerDeclined)} | {
        e.pairing_id for e in world.of(sf.CarerReleased)
    }
    closed = {e.student_ref for e in world.of(sf.CareFileClosed)}
    for carer in carers:
        mine = [p for p in world.pairings if p.carer_ref == carer.carer_ref]
        others = [p for p in world.pairings if p.carer_ref != carer.carer_ref]
        # given a carer with pairings; when they open their page and their pairings' list
        headers = env.token(carer.role, carer.carer_ref, district=carer.district)
        texts = await answers(env, "/dashboards/carers", {}, headers)
        r = await env.http.get("/lists/carers.pairings", headers=headers)
        assert r.status_code == 200, r.text
        texts["/lists/carers.pairings"] = r.text
        text = "\n".join(texts.values())
        # then their own pairings are there, and no other carer's
        own_ids = {p.pairing_id for p in mine}
        other_ids = {p.pairing_id for p in others}
        other_students = {p.student_ref for p in others} - {p.student_ref for p in mine}
        shown = refs_in(text, own_ids)
        active = {
            p.pairing_id for p in mine if p.pairing_id not in ended and p.student_ref not in closed
        }
        assert active <= shown, (carer.carer_ref, sorted(active - shown))
        assert not refs_in(text, other_ids | other_students), (
            carer.carer_ref,
            sorted(refs_in(text, other_ids | other_students)),
        )
        # and another carer's pairing is a 404, as a missing one
        if others:
            other = others[0].pairing_id
            r = await env.http.get(
                "/lists/carers.contacts", params={"pairing_id": other}, headers=headers
            )
            missing = await env.http.get(
                "/lists/carers.contacts", params={"pairing_id": "pair-none"}, headers=headers
            )
            assert r.status_code == 404, r.text
            assert r.json() == missing.json()
