"""Rules: base_image (MLD201, MLD203)."""

from __future__ import annotations

import re
from typing import Iterator

from ..fixer import Edit, Fix, Saving
from ..knowledge import slim_counterpart
from .base import Violation, rule


def image_arg(sm):
    """The FROM's image argument (an :class:`~mldlint.parser.nodes.Arg`), or ``None``."""
    ins = sm.stage.from_
    if ins is None or ins.swallowed or not ins.args:
        return None
    return ins.args[0]


_NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


def looks_real_image(raw: str) -> bool:
    """Whether ``raw`` can be a real image reference rather than a template placeholder
    (``PLACEHOLDER``, ``%%FROM%%``, ``ARG_FROM``): Docker repository names are lower case."""
    name = raw.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name = name[:colon]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # registry host (may carry a port or upper case)
    path = "/".join(parts)
    return bool(_NAME_RE.match(path)) and path != "placeholder"


@rule("MLD201")
def base_image_unpinned(df, model, ctx) -> Iterator[Violation]:
    """FROM with no tag or ``latest`` (after resolving ARG defaults)."""
    for sm in model.stages:
        arg = image_arg(sm)
        ref = sm.base
        if arg is None or ref is None or sm.parent is not None or not sm.base_complete:
            continue
        if ref.repository == "scratch" or ref.digest or not looks_real_image(ref.raw):
            continue
        if ref.tag is not None and ref.tag != "latest":
            continue
        written = arg.value
        via = "" if "$" not in written else f" (`{written}` with the ARG defaults)"
        what = "has no tag, so Docker uses `latest`" if ref.tag is None else "uses the `latest` tag"
        msg = (f"base image `{ref.raw}`{via} {what}: each build gets whatever the registry "
               f"serves that day (a new Python, CUDA or framework version); pin a version tag "
               f"such as `{ref.repository}:<version>`")
        yield Violation(arg.span, msg)


@rule("MLD203")
def full_base_image(df, model, ctx) -> Iterator[Violation]:
    """The final stage uses a full image whose slim counterpart is known."""
    sm = model.final
    if sm is None:
        return
    arg = image_arg(sm)
    ref = sm.base
    if arg is None or ref is None or sm.parent is not None or not sm.base_complete:
        return
    found = slim_counterpart(ref.repository, ref.tag)
    if found is None:
        return
    slim_tag, full_size, slim_size = found
    msg = (f"the final stage is based on `{ref.repository}:{ref.tag}` ({full_size}); "
           f"`{ref.repository}:{slim_tag}` is {slim_size} and is enough to run most apps "
           f"(build in an earlier stage on the full image if compilers are needed)")
    yield Violation(arg.span, msg, fix=_slim_fix(df, arg, ref, slim_tag, full_size, slim_size))


def _slim_fix(df, arg, ref, slim_tag: str, full_size: str, slim_size: str) -> Fix | None:
    """Replace the tag written in the FROM line with the slim tag (only when written
    literally, without variables or a digest)."""
    written = df.source.text[arg.span.start:arg.span.end]
    if written != arg.value or "$" in written or ref.digest or not written.endswith(":" + ref.tag):
        return None
    start = arg.span.end - len(ref.tag)
    from ..knowledge.sizes import parse_size

    full, slim = parse_size(full_size), parse_size(slim_size)
    saves = Saving(full - slim, "slim base") if full and slim and full > slim else None
    return Fix(edits=(Edit(start, arg.span.end, slim_tag),), applicability="unsafe",
               title=f"Use the slim tag {slim_tag}", saves=saves)
