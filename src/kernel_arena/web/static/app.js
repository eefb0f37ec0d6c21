// Kernel Arena viewer: hash routes over the read-only JSON API. No external requests.
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
  const body = rows.map((r, i) => `<tr class="${opts.click ? "click" : ""}" ${opts.click ? `data-href="${esc(opts.click(i))}"` : ""}>` +
    r.map((c) => `<td>${c}</td>`).join("") + "</tr>").join("");
  return `<table class="${opts.cls || ""}">${head}${body}</table>`;
}
function wireClicks() {
  app.querySelectorAll("tr[data-href]").forEach((tr) => tr.addEventListener("click", () => { location.hash = tr.dataset.href; }));
}
function highlight(code) {
  const kw = /\b(def|return|import|from|as|for|in|if|else|elif|while|with|not|and|or|None|True|False|lambda|class|try|except|raise)\b/g;
  return esc(code).split("\n").map((line) => {
    const hash = line.indexOf("#");
    const [src, com] = hash >= 0 ? [line.slice(0, hash), line.slice(hash)] : [line, ""];
    return src.replace(kw, '<span class="kw">$1</span>').replace(/\b(\d+(\.\d+)?)\b/g, '<span class="num">$1</span>') +
      (com ? `<span class="com">${com}</span>` : "");
  }).join("\n");
}

async function definitionsPage(params) {
  const data = await api("/api/definitions?" + new URLSearchParams(params));
  const opts = (xs, sel) => '<option value="">all</option>' + xs.map((x) => `<option ${x === sel ? "selected" : ""}>${esc(x)}</option>`).join("");
  app.innerHTML = `<h1>Definitions</h1>
    <input id="q" placeholder="search" value="${esc(params.q || "")}">
    op type <select id="op">${opts(data.op_types, params.op_type)}</select>
    tag <select id="tag">${opts(data.tags, params.tag)}</select>
    <div id="list">${table(["name", "op type", "workloads", "solutions", "traces", "tags"],
      data.definitions.map((d) => [`<a class="def-link" href="#/def/${encodeURIComponent(d.name)}">${esc(d.name)}</a>`, esc(d.op_type),
        d.workloads, d.solutions, d.traces, esc(d.tags.join(", "))]), {cls: "definitions"})}</div>`;
  const refresh = () => definitionsPage({q: q.value, op_type: op.value, tag: tag.value});
  const q = document.getElementById("q"), op = document.getElementById("op"), tag = document.getElementById("tag");
  q.addEventListener("change", refresh); op.addEventListener("change", refresh); tag.addEventListener("change", refresh);
}

async function definitionPage(name, filters = {}) {
  const [d, lb] = await Promise.all([api(`/api/definitions/${encodeURIComponent(name)}`), api(`/api/definitions/${encodeURIComponent(name)}/leaderboard`)]);
  const tr = await api("/api/traces?" + new URLSearchParams({definition: name, ...filters}));
  const def = d.definition;
  const axes = table(["axis", "type", "value", "description"], Object.entries(def.axes).map(([k, a]) => [esc(k), esc(a.type), fmt(a.value), esc(a.description)]));
  const io = table(["", "name", "shape", "dtype", "description"], [
    ...Object.entries(def.inputs).map(([k, t]) => ["in", esc(k), t.shape ? esc("[" + t.shape.join(", ") + "]") : "scalar", esc(t.dtype), esc(t.description)]),
    ...Object.entries(def.outputs).map(([k, t]) => ["out", esc(k), t.shape ? esc("[" + t.shape.join(", ") + "]") : "scalar", esc(t.dtype), esc(t.description)])]);
  const board = table(["#", "solution", "passed", "geo-mean speedup", "fast_1", "fast_2", "median latency ms", "call latency ms", "worst abs err", "failures", "flags"],
    lb.rows.map((r, i) => [i + 1, `<a href="#/solution/${encodeURIComponent(r.solution)}">${esc(r.solution)}</a>`,
      `<span class="${r.passed === r.total ? "ok" : "bad"}">${r.passed}/${r.total}</span>`, fmt(r.geomean_speedup, 3),
      fmt(r.fast_p["1.0"], 2), fmt(r.fast_p["2.0"], 2), fmt(r.median_latency_ms), fmt(r.median_call_latency_ms), fmt(r.worst_abs_error, 3),
      esc(Object.entries(r.failures).map(([k, v]) => `${k} x${v}`).join(", ")),
      `<span class="bad">${esc(Object.entries(r.flags || {}).map(([k, v]) => `${k} x${v}`).join(", "))}</span>`]), {cls: "leaderboard"});
  const sols = [...new Set(tr.traces.map((t) => t.solution))];
  const sel = (id, xs, v) => `<select id="${id}"><option value="">all</option>${xs.map((x) => `<option ${x === v ? "selected" : ""}>${esc(x)}</option>`).join("")}</select>`;
  const wl = table(["workload", "uuid", "tags", "axes"], d.workloads.map((w) => [esc(w.name), esc(w.uuid), esc(w.tags.join(", ")),
    esc(Object.entries(w.axes).map(([k, v]) => `${k}=${v}`).join(" "))]));
  app.innerHTML = `<h1>${esc(def.name)}</h1><p>${esc(def.description)}</p>
    <h2>Leaderboard</h2>${board}
    <div class="charts">${lb.charts.fast_p}${lb.charts.latency}${lb.charts.bandwidth}</div>
    <h2>Traces (${tr.total})</h2> solution ${sel("fsol", sols, filters.solution)} status ${sel("fstat",
      ["PASSED", "INCORRECT_SHAPE", "INCORRECT_NUMERICAL", "INCORRECT_DTYPE", "RUNTIME_ERROR", "COMPILE_ERROR", "TIMEOUT"], filters.status)}
    ${table(["solution", "workload", "status", "latency ms", "speedup", "diagnosis"], tr.traces.map((t) => [esc(t.solution), esc(t.workload_name || t.workload),
      `<span class="${t.status === "PASSED" ? "ok" : "bad"}">${esc(t.status)}</span>`, fmt(t.latency_ms), fmt(t.speedup, 3), esc(t.diagnosis)]),
      {cls: "traces", click: (i) => `#/trace/${tr.traces[i].id}`})}
    <h2>Axes</h2>${axes}<h2>Inputs and outputs</h2>${io}
    <h2>Constraints</h2><pre>${esc((def.constraints || []).join("\n"))}</pre>
    <h2>Reference</h2><pre class="code">${highlight(def.reference)}</pre>
    <h2>Workloads (${d.workloads.length})</h2>${wl}`;
  wireClicks();
  const upd = () => definitionPage(name, {solution: document.getElementById("fsol").value, status: document.getElementById("fstat").value});
  document.getElementById("fsol").addEventListener("change", upd);
  document.getElementById("fstat").addEventListener("change", upd);
}

async function tracePage(id) {
  const t = await api(`/api/traces/${id}`);
  const ev = t.evaluation || {};
  const diag = Array.isArray(ev.diagnoses) ? ev.diagnoses.map((d) => `diagnosis: ${d.message} (${d.pitfall})`)
    : (ev.log || "").split("\n").filter((l) => l.startsWith("diagnosis:"));
  const flags = ((ev.performance || {}).flags || []).map((f) => `${f.id}: ${f.message}`);
  app.innerHTML = `<h1>Trace ${esc(id)}</h1>
    <p><a href="#/def/${encodeURIComponent(t.definition)}">${esc(t.definition)}</a> · solution
      <a href="#/solution/${encodeURIComponent(t.solution)}">${esc(t.solution)}</a> · workload ${esc(t.workload.uuid)}</p>
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

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (parts[0] === "def" && parts[1]) await definitionPage(parts[1]);
    else if (parts[0] === "trace" && parts[1]) await tracePage(parts[1]);
    else if (parts[0] === "solution" && parts[1]) await solutionPage(parts[1]);
    else await definitionsPage({});
    document.getElementById("status").textContent = "";
  } catch (e) {
    app.innerHTML = `<p class="bad">${esc(e.message)}</p>`;
  }
}
window.addEventListener("hashchange", route);
route();
