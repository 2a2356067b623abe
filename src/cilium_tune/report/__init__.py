"""Renderers for lint results and the rules reference: terminal text, JSON, JUnit XML, Markdown.

Every renderer is a pure function returning a string; the CLI decides where it goes.
"""
