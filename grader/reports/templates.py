"""The Jinja2 environment of the html pages, whose templates are in ``grader/reports/templates/``.

Python prepares plain data; the templates write every tag. Autoescape is on (write ``{{ x }}``;
``|e`` escapes quotes differently) and undefined names raise (StrictUndefined), so a misspelt
variable fails the render instead of vanishing.

A higher layer renders its own pages with these templates beneath its own, so that a page it
shows and a file written here cannot drift apart::

    env = templates.make_environment(
        ChoiceLoader([PackageLoader("grader.service", "templates"), templates.loader()]))

and its templates may ``{% extends "base.html" %}`` (blocks ``title``, ``head``, ``content``)
or ``{% include "feedback_body.html" %}``.
"""

from __future__ import annotations

import functools
import html
from typing import Any

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup


def loader() -> PackageLoader:
    """The loader of this package's templates, to chain behind a higher layer's own."""
    return PackageLoader("grader.reports", "templates")


def make_environment(templates: BaseLoader) -> Environment:
    """An Environment over ``templates`` that writes html exactly as these pages do."""
    return Environment(
        loader=templates, autoescape=True, undefined=StrictUndefined, finalize=_escape,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


@functools.cache
def environment() -> Environment:
    """The one Environment of this package's templates."""
    return make_environment(loader())


def render(name: str, **context: Any) -> str:
    """The template ``name`` rendered with ``context``; a variable it lacks raises."""
    return environment().get_template(name).render(**context)


@pass_eval_context
def _escape(eval_ctx: EvalContext, value: object) -> object:
    """Text escaped as ``html.escape`` writes it (``&quot;``, ``&#x27;``), not as markupsafe does
    (``&#34;``, ``&#39;``): the same in a browser, and byte for byte the pages written before
    the templates, which people and tests search for escaped names. Markup passes as it is."""
    if not eval_ctx.autoescape or hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value)))
