"""Names in the command palette are shown exactly as written, never read as markup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from textual.content import Content

from udptui.ui.palette import literal


def test_tags_that_markup_escape_misses_stay_literal() -> None:
    for name in ["[B]y", "[$accent]x", "x\\", "\\[b]", "[@click=app.quit]q[/]"]:
        assert Content.from_markup(literal(name)).plain == name


@given(st.text(alphabet=st.sampled_from("[]\\/@$=ab B"), max_size=30))
def test_any_name_reads_back_as_itself(name: str) -> None:
    assert Content.from_markup(literal(name)).plain == name
