"""sanad's Textual chat. `tui.app.run(settings)` starts it; nothing is imported until then."""
