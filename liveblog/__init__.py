"""Liveblog: a live-updating news story engine."""
