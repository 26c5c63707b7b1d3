"""A term of safety work at one class, made through the API by the people who would make it:
care files with their carers, a concern, a guard post and shifts, a fire-safety contact, a
legal vice-principal, an incident, a guidance referral and a notice (the matrix and the fuzz
start from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.waiting import eventually
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc
from tongxin_platform.notify import NoticeTemplate

if TYPE_CHECKING:  # the stack imports this module (it re-exports the seeding)
    from tests.support.safety_school import SafetySchool

# The organisations of the carers paired with the seeded files (the "in" side), and a
# neighbouring organisation of the same kind in the same district (the "out" side).
CARER_ROLES = {
    "community": Role.community_worker,
    "civil_affairs": Role.civil_affairs,
    "womens_federation": Role.womens_federation,
}
ORGS = {
    "community": ("community-330106-a", "community-330106-b"),
    "civil_affairs": ("civil-affairs-330106-a", "civil-affairs-330106-b"),
    "womens_federation": ("womens-federation-330106-a", "womens-federation-330106-b"),
}
KINDS = ("school", "community", "civil_affairs", "womens_federation")


def carer_ref_of(kind: str, side: str = "in") -> str:
    """The pseudonym of the carer of ``kind`` on ``side`` (a token's ``sub``)."""
    return f"carer-{kind.replace('_', '-')}-{side}"


@dataclass
class Seeded:
    """What ``seed_safety_term`` made at one class (ids), and what it could not make (one part
    of the service missing still lets the others be tested: the caller reports)."""

    a: str  # file, four kinds paired and accepted, a concern raised, an incident, a referral
    b: str  # no file
    c: str  # file, four pairings pending (to accept)
    d: str  # file, four pairings pending (to decline)
    e: str  # file, one community pairing pending (to release)
    f: str  # file (to close)
    pairings: dict[str, dict[str, str]] = field(default_factory=dict)  # student → kind → id
    concern: str = "no-concern"
    post: str = "no-post"
    shifts: list[str] = field(default_factory=list)
    fire_contact: str = "no-staff"  # a staff_ref named fire-safety contact
    incident: str = "no-incident"
    guidance: str = "no-referral"
    notification: str = "1"
    failures: list[str] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)  # the subjects the seeding acted as


async def seed_safety_term(s: SafetySchool, *, school_id: str, class_id: str) -> Seeded:
    """Care files with their carers (paired by the principal, accepted by each carer), a
    concern, a guard post with two shifts, a fire-safety contact, the legal vice-principal, an
    incident whose report is mandatory, a referral to the guidance committee — at ``class_id``
    of ``school_id``, through the API."""
    today = now_utc().date()
    roster = s.roster
    a, b, c, d, e, f = roster.of_class(class_id)[:6]
    out = Seeded(a, b, c, d, e, f)
    principal_ref = roster.one("principal", school_id)
    head_ref = roster.head_of(class_id)
    principal = s.token(Role.principal, principal_ref, school=school_id)
    out.actors |= {principal_ref, head_ref}

    async def step(what: str, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
        r = await s.http.request(method, path, headers=who, **kw)
        if r.status_code >= 300:
            out.failures.append(f"setup {what}: {method} {path} → {r.status_code} {r.text[:300]}")
            return {}
        return r.json()

    def carer_of(kind: str) -> tuple[str, str, dict[str, str]]:
        """(carer_ref, org, headers) of the "in" carer of ``kind``."""
        if kind == "school":
            return head_ref, school_id, s.head_teacher(class_id)
        ref, org = carer_ref_of(kind), ORGS[kind][0]
        out.actors.add(ref)
        return ref, org, s.carer(CARER_ROLES[kind], ref, org)

    for ref in (a, c, d, e, f):
        groups = {"care_groups": ["left_behind"]}
        await step("file", "POST", f"/students/{ref}/care-file", principal, json=groups)
    await files_readable(s, principal, [a, c, d, e, f], out)
    for ref, kinds in ((a, KINDS), (c, KINDS), (d, KINDS), (e, ("community",))):
        out.pairings[ref] = {}
        for kind in kinds:
            carer_ref, org, _ = carer_of(kind)
            body = {"kind": kind, "carer_ref": carer_ref, "org": org}
            made = await step(
                f"pair {kind}", "POST", f"/students/{ref}/care-file/pairings", principal, json=body
            )
            out.pairings[ref][kind] = str(made.get("pairing_id", "no-pairing"))
    for ref, pairings in out.pairings.items():
        for kind, pairing in pairings.items():
            _, _, carer = carer_of(kind)  # a carer finds the file once their pairing is read
            await shown(s, out, f"{kind} paired", f"/students/{ref}/care-file", carer, pairing)
    for kind, pairing in out.pairings[a].items():
        _, _, carer = carer_of(kind)
        path = f"/students/{a}/care-file/pairings/{pairing}/acceptance"
        await step(f"accept {kind}", "POST", path, carer, json={})
    made = await step(
        "concern", "POST", f"/students/{a}/care-file/concerns", principal, json={"detail": "x"}
    )
    out.concern = str(made.get("concern_id", "no-concern"))

    made = await step(
        "guard post",
        "POST",
        f"/schools/{school_id}/guard-posts",
        principal,
        json={"place": "school_gate", "established_on": str(today)},
    )
    out.post = str(made.get("post_id", "no-post"))
    await shown(s, out, "the guard post", f"/schools/{school_id}/guard-posts", principal, out.post)
    for period in ("morning", "afternoon"):
        shift: dict[str, Any] = {
            "on": str(today),
            "period": period,
            "guards": [{"kind": "staff", "ref": head_ref}],
        }
        made = await step("shift", "POST", f"/guard-posts/{out.post}/shifts", principal, json=shift)
        out.shifts.append(str(made.get("shift_id", "no-shift")))
    out.fire_contact = roster.one("psych_teacher", school_id)
    await step(
        "fire-safety contact",
        "POST",
        f"/schools/{school_id}/fire-safety-contacts",
        principal,
        json={"staff_ref": out.fire_contact},
    )
    vp = {
        "post": "legal",
        "appointee_ref": "matrix-legal_vp-in",
        "from_org": "police",
        "appointed_on": str(today),
    }
    await step("legal vp", "POST", f"/schools/{school_id}/vice-principals", principal, json=vp)
    incident = {
        "category": "physical_abuse",
        "student_refs": [a],
        "occurred_at": now_utc().isoformat(),
    }
    made = await step(
        "incident", "POST", f"/schools/{school_id}/incidents", principal, json=incident
    )
    out.incident = str(made.get("incident_id", "no-incident"))
    referral = {"misbehaviour": "gang_fighting"}
    path = f"/students/{a}/guidance-referrals"
    made = await step("guidance referral", "POST", path, principal, json=referral)
    out.guidance = str(made.get("referral_id", "no-referral"))
    await shown(s, out, "the incident", f"/incidents/{out.incident}", principal, out.incident)
    officer_ref = "setup-officer"
    out.actors.add(officer_ref)
    officer = s.token(Role.bureau_officer, officer_ref)
    path = f"/districts/{roster.district}/guidance-referrals"
    await shown(s, out, "the guidance referral", path, officer, out.guidance)
    for shift_id in out.shifts:
        path = f"/schools/{school_id}/guard-shifts"
        await shown(s, out, "the guard shift", path, principal, shift_id)
    out.notification = await a_notice(s, school_id)
    return out


async def shown(
    s: SafetySchool, out: Seeded, what: str, path: str, who: dict[str, str], needle: str
) -> None:
    """Wait until ``path`` shows ``needle`` (a record just made, in safety's read model)."""

    async def found() -> bool:
        r = await s.http.get(path, headers=who)
        return r.status_code == 200 and needle in r.text

    try:
        await eventually(found, lambda yes: yes, timeout=30, what=what)
    except AssertionError as exc:
        out.failures.append(f"setup {what}: {exc}")


async def files_readable(
    s: SafetySchool, who: dict[str, str], refs: list[str], out: Seeded
) -> None:
    """Wait until the files just opened are in safety's read model (the routes find a file
    there): a pairing asked for before would be refused as for a child without a file."""

    async def readable() -> list[str]:
        missing = []
        for ref in refs:
            r = await s.http.get(f"/students/{ref}/care-file", headers=who)
            if r.status_code != 200:
                missing.append(f"{ref} → {r.status_code}")
        return missing

    try:
        await eventually(readable, lambda missing: not missing, timeout=30, what="the files")
    except AssertionError as exc:
        out.failures.append(f"setup files: {exc}")


SETUP_NOTICE = NoticeTemplate(
    "test.setup", title="测试通知", text="【测试】学校 {school} 的一条测试通知。"
)


async def a_notice(s: SafetySchool, school_id: str) -> str:
    """A notice queued through the kit's notification port (as an escalation's alert is), for
    the routes that list and resend notifications; its id."""
    transactions = s.app.state.service.transactions
    async with transactions.begin() as uow:
        await uow.notifications.enqueue(
            SETUP_NOTICE.notice(
                key=f"test.setup:{school_id}",
                channel="alert",
                district=s.roster.district,
                school=school_id,
                link=s.settings.public_link(f"/schools/{school_id}"),
                values={"school": school_id},
            )
        )
    r = await s.http.get("/notifications", headers=s.token(Role.operator, "setup-operator"))
    assert r.status_code == 200, r.text
    return str(r.json()[-1]["id"])
