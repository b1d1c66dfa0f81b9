"""Rendering of reporter-written rich text to safe HTML."""
