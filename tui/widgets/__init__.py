"""Widgets: right-to-left aware text, the chat log, the sources panel, the status line."""
