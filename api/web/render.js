// Rendering of a comparison result: the page's text with each miscue marked, the
// summary figures and the list of miscues. Pure DOM building, no network: app.js
// fetches, this module draws. Text always goes in through textContent (never
// innerHTML), so nothing the OCR read or the recogniser heard can become markup.

/** Human words for each miscue type, as the annotated photo labels them. */
export const TYPE_LABELS = {
  substitution: "misread",
  omission: "skipped",
  insertion: "added",
};

/** Create an element with classes, attributes and text. */
export function el(tag, { cls = "", attrs = {}, text = null } = {}, children = []) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  if (text !== null) node.textContent = text;
  for (const child of children) node.append(child);
  return node;
}

/** The errors at or above ``minConfidence``, as the API's ``min_confidence`` filters
 * them (a missing confidence counts as 0). */
export function keptErrors(errors, minConfidence) {
  if (!(minConfidence > 0)) return errors.slice();
  return errors.filter((e) => (e.confidence ?? 0) >= minConfidence);
}

/** Where each miscue sits in ``text``: ``{error, index, start, end}``, sorted, with
 * overlapping ones dropped. ``ref_char`` is the offset of ``expected`` in the
 * reference text (``image.text``); an insertion sits before the word at its offset
 * (``start == end``). When the text at the offset is not ``expected`` (a result
 * from an older version), the nearest occurrence is used, or the miscue is left
 * out of the text (it is still listed below it). */
export function miscueSpans(text, errors) {
  const spans = [];
  errors.forEach((error, index) => {
    const expected = error.expected || "";
    let start = Number.isInteger(error.ref_char) ? error.ref_char : -1;
    if (error.type === "insertion" || !expected) {
      if (start < 0 || start > text.length) return;
      spans.push({ error, index, start, end: start });
      return;
    }
    if (text.substr(start, expected.length) !== expected) {
      const after = text.indexOf(expected, Math.max(0, start));
      const before = start > 0 ? text.lastIndexOf(expected, start) : -1;
      if (after < 0 && before < 0) return;
      start = after < 0 || (before >= 0 && start - before < after - start) ? before : after;
    }
    spans.push({ error, index, start, end: start + expected.length });
  });
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  const kept = [];
  let reached = 0;
  for (const span of spans) {
    if (span.start < reached) continue;
    kept.push(span);
    reached = Math.max(reached, span.end);
  }
  return kept;
}

/** A clickable mark of one miscue in the text. Its data attributes say what it is:
 * ``data-miscue`` (type), ``data-expected``, ``data-found``, ``data-index`` (in the
 * shown errors). */
function miscueMark(span, shownText) {
  const { error, index } = span;
  const type = error.type || "substitution";
  const label = TYPE_LABELS[type] || type;
  const found = error.found || "";
  const described =
    type === "substitution" ? `${label}: read “${found}”` :
    type === "insertion" ? `${label}: “${found}”` : label;
  const mark = el("button", {
    cls: `miscue ${type}`,
    attrs: {
      type: "button",
      "data-miscue": type,
      "data-expected": error.expected || "",
      "data-found": found,
      "data-index": index,
      title: `${described} (play)`,
      "aria-label": `${shownText || found}, ${described}. Play it.`,
    },
  });
  if (type === "insertion") {
    mark.append(el("span", { cls: "heard", text: `+ ${found}` }));
  } else {
    mark.append(el("span", { cls: "expected", text: shownText }));
    if (type === "substitution" && found) {
      mark.append(el("span", { cls: "heard", text: found }));
    }
  }
  return mark;
}

/** The page text as nodes, each miscue a mark (see :func:`miscueMark`). */
export function markedText(text, errors) {
  const fragment = document.createDocumentFragment();
  let at = 0;
  for (const span of miscueSpans(text, errors)) {
    if (span.start > at) fragment.append(text.slice(at, span.start));
    const insertion = span.start === span.end;
    if (insertion && span.start > 0 && !/\s/.test(text[span.start - 1])) fragment.append(" ");
    fragment.append(miscueMark(span, text.slice(span.start, span.end)));
    if (insertion && span.start < text.length) fragment.append(" ");
    at = span.end;
  }
  if (at < text.length) fragment.append(text.slice(at));
  return fragment;
}

/** Format a number with at most ``digits`` decimals, or "–" when there is none. */
export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
}

/** Seconds as m:ss. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The summary figures as ``<div><dt>…</dt><dd>…</dd></div>`` pairs, largest first. */
export function summaryFigures(summary) {
  const s = summary || {};
  const figures = [
    ["accuracy", "Accuracy", num(s.accuracy, 1), "%", "words read right"],
    ["wcpm", "Words correct per minute", num(s.wcpm, 0), "", "WCPM"],
    ["correct", "Words correct", `${num(s.words_correct)} / ${num(s.words_in_reference)}`, "", ""],
    ["substitutions", "Misread", num(s.substitutions), "", ""],
    ["omissions", "Skipped", num(s.omissions), "", ""],
    ["insertions", "Added", num(s.insertions), "", ""],
    ["duration", "Duration", num(s.reading_duration, 1), "s", ""],
  ];
  return figures.map(([key, label, value, unit, note]) =>
    el("div", { cls: `figure ${key}`, attrs: { "data-figure": key } }, [
      el("dt", { text: label }),
      el("dd", { text: value }, [
        ...(unit ? [el("span", { cls: "unit", text: unit })] : []),
        ...(note ? [el("small", { text: note })] : []),
      ]),
    ])
  );
}

/** One entry of the miscue list: what was expected and heard, when, how sure, and a
 * button that plays its cut of the recording (``data-index`` as in the text). */
export function miscueItem(error, index) {
  const type = error.type || "substitution";
  const what =
    type === "substitution" ? [`“${error.expected}”`, " read as ", `“${error.found}”`] :
    type === "omission" ? [`“${error.expected}”`, " skipped"] : [`“${error.found}”`, " added"];
  const when = Number.isFinite(error.start) ? `at ${num(error.start, 1)} s` : "";
  // Rounded down: a 99.8 % miscue is not shown as a certain one.
  const sure = Number.isFinite(error.confidence)
    ? `${Math.floor(error.confidence * 100)} % sure` : "";
  return el("li", { cls: `miscue-item ${type}`, attrs: { "data-index": index } }, [
    el("span", { cls: `chip ${type}`, text: TYPE_LABELS[type] || type }),
    el("span", { cls: "what" }, what.map((part, i) => (i % 2 ? part : el("b", { text: part })))),
    el("span", { cls: "meta", text: [when, sure].filter(Boolean).join(" · ") }),
    el("button", {
      cls: "play",
      attrs: { type: "button", "data-index": index, "aria-label": `Play miscue ${index + 1}` },
      text: "▶ Play",
    }),
  ]);
}
