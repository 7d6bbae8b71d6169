"""Turn `rag` answers into the chat's HTML: the quote with citation markers, the cited sources with the quoted
sentence highlighted, related reading when the bot declines, and the per-passage scores.

Every piece of document text, question and file name goes through `esc` before it touches markup, because
gr.HTML inserts what it is given without sanitising: this module is the chat's only defence against a
document that holds `<script>` or `<img onerror=...>`. It formats; it does not retrieve or decide anything.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

# gr.HTML fills a JavaScript template string ("${value}"), so "$", braces and backticks are escaped too: a
# document holding "${...}" must stay text even if a future Gradio evaluates the template.
_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})


def esc(text: object) -> str:
    """HTML-escape any text shown in the chat, quotes and template characters included."""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_CHARS)


@dataclass(frozen=True)
class Turn:
    """One question and what the chat showed for it; `searched_for` differs from `question` after a rewrite."""

    number: int
    question: str
    searched_for: str
    answer_text: str | None
    html: str


def location(document: str, start: int, end: int) -> str:
    """Where characters start:end sit, for a person: the paragraph (blank-line separated) when the document
    has paragraphs, else the line, then the character range."""
    if "\n\n" in document.strip():
        paragraph = document.count("\n\n", 0, start) + 1
        place = f"paragraph {paragraph}"
    else:
        place = f"line {document.count(chr(10), 0, start) + 1}"
    return f"{place}, characters {start}–{end}"


def _highlighted(text: str, offset: int, start: int, end: int, span=None) -> str:
    """`text` (which starts at document offset `offset`) with document characters start:end marked, and the
    short answer `span` (document offsets, inside start:end) in bold within the mark."""
    a, b = max(0, start - offset), min(len(text), end - offset)
    if a >= b:
        return esc(text)
    inner = esc(text[a:b])
    if span is not None and start <= span.start < span.end <= end:
        s, e = span.start - offset, span.end - offset
        inner = f"{esc(text[a:s])}<strong class='rag-span'>{esc(text[s:e])}</strong>{esc(text[e:b])}"
    return f"{esc(text[:a])}<mark class='rag-quote'>{inner}</mark>{esc(text[b:])}"


def _file_name(source: str) -> str:
    return os.path.basename(source) or source


def _place(citation) -> str:
    """", page 3" / ", § Installation" after the file name (empty for plain text)."""
    from rag.cli_format import citation_place

    place = citation_place(citation)
    return f", <span class='rag-place'>{esc(place)}</span>" if place else ""


def _scores_table(hits) -> str:
    """Why these passages: each retriever's score, so a reader can see what ranked a passage where."""
    rows = []
    for hit in hits:
        cells = "".join(
            f"<td>{hit.scores[name]:.3f}</td>" if name in hit.scores else "<td class='rag-na'>–</td>"
            for name in ("bm25", "dense", "fused")
        )
        snippet = " ".join(hit.text.split())
        snippet = snippet[:140] + ("…" if len(snippet) > 140 else "")
        rows.append(f"<tr><td>{hit.rank}</td><td>{esc(_file_name(hit.source))} [{hit.start}–{hit.end}]</td>"
                    f"{cells}<td class='rag-snippet'>{esc(snippet)}</td></tr>")
    # The table scrolls inside its own box, so a phone-width screen clips nothing.
    return ("<details class='rag-why'><summary>Why this passage: retrieval scores</summary><div class='rag-why-scroll'>"
            "<table><thead><tr><th>#</th><th>passage</th><th>BM25</th><th>dense</th><th>fused</th>"
            "<th>text</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></details>")


def render_answer(number: int, question: str, searched_for: str, answer, document_text,
                  update_command: str = "rag index DOCS") -> str:
    """One turn of the conversation as HTML. `document_text(doc_id)` returns a document's text, used to say
    which paragraph or line a citation is on."""
    parts = [f"<div class='rag-turn' id='rag-turn-{number}'>",
             f"<div class='rag-question'><span class='rag-who'>You</span><p>{esc(question)}</p></div>"]
    if searched_for != question:
        parts.append(f"<p class='rag-searched'>searched for: <q>{esc(searched_for)}</q></p>")
    parts.append("<div class='rag-answer'><span class='rag-who'>Answer</span>")
    if answer.outcome == "stale":
        parts.append("<p class='rag-stale'>The answer is in a file that changed since it was indexed, so it "
                     f"cannot be quoted (confidence {answer.confidence:.2f}).</p>")
    elif answer.declined:
        parts.append("<p class='rag-declined'>The documents do not answer this question "
                     f"(confidence {answer.confidence:.2f}).</p>")
        if answer.hits:
            parts.append("<p class='rag-related-title'>Related reading, the closest passages:</p><ol class='rag-related'>")
            for hit in answer.hits[:3]:
                where = location(document_text(hit.doc_id), hit.start, hit.end)
                parts.append(f"<li><span class='rag-file'>{esc(_file_name(hit.source))}</span> "
                             f"<span class='rag-loc'>{esc(where)}</span>"
                             f"<blockquote class='rag-passage'>{esc(hit.text)}</blockquote></li>")
            parts.append("</ol>")
    else:
        markers = "".join(
            f"<a class='rag-marker' href='#rag-src-{number}-{n}' data-target='rag-src-{number}-{n}'>[{n}]</a>"
            for n in range(1, len(answer.citations) + 1)
        )
        span = getattr(answer, "span", None)
        quote = esc(answer.text)
        if span is not None and answer.citations:
            a, b = span.start - answer.citations[0].start, span.end - answer.citations[0].start
            quote = (f"{esc(answer.text[:a])}<strong class='rag-span'>{esc(answer.text[a:b])}</strong>"
                     f"{esc(answer.text[b:])}")
        parts.append(f"<p class='rag-answer-text'>“{quote}” {markers}</p>"
                     f"<p class='rag-meta'>confidence {answer.confidence:.2f}, {esc(answer.mode)} retrieval</p>")
        parts.append("<ol class='rag-sources'>")
        hits_by_passage = {hit.passage_id: hit for hit in answer.hits}
        for n, citation in enumerate(answer.citations, start=1):
            text = document_text(citation.doc_id)
            hit = hits_by_passage.get(citation.passage_id)
            # The cited passage as retrieved; if it was not among the hits, the quote's own sentence.
            start, end = (hit.start, hit.end) if hit else (citation.start, citation.end)
            passage = _highlighted(text[start:end], start, citation.start, citation.end,
                                   span if n == 1 else None)
            parts.append(f"<li id='rag-src-{number}-{n}' class='rag-source'>"
                         f"<span class='rag-num'>[{n}]</span> <span class='rag-file'>{esc(_file_name(citation.source))}</span>"
                         f"{_place(citation)} <span class='rag-loc'>{esc(location(text, citation.start, citation.end))}</span>"
                         f"<blockquote class='rag-passage'>{passage}</blockquote></li>")
        parts.append("</ol>")
    for source in answer.stale_sources:
        parts.append(f"<p class='rag-note rag-stale-note'>{esc(source)} changed since it was indexed; run "
                     f"<code>{esc(update_command)}</code> to update.</p>")
    for source in answer.missing_sources:
        parts.append(f"<p class='rag-note'>Answered from the indexed copy; the file {esc(source)} is gone.</p>")
    if answer.hits:
        parts.append(_scores_table(answer.hits))
    parts.append("</div></div>")
    return "".join(parts)


def render_error(number: int, question: str, message: str) -> str:
    """A turn whose question the library refused (empty, too long, mode unavailable): its one-line reason."""
    return (f"<div class='rag-turn' id='rag-turn-{number}'>"
            f"<div class='rag-question'><span class='rag-who'>You</span><p>{esc(question)}</p></div>"
            f"<div class='rag-answer'><p class='rag-error'>{esc(message)}</p></div></div>")


def render_conversation(turns: list[Turn]) -> str:
    if not turns:
        return ("<div class='rag-empty'>Ask a question about your documents. Every answer is a quote from them, "
                "with its source; when they do not answer, the chat says so.</div>")
    # Newest last, like a chat; the page scrolls to it on update (see CSS/JS in app.py).
    return "<div class='rag-conversation'>" + "".join(t.html for t in turns) + "</div>"


CSS = """
.rag-conversation { display: flex; flex-direction: column; gap: 1rem; }
.rag-turn { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.75rem 1rem; }
.rag-who { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.6; }
.rag-question p { font-weight: 600; margin: 0.2rem 0 0.5rem; white-space: pre-wrap; }
.rag-searched { font-size: 0.85rem; opacity: 0.75; margin: 0 0 0.5rem; }
.rag-answer-text { font-size: 1.05rem; margin: 0.2rem 0; }
.rag-marker { font-size: 0.8rem; vertical-align: super; margin-left: 0.15rem; text-decoration: none; }
.rag-meta { font-size: 0.8rem; opacity: 0.6; margin: 0 0 0.5rem; }
.rag-sources, .rag-related { padding-left: 1.2rem; margin: 0.3rem 0; }
.rag-sources { list-style: none; padding-left: 0; }  /* each source carries its own [n] marker */
.rag-source, .rag-related li { margin-bottom: 0.5rem; scroll-margin-top: 4rem; }
.rag-file { font-family: var(--font-mono); font-weight: 600; }
.rag-loc { font-size: 0.85rem; opacity: 0.7; }
.rag-turn .rag-passage { margin: 0.3rem 0 0 !important; padding: 0.4rem 0.6rem; border-left: 3px solid var(--color-accent);
               background: var(--background-fill-secondary); white-space: pre-wrap; font-size: 0.9rem; }
.rag-quote { background: #fde68a; color: #111; padding: 0 0.1rem; }
.rag-source:target .rag-passage, .rag-source.rag-flash .rag-passage { outline: 2px solid var(--color-accent); }
.rag-declined, .rag-stale { font-weight: 600; }
.rag-note { font-size: 0.85rem; margin: 0.3rem 0; }
.rag-stale-note, .rag-banner { color: var(--error-text-color, #b45309); }
.rag-error { color: var(--error-text-color, #b91c1c); }
.rag-why summary { cursor: pointer; font-size: 0.85rem; opacity: 0.8; margin-top: 0.4rem; }
.rag-why-scroll { overflow-x: auto; max-width: 100%; }
.rag-why table { font-size: 0.8rem; border-collapse: collapse; margin-top: 0.3rem; }
.rag-why td, .rag-why th { padding: 0.15rem 0.5rem; border-bottom: 1px solid var(--border-color-primary);
                           text-align: left; vertical-align: top; }
.rag-na { opacity: 0.4; }
.rag-empty { opacity: 0.7; padding: 1rem; }
"""


def header_html(index, changed_note: str | None = None) -> str:
    """The chat's header: document and passage counts, the index folder, the model, and a changed-sources banner."""
    from rag.cli_format import plural
    from rag.config import DEFAULT_MODEL

    manifest = index.manifest
    return ("<h2 style='margin:0'>Ask your documents</h2>"
            f"<p style='opacity:.7;margin:.2rem 0 0' id='rag-counts'>{esc(plural(manifest.document_count, 'document'))}, "
            f"{esc(plural(manifest.passages, 'passage'))} in "
            f"<code title='{esc(index.path)}'>{esc(index.path.name)}</code>; "
            f"semantic model: {esc(manifest.describe_model())}"
            f"{' (bundled, Apache-2.0)' if manifest.model_name == DEFAULT_MODEL else ''}</p>"
            + (f"<p class='rag-banner' id='rag-sources-changed'>{esc(changed_note)}</p>" if changed_note else ""))
