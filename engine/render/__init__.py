"""Rendering for people: the text report, explanations and the audit report."""
