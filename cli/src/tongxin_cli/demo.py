"""A synthetic demo district: schools, classes, students and staff as CSV, made from a seed.

Names, phones and ids are invented (a fixed random seed makes the same city every time); no real
person is in them. Used by ``tongxin seed``, ``make run``, the tests and the benchmarks.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "子涵浩然梓萱宇轩欣怡俊杰诗涵雨桐思远佳琪博文若曦明轩一诺可馨天佑语嫣"
GROUPS = [
    "left_behind",
    "migrant",
    "disabled",
    "low_income",
    "single_parent_or_reconstituted",
    "orphan_or_unsupported",
    "learning_difficulty",
    "psychological_or_behavioural",
]

STUDENT_COLUMNS = [
    "district",
    "school_id",
    "school_name",
    "stage",
    "has_counselling_room",
    "class_id",
    "class_name",
    "grade",
    "school_year",
    "head_teacher_id",
    "student_id",
    "student_name",
    "gender",
    "birth_date",
    "address",
    "special_groups",
    "guardian1_name",
    "guardian1_relation",
    "guardian1_phone",
    "guardian2_name",
    "guardian2_relation",
    "guardian2_phone",
]
STAFF_COLUMNS = ["district", "school_id", "staff_id", "name", "phone", "roles", "class_ids"]


@dataclass(frozen=True)
class DemoSpec:
    district: str = "330106"
    schools: int = 2
    classes_per_school: int = 6
    students_per_class: int = 40
    school_year: str = "2026-2027"
    seed: int = 7
    # Wellbeing's team (seed 004): the first ``school_doctors`` schools have a school doctor
    # (校医); the first ``counselling_rooms`` have a counselling room (None: every school). The
    # demo district of ``make run`` leaves its last school without either, so that the gaps show.
    school_doctors: int = 0
    counselling_rooms: int | None = None
    # The demo city's districts (``demo_city``): every school also has the staff of the roles
    # the default district lacks, and each class's first student is in one special group
    # (class by class round the eight), so every group and every role is there however small.
    every_role_and_group: bool = False


EXTRA_ROLES = ("legal_vp", "fire_vp", "family_education_coordinator")


def _name(rng: random.Random) -> str:
    n = 1 if rng.random() < 0.4 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(n))


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def demo_roster(spec: DemoSpec = DemoSpec()) -> tuple[str, str]:
    """Return (students CSV, staff CSV) for the demo district."""
    rng = random.Random(spec.seed)
    students, staff = io.StringIO(), io.StringIO()
    sw = csv.DictWriter(students, STUDENT_COLUMNS, lineterminator="\n")
    tw = csv.DictWriter(staff, STAFF_COLUMNS, lineterminator="\n")
    sw.writeheader()
    tw.writeheader()
    start_year = int(spec.school_year[:4])
    for s in range(1, spec.schools + 1):
        school_id = f"{spec.district}{s:03d}"
        school_name = f"同心第{s}小学"
        tw.writerow(
            {
                "district": spec.district,
                "school_id": school_id,
                "staff_id": f"{school_id}-P",
                "name": _name(rng),
                "phone": _phone(rng),
                "roles": "principal",
                "class_ids": "",
            }
        )
        if s <= spec.school_doctors:
            # Its own random stream: the rest of the roster stays as it was without doctors.
            doc = random.Random(f"{spec.seed}-school-doctor-{s}")
            tw.writerow(
                {
                    "district": spec.district,
                    "school_id": school_id,
                    "staff_id": f"{school_id}-school_doctor",
                    "name": _name(doc),
                    "phone": _phone(doc),
                    "roles": "school_doctor",
                    "class_ids": "",
                }
            )
        extra = EXTRA_ROLES if spec.every_role_and_group else ()
        for role in extra:
            # Their own random stream, like the doctor's.
            more = random.Random(f"{spec.seed}-{role}-{s}")
            tw.writerow(
                {
                    "district": spec.district,
                    "school_id": school_id,
                    "staff_id": f"{school_id}-{role}",
                    "name": _name(more),
                    "phone": _phone(more),
                    "roles": role,
                    "class_ids": "",
                }
            )
        for role in ("psych_teacher", "health_vp", "middle_leader"):
            tw.writerow(
                {
                    "district": spec.district,
                    "school_id": school_id,
                    "staff_id": f"{school_id}-{role}",
                    "name": _name(rng),
                    "phone": _phone(rng),
                    "roles": role,
                    "class_ids": "",
                }
            )
        for c in range(1, spec.classes_per_school + 1):
            grade = (c - 1) % 6 + 1
            class_id = f"{school_id}-{c:02d}"
            teacher_id = f"{school_id}-T{c:02d}"
            tw.writerow(
                {
                    "district": spec.district,
                    "school_id": school_id,
                    "staff_id": teacher_id,
                    "name": _name(rng),
                    "phone": _phone(rng),
                    "roles": "head_teacher;subject_teacher",
                    "class_ids": class_id,
                }
            )
            for n in range(1, spec.students_per_class + 1):
                birth = date(start_year - 6 - grade, 9, 1) + timedelta(days=rng.randrange(365))
                groups = [g for g in GROUPS if rng.random() < 0.03]
                if spec.every_role_and_group and n == 1:
                    groups = sorted({*groups, GROUPS[(c - 1) % len(GROUPS)]}, key=GROUPS.index)
                two = rng.random() < 0.7
                sw.writerow(
                    {
                        "district": spec.district,
                        "school_id": school_id,
                        "school_name": school_name,
                        "stage": "primary",
                        "has_counselling_room": "yes"
                        if spec.counselling_rooms is None or s <= spec.counselling_rooms
                        else "no",
                        "class_id": class_id,
                        "class_name": f"{grade}年级{c}班",
                        "grade": grade,
                        "school_year": spec.school_year,
                        "head_teacher_id": teacher_id,
                        "student_id": f"G{school_id}{c:02d}{n:04d}",
                        "student_name": _name(rng),
                        "gender": rng.choice("男女"),
                        "birth_date": birth.isoformat(),
                        "address": f"同心路{rng.randrange(1, 999)}号",
                        "special_groups": ";".join(groups),
                        "guardian1_name": _name(rng),
                        "guardian1_relation": "mother",
                        "guardian1_phone": _phone(rng),
                        "guardian2_name": _name(rng) if two else "",
                        "guardian2_relation": "father" if two else "",
                        "guardian2_phone": _phone(rng) if two else "",
                    }
                )
    return students.getvalue(), staff.getvalue()
