"""Mean words per sentence and per paragraph of each chapter's prose.

The prose is every Markdown paragraph and list item of a chapter's `.md` twin, inside
admonitions too; code cells, display maths, tables and headings are left out, and inline
maths or code counts as one word. Usage: `python tools/prose_stats.py [FILE ...]`
(default: every chapter), with `--ref REV` to read the files as they were at a git revision.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

ROOT = Path(__file__).resolve().parents[1]
PROSE_DIRECTIVES = ("admonition", "note", "tip", "warning", "important", "exercise", "solution", "dropdown")
SENTENCE_END = re.compile(r"(?<=[.!?])[\")\]]*\s+(?=[A-Z(\"'`*_]|MATH|CODE)")
PARSER = MarkdownIt("commonmark").use(front_matter_plugin).use(colon_fence_plugin).use(dollarmath_plugin)


def paragraphs(text: str) -> list[str]:
    """The prose paragraphs of a MyST text, admonitions included."""
    found = []
    for token in PARSER.parse(text):
        if token.type in ("fence", "colon_fence"):
            directive = re.match(r"\{([a-z-]+)\}", token.info.strip())
            if directive and directive.group(1) in PROSE_DIRECTIVES:
                body = "\n".join(line for line in token.content.splitlines() if not line.startswith(":"))
                found += paragraphs(body)
        elif token.type == "inline" and token.children is not None:
            words = []
            for child in token.children:
                if child.type == "text":
                    words.append(child.content)
                elif child.type in ("math_inline", "code_inline"):
                    words.append("MATH" if child.type == "math_inline" else "CODE")
                elif child.type == "softbreak":
                    words.append(" ")
            paragraph = re.sub(r"\{[a-z:]+\}CODE", "CODE", "".join(words)).strip()
            if len(paragraph.split()) >= 4 and not paragraph.endswith(")="):
                found.append(paragraph)
    return found


def without_tables(text: str) -> str:
    """The text without Markdown tables (their cells are not prose)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("|"))


def stats(text: str) -> tuple[float, float, int]:
    """Mean words per sentence, mean words per paragraph, and the number of paragraphs."""
    paras = paragraphs(without_tables(text))
    words = sum(len(p.split()) for p in paras)
    sentences = sum(len([s for s in SENTENCE_END.split(p) if s.strip()]) for p in paras)
    return words / max(sentences, 1), words / max(len(paras), 1), len(paras)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--ref", help="a git revision to read the files at")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.md"))
    print("| chapter | words per sentence | words per paragraph | paragraphs |\n|---|---|---|---|")
    for path in files:
        path = path.resolve()
        if args.ref:
            shown = subprocess.run(["git", "show", f"{args.ref}:{path.relative_to(ROOT).as_posix()}"],
                                   cwd=ROOT, capture_output=True, text=True)
            if shown.returncode:
                continue
            text = shown.stdout
        else:
            text = path.read_text()
        per_sentence, per_paragraph, count = stats(text)
        print(f"| {path.stem} | {per_sentence:.1f} | {per_paragraph:.1f} | {count} |")


if __name__ == "__main__":
    main()
