"""Choose who answers: offline (extractive, no model) or a chat model the server offers."""

from __future__ import annotations

from rag.errors import SanadError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..widgets.status import mode_label

OFFLINE = "offline"
LOADING = "Asking the server for its models…"


class ModelScreen(ModalScreen[tuple[str | None] | None]):
    """Returns `(model,)`, `(None,)` for offline answers, or None when closed unchanged.

    The server's models (`GET /models`) are fetched in a thread; until they come, or when the
    server cannot be reached, the configured model is offered with offline answers."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, assistant) -> None:
        super().__init__()
        self.assistant = assistant
        self.current = mode_label(assistant.settings, assistant.mode)

    def compose(self) -> ComposeResult:
        with Vertical(id="models-box"):
            yield Static(f"Who answers · now {self.current} · Enter chooses · Esc closes",
                         id="models-title")
            yield OptionList(*self._options([self.assistant.settings.model], LOADING),
                             id="models-list")

    def on_mount(self) -> None:
        self.query_one("#models-list", OptionList).focus()
        if self.assistant.can_use_model:
            self._fetch()

    def _options(self, models: list[str], note: str | None) -> list[Option]:
        settings = self.assistant.settings
        online = self.assistant.mode == "llm"
        options = [Option(("● " if not online else "  ") + "offline: quotes the articles' "
                          "sentences, no model", id=OFFLINE)]
        if not self.assistant.can_use_model:
            options.append(Option("  No chat model server is configured: set OPENAI_BASE_URL "
                                  "or OPENAI_API_KEY (README, Configuration).", disabled=True))
            return options
        for model in models:
            mark = "● " if online and model == settings.model else "  "
            options.append(Option(f"{mark}{model}", id=f"model:{model}"))
        if note:
            options.append(Option(f"  {note}", disabled=True))
        return options

    @work(thread=True, exclusive=True, group="models", exit_on_error=False)
    def _fetch(self) -> None:
        try:
            models, note = self.assistant.models(), None
        except SanadError as exc:
            models, note = [self.assistant.settings.model], f"The server's list: {exc}"
        if not models:
            models, note = [self.assistant.settings.model], "The server lists no model."
        self.app.call_from_thread(self._show, models, note)

    def _show(self, models: list[str], note: str | None) -> None:
        options = self.query_one("#models-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._options(models, note))
        options.highlighted = min(highlighted or 0, options.option_count - 1)

    @on(OptionList.OptionSelected, "#models-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id == OFFLINE:
            self.dismiss((None,))
        elif option_id.startswith("model:"):
            self.dismiss((option_id.removeprefix("model:"),))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
