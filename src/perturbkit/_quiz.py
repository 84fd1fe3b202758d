"""Offline quizzes for the book: a self-contained HTML/JS component (no CDN, no network).

A quiz is a list of plain dicts written in the chapter, so that a chapter stays free of
``def``/``class``. Two kinds of question:

- multiple choice: ``{"question": str, "answers": [{"text": str, "correct": bool, "why": str}, ...]}``
  (at least two answers, at least one correct, every answer explains itself);
- numeric: ``{"question": str, "value": float, "tolerance": float, "why": str,
  "low": str, "high": str}`` (``tolerance`` absolute, default 0; ``low``/``high`` are the
  hints shown for an answer below/above the accepted interval, optional).

The rendered component is a ``<div class="pk-quiz">`` with an inline ``<style>`` and
``<script>``; clicking an answer (or "Check" for a numeric one) writes the explanation into
the question's ``.pk-feedback`` element and marks it ``pk-right`` or ``pk-wrong``.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Quiz", "quiz", "quiz_anchor"]

_CSS = """
.pk-quiz{border:1px solid #8a9bb0;border-radius:6px;padding:.6em 1em;margin:1em 0;}
.pk-quiz .pk-quiz-title{font-weight:bold;margin:.2em 0 .6em 0;}
.pk-quiz .pk-q{margin:0 0 1em 0;}
.pk-quiz .pk-q-text{margin:.2em 0 .4em 0;}
.pk-quiz button.pk-a{display:block;width:100%;text-align:left;margin:.25em 0;padding:.35em .6em;
  border:1px solid #8a9bb0;border-radius:4px;background:transparent;color:inherit;cursor:pointer;font:inherit;}
.pk-quiz button.pk-a:hover{background:rgba(120,140,170,.15);}
.pk-quiz button.pk-a.pk-right{border-color:#2e7d32;background:rgba(46,125,50,.15);}
.pk-quiz button.pk-a.pk-wrong{border-color:#c62828;background:rgba(198,40,40,.12);}
.pk-quiz input.pk-num{width:10em;padding:.25em;font:inherit;}
.pk-quiz button.pk-check{margin-left:.5em;padding:.25em .8em;cursor:pointer;font:inherit;}
.pk-quiz .pk-feedback{margin:.3em 0;min-height:1.2em;}
.pk-quiz .pk-feedback.pk-right{color:#2e7d32;}
.pk-quiz .pk-feedback.pk-wrong{color:#c62828;}
"""

# One delegated listener per quiz root; the explanations live in data- attributes, so the
# script holds no question text and is the same for every quiz.
_JS = """
(function(){
  var root = document.getElementById(%s);
  if (!root || root.dataset.pkReady) { return; }
  root.dataset.pkReady = "1";
  function show(q, ok, text){
    var fb = q.querySelector(".pk-feedback");
    fb.textContent = (ok ? "Correct. " : "Not quite. ") + text;
    fb.className = "pk-feedback " + (ok ? "pk-right" : "pk-wrong");
  }
  root.addEventListener("click", function(ev){
    var a = ev.target.closest("button.pk-a");
    if (a) {
      var q = a.closest(".pk-q");
      q.querySelectorAll("button.pk-a").forEach(function(b){ b.classList.remove("pk-right", "pk-wrong"); });
      var ok = a.dataset.correct === "1";
      a.classList.add(ok ? "pk-right" : "pk-wrong");
      show(q, ok, a.dataset.why);
      return;
    }
    var c = ev.target.closest("button.pk-check");
    if (c) {
      var q2 = c.closest(".pk-q");
      var raw = q2.querySelector("input.pk-num").value.replace(",", ".");
      var x = parseFloat(raw), v = parseFloat(q2.dataset.value), tol = parseFloat(q2.dataset.tolerance);
      if (isNaN(x)) { show(q2, false, "Enter a number."); return; }
      if (Math.abs(x - v) <= tol + 1e-12 * Math.max(1, Math.abs(v))) { show(q2, true, q2.dataset.why); }
      else if (x < v) { show(q2, false, q2.dataset.low); }
      else { show(q2, false, q2.dataset.high); }
    }
  });
  root.addEventListener("keydown", function(ev){
    if (ev.key === "Enter" && ev.target.matches("input.pk-num")) {
      ev.target.closest(".pk-q").querySelector("button.pk-check").click();
    }
  });
})();
"""


def quiz_anchor(title: str) -> str:
    """The element id of a quiz with this title (what the course frame links to).

    Parameters
    ----------
    title
        The quiz title.

    Returns
    -------
    str
        ``quiz-`` followed by the lower-case title with runs of other characters as ``-``.

    Examples
    --------
    >>> import perturbkit as pk
    >>> pk.book.quiz_anchor("Quiz: distances & tests")
    'quiz-quiz-distances-tests'
    """
    return "quiz-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _inline(text: str) -> str:
    """Escape, then render `code` spans (the only markup a question may use)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _check_question(i: int, q: Any) -> dict[str, Any]:
    where = f"quiz question {i + 1}"
    if not isinstance(q, dict) or not isinstance(q.get("question"), str) or not q["question"].strip():
        raise ValueError(f"{where}: needs a non-empty 'question' string, got {q!r}")
    where = f"{where} ({q['question'][:40]!r})"
    if "answers" in q:
        extra = set(q) - {"question", "answers"}
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)} for a multiple-choice question")
        answers = q["answers"]
        if not isinstance(answers, list | tuple) or len(answers) < 2:
            raise ValueError(f"{where}: 'answers' needs at least two answers")
        for j, a in enumerate(answers):
            if not isinstance(a, dict) or set(a) != {"text", "correct", "why"}:
                raise ValueError(f"{where}: answer {j + 1} must have exactly the keys text, correct, why; got {a!r}")
            if not isinstance(a["correct"], bool) or not str(a["why"]).strip():
                raise ValueError(f"{where}: answer {j + 1} ({a['text']!r}) needs a bool 'correct' and an explanation 'why'")
        if not any(a["correct"] for a in answers):
            raise ValueError(f"{where}: no answer is marked correct")
        return {"kind": "choice", "question": q["question"],
                "answers": [{k: (bool(v) if k == "correct" else str(v)) for k, v in a.items()} for a in answers]}
    if "value" in q:
        extra = set(q) - {"question", "value", "tolerance", "why", "low", "high"}
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)} for a numeric question")
        value, tol = float(q["value"]), float(q.get("tolerance", 0.0))
        if not math.isfinite(value) or not math.isfinite(tol) or tol < 0:
            raise ValueError(f"{where}: value must be finite and tolerance >= 0, got value={value}, tolerance={tol}")
        if not str(q.get("why", "")).strip():
            raise ValueError(f"{where}: a numeric question needs 'why', the explanation of the answer")
        return {"kind": "numeric", "question": q["question"], "value": value, "tolerance": tol,
                "why": str(q["why"]), "low": str(q.get("low", "Too low.")), "high": str(q.get("high", "Too high."))}
    raise ValueError(f"{where}: give 'answers' (multiple choice) or 'value' (numeric)")


@dataclass(frozen=True)
class Quiz:
    """A validated quiz; shown as the HTML component in a notebook, as text elsewhere."""

    title: str
    questions: tuple[dict[str, Any], ...]

    @property
    def id(self) -> str:
        """Element id from the title (the course frame links to it; titles are unique per chapter)."""
        return quiz_anchor(self.title)

    def to_html(self) -> str:
        parts = [f'<div class="pk-quiz" id="{self.id}"><style>{_CSS}</style>',
                 f'<p class="pk-quiz-title">{html.escape(self.title)}</p>']
        for i, q in enumerate(self.questions, 1):
            text = f'<p class="pk-q-text">{i}. {_inline(q["question"])}</p>'
            if q["kind"] == "choice":
                buttons = "".join(
                    f'<button type="button" class="pk-a" data-correct="{int(a["correct"])}" '
                    f'data-why="{html.escape(a["why"])}">{_inline(a["text"])}</button>'
                    for a in q["answers"]
                )
                parts.append(f'<div class="pk-q" data-kind="choice">{text}{buttons}')
            else:
                parts.append(
                    f'<div class="pk-q" data-kind="numeric" data-value="{q["value"]!r}" '
                    f'data-tolerance="{q["tolerance"]!r}" data-why="{html.escape(q["why"])}" '
                    f'data-low="{html.escape(q["low"])}" data-high="{html.escape(q["high"])}">{text}'
                    '<input class="pk-num" type="text" inputmode="decimal" aria-label="your answer">'
                    '<button type="button" class="pk-check">Check</button>'
                )
            parts.append('<div class="pk-feedback" aria-live="polite"></div></div>')
        parts.append(f"<script>{_JS % json.dumps(self.id)}</script></div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        lines = [f"{self.title} ({len(self.questions)} questions)"]
        for i, q in enumerate(self.questions, 1):
            if q["kind"] == "choice":
                lines.append(f"{i}. {q['question']} [" + " | ".join(a["text"] for a in q["answers"]) + "]")
            else:
                lines.append(f"{i}. {q['question']} [a number]")
        return "\n".join(lines)


def quiz(questions: list[dict[str, Any]], *, title: str = "Quiz") -> Quiz:
    """A quiz for a chapter page: multiple-choice and numeric questions with explanations.

    Put the call last in a code cell tagged ``remove-input`` (the answers are in the
    source); the page shows the quiz, which works offline in the built HTML and in Jupyter.

    Parameters
    ----------
    questions
        One dict per question. Multiple choice: ``{"question", "answers": [{"text",
        "correct", "why"}, ...]}``. Numeric: ``{"question", "value", "tolerance", "why",
        "low", "high"}`` (``low``/``high``: hints for answers below/above the interval).
        Questions may use `code` spans.
    title
        Shown above the questions.

    Returns
    -------
    Quiz
        Displayed as the HTML component in a notebook (``_repr_html_``); ``to_html()``
        returns the markup; ``repr`` lists the questions without answers.

    Raises
    ------
    ValueError
        Naming the question, for a missing question text, fewer than two answers, no
        correct answer, an answer without explanation, or a non-finite value.

    Examples
    --------
    >>> import perturbkit as pk
    >>> q = pk.book.quiz([
    ...     {"question": "Which unit of replication does pseudobulk respect?",
    ...      "answers": [{"text": "the cell", "correct": False, "why": "Cells of one donor are not independent."},
    ...                  {"text": "the donor", "correct": True, "why": "Donors are the independent units."}]},
    ...     {"question": "log2 fold change of a 4-fold increase?", "value": 2, "tolerance": 0.01,
    ...      "why": "log2(4) = 2."},
    ... ], title="Check yourself")
    >>> q
    Check yourself (2 questions)
    1. Which unit of replication does pseudobulk respect? [the cell | the donor]
    2. log2 fold change of a 4-fold increase? [a number]
    >>> 'data-correct="1"' in q.to_html() and "https://" not in q.to_html()
    True
    """
    if not isinstance(questions, list | tuple) or not questions:
        raise ValueError("quiz: give a non-empty list of question dicts")
    return Quiz(title=str(title), questions=tuple(_check_question(i, q) for i, q in enumerate(questions)))
