"""Tongxin wellbeing service (心阳光 医教互促): minors' mental health — consent, screening, the
attention list, one plan per student, crisis referrals within the hour."""
