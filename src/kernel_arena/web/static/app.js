// Kernel Arena viewer: hash routes over the read-only JSON API. No external requests.
// Routes: #/?filters (definitions), #/def/NAME, #/trace/ID, #/solution/NAME, #/compare?...
"use strict";
const app = document.getElementById("app");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const fmt = (v, d = 4) => (v === null || v === undefined) ? "-" : (typeof v === "number" ? Number(v.toPrecision(d)).toString() : esc(v));
async function api(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
function table(headers, rows, opts = {}) {
  const head = "<tr>" + headers.map((h) => `<th>${esc(h)}</th>`).join("") + "</tr>";
  const body = rows.map((r, i) => `<tr class="${opts.click ? "click" : ""} ${opts.rowClass ? opts.rowClass(i) : ""}" ${opts.click ? `data-href="${esc(opts.click(i))}"` : ""}>` +
    r.map((c) => `<td>${c}</td>`).join("") + "</tr>").join("");
  return `<table class="${opts.cls || ""}">${head}${body}</table>`;
}
function wireClicks() {
  app.querySelectorAll("tr[data-href]").forEach((tr) => tr.addEventListener("click", () => { location.hash = tr.dataset.href; }));
}

// ---- syntax highlighting: split the source into tokens first, then escape each token
const KEYWORDS = new Set(["def", "return", "import", "from", "as", "for", "in", "if", "else", "elif", "while", "with", "not", "and", "or",
  "None", "True", "False", "lambda", "class", "try", "except", "finally", "raise", "is", "pass", "break", "continue", "yield", "assert",
  "global", "nonlocal", "del", "async", "await"]);
const TOKEN = new RegExp([
  String.raw`(#[^\n]*)`,  // 1 comment
  String.raw`((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))`,  // 2 string
  String.raw`(\b\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?\b)`,  // 3 number
  String.raw`([A-Za-z_]\w*)`,  // 4 name
].join("|"), "g");
function highlight(code) {
  let out = "", last = 0, m;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(code)) !== null) {
    if (m[0] === "") { TOKEN.lastIndex++; continue; }
    out += esc(code.slice(last, m.index));
    const cls = m[1] ? "com" : m[2] ? "str" : m[3] ? "num" : KEYWORDS.has(m[4]) ? "kw" : "";
    out += cls ? `<span class="${cls}">${esc(m[0])}</span>` : esc(m[0]);
    last = m.index + m[0].length;
  }
  return out + esc(code.slice(last));
}

// ---- chart tooltips: each point's <title> becomes a tooltip that follows the mouse
const tip = document.createElement("div");
tip.id = "tip";
document.body.appendChild(tip);
function wireCharts() {
  app.querySelectorAll("svg.chart circle.point").forEach((c) => {
    const t = c.querySelector("title");
    if (t) { c.dataset.tip = t.textContent; t.remove(); }
  });
}
app.addEventListener("mouseover", (e) => {
  const c = e.target.closest && e.target.closest("circle.point");
  if (!c) return;
  tip.textContent = c.dataset.tip || "";
  tip.style.display = "block";
  tip.style.left = (e.clientX + 12) + "px";
  tip.style.top = (e.clientY + 12) + "px";
});
app.addEventListener("mouseout", (e) => {
  if (e.target.closest && e.target.closest("circle.point")) tip.style.display = "none";
});

// ---- hash routes: "#/path/segments?query"
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const q = raw.indexOf("?");
  const path = (q >= 0 ? raw.slice(0, q) : raw).split("/").filter((p) => p !== "").map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(q >= 0 ? raw.slice(q + 1) : ""));
  return {path, params};
}
function hashFor(path, params) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined && v !== false)).toString();
  return "#/" + path + (qs ? "?" + qs : "");
}

// ---- definitions list: filters as you type, sortable columns, state in the URL
const COLUMNS = [["name", "name"], ["op type", "op_type"], ["workloads", "workloads"], ["solutions", "solutions"], ["traces", "traces"], ["tags", ""]];
let listTimer = null;
async function definitionsPage(params) {
  const state = {q: params.q || "", op_type: params.op_type || "", tag: params.tag || "", has_traces: params.has_traces || "",
    sort: params.sort || "", order: params.order || ""};
  const first = await api("/api/definitions");
  const opts = (xs, sel) => '<option value="">all</option>' + xs.map((x) => `<option ${x === sel ? "selected" : ""}>${esc(x)}</option>`).join("");
  app.innerHTML = `<h1>Definitions</h1>
    <div class="filters"><input id="q" placeholder="search name or description" value="${esc(state.q)}">
    op type <select id="op">${opts(first.op_types, state.op_type)}</select>
    tag <select id="tag">${opts(first.tags, state.tag)}</select>
    <label><input type="checkbox" id="has" ${state.has_traces ? "checked" : ""}> has traces</label></div>
    <div id="list"></div>`;
  const q = document.getElementById("q"), op = document.getElementById("op"), tag = document.getElementById("tag"), has = document.getElementById("has");
  const render = async () => {
    history.replaceState(null, "", hashFor("", state));
    const data = await api("/api/definitions?" + new URLSearchParams(Object.entries(state).filter(([, v]) => v)));
    const arrow = (key) => state.sort === key ? (state.order === "desc" ? " ▼" : " ▲") : "";
    const head = "<tr>" + COLUMNS.map(([label, key]) => key ? `<th class="sortable" data-sort="${key}">${esc(label)}${arrow(key)}</th>` : `<th>${esc(label)}</th>`).join("") + "</tr>";
    const rows = data.definitions.map((d) => `<tr><td><a class="def-link" href="#/def/${encodeURIComponent(d.name)}">${esc(d.name)}</a></td><td>${esc(d.op_type)}</td>` +
      `<td class="n">${d.workloads}</td><td class="n">${d.solutions}</td><td class="n">${d.traces}</td><td>${esc(d.tags.join(", "))}</td></tr>`).join("");
    document.getElementById("list").innerHTML = `<p class="muted" id="count">${data.definitions.length} of ${data.total} definitions</p><table class="definitions">${head}${rows}</table>`;
    document.querySelectorAll("th.sortable").forEach((th) => th.addEventListener("click", () => {
      const key = th.dataset.sort;
      if (state.sort === key) state.order = state.order === "desc" ? "asc" : "desc";
      else { state.sort = key; state.order = ["name", "op_type"].includes(key) ? "asc" : "desc"; }
      render();
    }));
  };
  q.addEventListener("input", () => { clearTimeout(listTimer); listTimer = setTimeout(() => { state.q = q.value; render(); }, 150); });
  op.addEventListener("change", () => { state.op_type = op.value; render(); });
  tag.addEventListener("change", () => { state.tag = tag.value; render(); });
  has.addEventListener("change", () => { state.has_traces = has.checked ? "1" : ""; render(); });
  await render();
}

async function definitionPage(name, filters = {}) {
  const [d, lb] = await Promise.all([api(`/api/definitions/${encodeURIComponent(name)}`), api(`/api/definitions/${encodeURIComponent(name)}/leaderboard`)]);
  const tr = await api("/api/traces?" + new URLSearchParams({definition: name, ...filters}));
  const def = d.definition;
  const axes = table(["axis", "type", "value", "description"], Object.entries(def.axes).map(([k, a]) => [esc(k), esc(a.type), fmt(a.value), esc(a.description)]));
  const io = table(["", "name", "shape", "dtype", "description"], [
    ...Object.entries(def.inputs).map(([k, t]) => ["in", esc(k), t.shape ? esc("[" + t.shape.join(", ") + "]") : "scalar", esc(t.dtype), esc(t.description)]),
    ...Object.entries(def.outputs).map(([k, t]) => ["out", esc(k), t.shape ? esc("[" + t.shape.join(", ") + "]") : "scalar", esc(t.dtype), esc(t.description)])]);
  const basis = lb.rows.length ? lb.rows[0].speedup_basis : "reference";
  const board = table(["#", "solution", "passed", `geo-mean speedup (vs ${basis})`, "fast_1", "fast_2", "median latency ms", "call latency ms", "worst abs err", "failures", "flags"],
    lb.rows.map((r, i) => [i + 1, `<a href="#/solution/${encodeURIComponent(r.solution)}">${esc(r.solution)}</a>`,
      `<span class="${r.passed === r.total ? "ok" : "bad"}">${r.passed}/${r.total}</span>`, fmt(r.geomean_speedup, 3),
      fmt(r.fast_p["1.0"], 2), fmt(r.fast_p["2.0"], 2), fmt(r.median_latency_ms), fmt(r.median_call_latency_ms), fmt(r.worst_abs_error, 3),
      esc(Object.entries(r.failures).map(([k, v]) => `${k} x${v}`).join(", ")),
      `<span class="bad">${esc(Object.entries(r.flags || {}).map(([k, v]) => `${k} x${v}`).join(", "))}</span>`]), {cls: "leaderboard"});
  const sols = [...new Set(tr.traces.map((t) => t.solution))];
  const sel = (id, xs, v) => `<select id="${id}"><option value="">all</option>${xs.map((x) => `<option ${x === v ? "selected" : ""}>${esc(x)}</option>`).join("")}</select>`;
  const wl = table(["workload", "uuid", "tags", "axes"], d.workloads.map((w) => [esc(w.label), esc(w.uuid), esc(w.tags.join(", ")),
    esc(Object.entries(w.axes).map(([k, v]) => `${k}=${v}`).join(" "))]));
  app.innerHTML = `<h1>${esc(def.name)}</h1><p>${esc(def.description)}</p>
    <h2>Leaderboard</h2>${board}
    <div class="charts">${lb.charts.fast_p}${lb.charts.latency}${lb.charts.bandwidth}</div>
    <h2>Traces (${tr.total})</h2> solution ${sel("fsol", sols, filters.solution)} status ${sel("fstat",
      ["PASSED", "INCORRECT_SHAPE", "INCORRECT_NUMERICAL", "INCORRECT_DTYPE", "RUNTIME_ERROR", "COMPILE_ERROR", "TIMEOUT"], filters.status)}
    ${table(["solution", "workload", "status", "latency ms", "speedup", "diagnosis"], tr.traces.map((t) => [esc(t.solution),
      `<span title="${esc(t.workload)}">${esc(t.workload_label || t.workload)}</span>`,
      `<span class="${t.status === "PASSED" ? "ok" : "bad"}">${esc(t.status)}</span>`, fmt(t.latency_ms), fmt(t.speedup, 3), esc(t.diagnosis)]),
      {cls: "traces", click: (i) => `#/trace/${tr.traces[i].id}`})}
    <h2>Axes</h2>${axes}<h2>Inputs and outputs</h2>${io}
    <h2>Constraints</h2><pre>${esc((def.constraints || []).join("\n"))}</pre>
    <h2>Reference</h2><pre class="code">${highlight(def.reference)}</pre>
    <h2>Workloads (${d.workloads.length})</h2>${wl}`;
  wireClicks();
  wireCharts();
  const upd = () => definitionPage(name, {solution: document.getElementById("fsol").value, status: document.getElementById("fstat").value});
  document.getElementById("fsol").addEventListener("change", upd);
  document.getElementById("fstat").addEventListener("change", upd);
}

async function tracePage(id) {
  const t = await api(`/api/traces/${encodeURIComponent(id)}`);
  const ev = t.evaluation || {};
  const diag = Array.isArray(ev.diagnoses) ? ev.diagnoses.map((d) => `diagnosis: ${d.message} (${d.pitfall})`)
    : (ev.log || "").split("\n").filter((l) => l.startsWith("diagnosis:"));
  const flags = ((ev.performance || {}).flags || []).map((f) => `${f.id}: ${f.message}`);
  app.innerHTML = `<h1>Trace ${esc(id)}</h1>
    <p><a href="#/def/${encodeURIComponent(t.definition)}">${esc(t.definition)}</a> · solution
      <a href="#/solution/${encodeURIComponent(t.solution)}">${esc(t.solution)}</a> · workload ${esc(t.workload.name || t.workload.uuid)}
      <span class="muted">${esc(t.workload.uuid)}</span></p>
    <h2 class="${ev.status === "PASSED" ? "ok" : "bad"}" id="trace-status">${esc(ev.status)}</h2>
    ${diag.length ? `<h3>Diagnosis</h3><pre id="diagnosis">${esc(diag.join("\n"))}</pre>` : ""}
    ${flags.length ? `<h3>Flags</h3><pre id="flags" class="bad">${esc(flags.join("\n"))}</pre>` : ""}
    <h3>Correctness</h3><pre>${esc(JSON.stringify(ev.correctness ?? null, null, 2))}</pre>
    <h3>Performance</h3><pre>${esc(JSON.stringify(ev.performance ?? null, null, 2))}</pre>
    <h3>Environment</h3><pre>${esc(JSON.stringify(ev.environment ?? null, null, 2))}</pre>
    <h3>Log</h3><pre id="log">${esc(ev.log)}</pre>`;
}

async function solutionPage(name) {
  const s = await api(`/api/solutions/${encodeURIComponent(name)}`);
  app.innerHTML = `<h1>${esc(s.name)}</h1><p>for <a href="#/def/${encodeURIComponent(s.definition)}">${esc(s.definition)}</a> by ${esc(s.author)}</p>
    <p>${esc(s.description)}</p><pre>${esc(JSON.stringify(s.spec, null, 2))}</pre>` +
    s.sources.map((src) => `<h2>${esc(src.path)}</h2><pre class="code">${src.path.endsWith(".py") ? highlight(src.content) : esc(src.content)}</pre>`).join("");
}

// ---- run A vs run B (or Solution A vs Solution B of one run), with `kernel-arena compare`'s rule
const KIND_LABEL = {new_failure: "new failure", regression: "regression", improvement: "improvement", fixed: "fixed", unchanged: "unchanged"};
async function comparePage(params) {
  const {runs} = await api("/api/runs");
  const bySolutions = params.mode === "solutions" || (!("a" in params) && "solution_a" in params);
  const runSel = (id, v) => `<select id="${id}">${runs.map((r) => `<option value="${r.id}" ${String(r.id) === String(v) ? "selected" : ""}>${esc(r.label)} (${r.traces} traces)</option>`).join("")}</select>`;
  const a = params.a ?? "0", b = params.b ?? (runs.length > 1 ? "1" : "0"), run = params.run ?? "0";
  const sols = (runs[Number(run)] || runs[0]).solutions;
  const solSel = (id, v) => `<select id="${id}">${sols.map((s) => `<option ${s === v ? "selected" : ""}>${esc(s)}</option>`).join("")}</select>`;
  const sa = params.solution_a ?? sols[0] ?? "", sb = params.solution_b ?? sols[1] ?? sols[0] ?? "";
  app.innerHTML = `<h1>Compare</h1>
    <div class="filters"><label><input type="radio" name="mode" value="runs" ${bySolutions ? "" : "checked"}> run A ${runSel("ra", a)} vs run B ${runSel("rb", b)}</label></div>
    <div class="filters"><label><input type="radio" name="mode" value="solutions" ${bySolutions ? "checked" : ""}> in run ${runSel("rr", run)}: solution A ${solSel("sa", sa)} vs solution B ${solSel("sb", sb)}</label></div>
    <p class="muted">A change counts beyond twice the larger run-to-run spread recorded in the two traces, and at least
      3% (the rule of <code>kernel-arena compare</code>); ratio = latency B / latency A.</p>
    <div id="result">loading…</div>`;
  const go = () => {
    const mode = document.querySelector("input[name=mode]:checked").value;
    const ids = (x) => document.getElementById(x).value;
    location.hash = mode === "runs" ? hashFor("compare", {a: ids("ra"), b: ids("rb")})
      : hashFor("compare", {mode: "solutions", run: ids("rr"), solution_a: ids("sa"), solution_b: ids("sb")});
  };
  app.querySelectorAll("select, input[name=mode]").forEach((el) => el.addEventListener("change", (e) => {
    if (e.target.id === "rr") { location.hash = hashFor("compare", {mode: "solutions", run: e.target.value}); return; }
    go();
  }));
  const query = bySolutions ? {run, solution_a: sa, solution_b: sb} : {a, b};
  if (bySolutions && (!sa || !sb)) { document.getElementById("result").textContent = "this run has no traced solutions"; return; }
  const c = await api("/api/compare?" + new URLSearchParams(query));
  const counts = Object.entries(c.counts).map(([k, v]) => `${v} ${KIND_LABEL[k]}`).join(", ");
  const ratio = (x) => x === null || x === undefined ? "-" : fmt(x, 3) + "×";
  document.getElementById("result").innerHTML = `<p id="compare-summary">${c.pairs} pairs compared: ${esc(counts)}; ${c.only_in_a} only in A, ${c.only_in_b} only in B.</p>` +
    table(["change", "definition", "solution", "workload", "status A → B", "latency A ms", "latency B ms", "ratio B/A", "threshold"],
      c.changes.map((x) => [`<span class="kind ${x.kind}">${esc(KIND_LABEL[x.kind])}</span>`, esc(x.definition), esc(x.solution),
        `<span title="${esc(x.workload)}">${esc(x.workload_label)}</span>`, `${esc(x.status_a)} → ${esc(x.status_b)}`,
        fmt(x.latency_a_ms), fmt(x.latency_b_ms), ratio(x.ratio), "±" + fmt(100 * x.threshold, 2) + "%"]),
      {cls: "compare", rowClass: (i) => "row-" + c.changes[i].kind});
}

async function route() {
  const {path, params} = parseHash();
  tip.style.display = "none";
  try {
    if (path[0] === "def" && path[1]) await definitionPage(path[1]);
    else if (path[0] === "trace" && path[1]) await tracePage(path[1]);
    else if (path[0] === "solution" && path[1]) await solutionPage(path[1]);
    else if (path[0] === "compare") await comparePage(params);
    else await definitionsPage(params);
    document.getElementById("status").textContent = "";
  } catch (e) {
    app.innerHTML = `<p class="bad" id="error">${esc(e.message)}</p>`;
  }
}
window.addEventListener("hashchange", route);
route();
