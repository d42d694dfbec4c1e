"""Ärendeflöde's machine-learning package: corpus, validation, models and evaluation.

Pure Python: it knows texts, labels and files, and never imports Django.
"""
