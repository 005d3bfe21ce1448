"""Widget text as safe HTML: CommonMark without raw HTML or images, links to http(s) only."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

LINK_SCHEMES = ("http://", "https://")


class _SafeMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return url.strip().lower().startswith(LINK_SCHEMES)


def _link_open(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType
) -> str:
    # A public page links out to addresses its authors typed: give the target no hold on it.
    tokens[index].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, index, options, env)


@cache
def _parser() -> MarkdownIt:
    parser = _SafeMarkdown("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Images would load from wherever their authors pointed; the page fetches nothing but its bundle.
    parser.disable("image")
    parser.add_render_rule("link_open", _link_open)
    return parser


def markdown_html(text: str) -> Markup:
    """Markdown rendered to HTML that is safe to put in the page: raw HTML in `text` comes out escaped."""
    html: Any = _parser().render(text)
    return Markup(html)  # noqa: S704 - markdown-it escapes all text; raw HTML is disabled above
