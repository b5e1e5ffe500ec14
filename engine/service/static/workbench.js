// Spasm Advisor case workbench: plain JavaScript, no build step, nothing loaded from elsewhere.
// The form is the FHIR Questionnaire of the interview; every change is sent to POST /assess as a
// QuestionnaireResponse and the assessment is shown. Unknown is the default answer, never "no".
"use strict";

const state = { questionnaire: null, items: [], assessment: null, seq: 0, timer: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) {
    const first = (data.errors || [])[0] || {};
    throw new Error(`${data.title || response.status}: ${first.message || ""} (expected ${first.expected || "?"})`);
  }
  return data;
}

// --- the form ------------------------------------------------------------------------

function questionNode(item) {
  const fact = item.linkId;
  const name = `q-${fact}`;
  const answers = el("span", { class: "answers" });
  if (item.type === "boolean") {
    for (const [value, label] of [["unknown", "unknown"], ["yes", "yes"], ["no", "no"]]) {
      const input = el("input", { type: "radio", name, value, checked: value === "unknown", "data-fact": fact });
      answers.append(el("label", {}, input, " ", label));
    }
  } else if (item.type === "integer") {
    const ext = Object.fromEntries((item.extension || []).map((e) => [e.url.split("/").pop(), e]));
    const input = el("input", {
      type: "number", name, step: "1", placeholder: "unknown", "data-fact": fact,
      min: ext.minValue ? ext.minValue.valueInteger : null, max: ext.maxValue ? ext.maxValue.valueInteger : null,
    });
    const unit = ext["questionnaire-unit"] ? ext["questionnaire-unit"].valueCoding.display : "";
    answers.append(input, unit ? ` ${unit}` : "");
  } else {
    const select = el("select", { name, "data-fact": fact }, el("option", { value: "", text: "unknown" }));
    for (const option of item.answerOption || []) {
      select.append(el("option", { value: option.valueCoding.code, text: option.valueCoding.display }));
    }
    answers.append(select);
  }
  return el(
    "div", { class: "question", "data-question": fact },
    el("label", { class: "text" }, item.text, " ", el("span", { class: "fact", text: fact })),
    answers,
  );
}

function buildForm(questionnaire) {
  const form = document.getElementById("case-form");
  form.replaceChildren();
  state.items = [];
  for (const group of questionnaire.item) {
    const fieldset = el("fieldset", { "data-group": group.linkId }, el("legend", { text: group.text }));
    for (const item of group.item) {
      state.items.push(item);
      fieldset.append(questionNode(item));
    }
    form.append(fieldset);
  }
}

function answerOf(item) {
  const fact = item.linkId;
  if (item.type === "boolean") {
    const checked = document.querySelector(`input[name="q-${fact}"]:checked`);
    return !checked || checked.value === "unknown" ? null : { valueBoolean: checked.value === "yes" };
  }
  const input = document.querySelector(`[name="q-${fact}"]`);
  if (!input || input.value === "") return null;
  if (item.type === "integer") return { valueInteger: Number(input.value) };
  const option = item.answerOption.find((o) => o.valueCoding.code === input.value);
  return { valueCoding: option.valueCoding };
}

function enabled(item, answers) {
  if (!document.getElementById("follow-interview").checked || !item.enableWhen) return true;
  // enableBehavior "all" with operator "!=": enabled unless one of the questions was answered true.
  return item.enableWhen.every((cond) => {
    const answer = answers[cond.question];
    return !(answer && answer.valueBoolean === cond.answerBoolean);
  });
}

function questionnaireResponse() {
  const answers = {};
  const items = [];
  for (const item of state.items) {
    const node = document.querySelector(`[data-question="${item.linkId}"]`);
    const on = enabled(item, answers);
    node.classList.toggle("disabled", !on);
    for (const input of node.querySelectorAll("input, select")) input.disabled = !on;
    const answer = on ? answerOf(item) : null;
    if (answer) {
      answers[item.linkId] = answer;
      items.push({ linkId: item.linkId, answer: [answer] });
    }
  }
  return {
    resourceType: "QuestionnaireResponse",
    questionnaire: state.questionnaire.url,
    status: "in-progress",
    item: items,
  };
}

function caseFacts() {
  const facts = {};
  for (const item of questionnaireResponse().item) {
    const answer = item.answer[0];
    facts[item.linkId] = "valueBoolean" in answer ? answer.valueBoolean
      : "valueInteger" in answer ? answer.valueInteger : answer.valueCoding.code;
  }
  return facts;
}

function setFacts(facts) {
  for (const item of state.items) {
    const value = facts[item.linkId];
    if (item.type === "boolean") {
      const wanted = value === true ? "yes" : value === false ? "no" : "unknown";
      const input = document.querySelector(`input[name="q-${item.linkId}"][value="${wanted}"]`);
      if (input) input.checked = true;
    } else {
      const input = document.querySelector(`[name="q-${item.linkId}"]`);
      if (input) input.value = value === undefined || value === null ? "" : String(value);
    }
  }
}

// --- the assessment ------------------------------------------------------------------------

const LEVELS = { self_care: "Self care", routine: "Routine review", urgent: "Urgent: same day", emergency: "Emergency" };

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(assess, 120);
}

async function assess() {
  const seq = ++state.seq;
  const status = document.getElementById("status");
  status.className = "status";
  status.textContent = "Assessing...";
  try {
    const assessment = await postJSON("/assess", questionnaireResponse());
    if (seq !== state.seq) return; // a newer answer is on its way
    state.assessment = assessment;
    render(assessment);
    status.textContent = `${Object.keys(assessment.case).length} answers; ${assessment.fired_rules.length} rules fired`;
  } catch (error) {
    if (seq !== state.seq) return;
    status.className = "status error";
    status.textContent = error.message;
  }
}

function render(a) {
  const triage = document.getElementById("triage");
  triage.dataset.level = a.triage;
  triage.textContent = LEVELS[a.triage] || a.triage;
  triage.onclick = () => showTree(`Triage: ${LEVELS[a.triage] || a.triage}`, a.triage_explanation);
  const recs = document.getElementById("recommendations");
  recs.replaceChildren(...a.recommendations.map((r) => {
    const li = el("li", { tabIndex: 0, "data-id": r.id }, el("span", { class: "cat", text: r.category }), r.title);
    for (const w of r.warnings) li.append(el("span", { class: "warn", text: `Caution: ${w.message}` }));
    li.onclick = () => showTree(r.title, r.explanation);
    return li;
  }));
  if (!a.recommendations.length) recs.append(el("li", { text: "none" }));
  const withheld = document.getElementById("withheld");
  withheld.replaceChildren(...a.withheld.map((w) => {
    const li = el("li", { tabIndex: 0, "data-id": w.id }, el("span", { class: "cat", text: "withheld" }), `${w.title}: ${w.reason}`);
    li.onclick = () => showTree(`Withheld: ${w.title}`, [w.explanation]);
    return li;
  }));
  if (!a.withheld.length) withheld.append(el("li", { text: "none" }));
  const flags = document.getElementById("unanswered");
  flags.replaceChildren(...a.unanswered_red_flags.map((f) => el("li", { text: f, "data-fact": f })));
  if (!a.unanswered_red_flags.length) flags.append(el("li", { text: "none: every red flag answered" }));
}

function treeNode(node) {
  const facts = Object.entries(node.facts).map(([k, v]) => `${k} = ${v === true ? "yes" : v === false ? "no" : v}`);
  const item = el(
    "li", { class: "node" },
    el("span", { class: "rule", text: node.rule }), " ", el("strong", { text: node.title }),
    el("div", { class: "because", text: node.because }),
    el("div", { class: "conds", text: `when: ${node.conditions.join(" and ") || "always"}` }),
    facts.length ? el("div", { class: "facts", text: `answers: ${facts.join(", ")}` }) : null,
    node.unanswered.length ? el("div", { class: "facts", text: `unknown: ${node.unanswered.join(", ")}` }) : null,
    el("div", { class: "facts", text: `sources: ${node.sources.map((s) => s.id + (s.ref ? " " + s.ref : "")).join("; ")}` }),
  );
  if (node.derived_from.length) item.append(el("ul", {}, ...node.derived_from.map(treeNode)));
  return item;
}

function showTree(title, nodes) {
  const panel = document.getElementById("explanation");
  document.getElementById("explanation-title").textContent = title;
  const tree = document.getElementById("explanation-tree");
  tree.replaceChildren(el("ul", { class: "tree" }, ...(nodes || []).map(treeNode)));
  if (!nodes || !nodes.length) tree.append(el("p", { text: "No rule concluded this (the default)." }));
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

function showItem(id) {
  const a = state.assessment;
  if (!a) return;
  const rec = a.recommendations.find((r) => r.id === id);
  if (rec) return showTree(rec.title, rec.explanation);
  const withheld = a.withheld.filter((w) => w.id === id);
  if (withheld.length) return showTree(`Withheld: ${withheld[0].title}`, withheld.map((w) => w.explanation));
  document.getElementById("whynot-select").value = id;
  whyNot();
}

// --- why not --------------------------------------------------------------------------------

async function whyNot() {
  const id = document.getElementById("whynot-select").value;
  const out = document.getElementById("whynot-result");
  out.replaceChildren(el("p", { text: "Asking..." }));
  try {
    const answer = await postJSON("/why-not", { case: caseFacts(), recommendation: id });
    const parts = [el("p", { "data-status": answer.status }, el("strong", { text: `${answer.id}: ${answer.status.replace("_", " ")}` }))];
    for (const w of answer.withheld_by) parts.push(el("p", { text: `Withheld by ${w.rule}: ${w.reason}` }));
    for (const branch of answer.candidates) {
      const div = el("div", { class: "branch" }, el("div", { class: "rule", text: `${branch.rule} (branch ${branch.branch}): ${branch.holds ? "holds" : "fails"}` }));
      for (const lit of branch.literals) {
        div.append(el("div", { class: lit.holds ? "holds" : "fails", text: `${lit.holds ? "\u2713" : "\u2717"} ${lit.condition}${lit.fact ? ` (${lit.fact} = ${lit.value})` : ""}` }));
      }
      parts.push(div);
    }
    if (answer.smallest_changes) {
      const changes = answer.smallest_changes.map((c) => `${c.fact}: ${c.from} \u2192 ${c.to}`).join(", ");
      parts.push(el("p", { text: `Smallest change that gives it: ${changes || "none possible"}` }));
    } else if (answer.note) {
      parts.push(el("p", { class: "status", text: answer.note }));
    }
    out.replaceChildren(...parts);
  } catch (error) {
    out.replaceChildren(el("p", { class: "status error", text: error.message }));
  }
}

// --- start ----------------------------------------------------------------------------------

function fromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const encoded = params.get("case");
  if (!encoded) return null;
  try {
    const text = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    return { facts: JSON.parse(new TextDecoder().decode(bytes)), explain: params.get("explain") };
  } catch (error) {
    return null;
  }
}

async function start() {
  const [questionnaire, catalogue, version] = await Promise.all([
    getJSON("/fhir/Questionnaire/spasm-interview"), getJSON("/catalogue"), getJSON("/version"),
  ]);
  state.questionnaire = questionnaire;
  document.getElementById("kb-version").textContent =
    `Knowledge base ${version.knowledgeBase.version} (${version.knowledgeBase.digest.slice(0, 19)}...), package ${version.package}`;
  buildForm(questionnaire);
  const select = document.getElementById("whynot-select");
  select.replaceChildren(...catalogue.map((r) => el("option", { value: r.id, text: `${r.id} (${r.category})` })));
  const form = document.getElementById("case-form");
  form.addEventListener("change", schedule);
  form.addEventListener("input", schedule);
  document.getElementById("follow-interview").addEventListener("change", schedule);
  document.getElementById("reset").onclick = () => { setFacts({}); schedule(); };
  document.getElementById("whynot-button").onclick = whyNot;
  document.getElementById("close-explanation").onclick = () => { document.getElementById("explanation").hidden = true; };
  const linked = fromFragment();
  if (linked) setFacts(linked.facts);
  await assess();
  if (linked && linked.explain) showItem(linked.explain);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  const status = document.getElementById("status");
  status.className = "status error";
  status.textContent = `Could not start: ${error.message}`;
});
