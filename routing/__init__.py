"""The Django side of Ärendeflöde: settings, URLs and the intake, triage and learning apps."""
