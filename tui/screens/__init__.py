"""Screens: the chat, the source viewer, the conversation list, help."""
