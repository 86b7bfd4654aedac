// zkpipe live dashboard: polls the node's bounded status document and draws it (plain JS, no library).
"use strict";

const POLL_MS = 1000;
const TIMEOUT_MS = 4000;
const SVG = "http://www.w3.org/2000/svg";
const TX_COLOURS = {
  pending: "#9aa5b1", trusted: "#e6b84a", virtual: "#4c8be0", consolidated: "#55b36e", rejected: "#e05d5d",
};
const BATCH_STATE_COLOURS = {
  filling: "#bbbbbb", sequencing: "#4c72b0", proving: "#dd8452", aggregating: "#8172b3",
  consolidating: "#55a868", consolidated: "#2f7d47",
};
const BATCH_STATE_LABELS = {
  filling: "filling", sequencing: "→ virtual", proving: "proving", aggregating: "aggregating",
  consolidating: "wrapping · L1 verify", consolidated: "consolidated",
};

let last = null; // the last status the node gave
let failingSince = null; // when the node stopped answering (ms), or null
let failure = "";

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const num = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"));

function secs(v) {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms`;
  if (v < 100) return `${v.toFixed(2)} s`;
  return `${Math.round(v)} s`;
}

function clock(t) {
  const m = Math.floor(t / 60);
  const r = Math.floor(t % 60);
  return `${m}:${String(r).padStart(2, "0")}`;
}

function duration(v) {
  if (v < 60) return `${Math.round(v)} s`;
  if (v < 3600) return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
  return `${Math.floor(v / 3600)} h ${Math.floor((v % 3600) / 60)} min`;
}

function short(hex) {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

// Sizes the SVG's coordinate system to its box, so text is never stretched.
function frame(svg) {
  const width = Math.max(320, svg.clientWidth || 760);
  const height = svg.clientHeight || 200;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  return { width, height };
}

function ticks(max, count) {
  if (max <= 0) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) || raw;
  const out = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

// -- connection state ---------------------------------------------------------------------------

function setConnection(state, text) {
  const pill = $("conn");
  pill.dataset.state = state;
  $("conn-text").textContent = text;
  document.body.classList.toggle("stale", state === "unreachable");
  const banner = $("banner");
  banner.classList.remove("warn");
  if (state === "unreachable") {
    const since = new Date(failingSince).toLocaleTimeString();
    banner.textContent = last
      ? `The node is not answering since ${since} (${failure}): it is stopping, restarting or unreachable. ` +
        "The last state it reported is shown greyed; retrying every second."
      : `No answer from the node yet (${failure}); retrying every second.`;
    banner.hidden = false;
  } else if (state === "degraded") {
    banner.classList.add("warn");
    const failures = Object.entries(last.node.failures).map(([k, v]) => `${k}: ${v}`).join("; ");
    banner.textContent = `A component of the node has failed — ${failures}`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

async function poll() {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const response = await fetch("/dashboard/api/status", { cache: "no-store", signal: ctrl.signal });
    const body = await response.json().catch(() => null);
    if (!response.ok || body === null || body.error) {
      throw new Error(body && body.error ? body.error : `HTTP ${response.status}`);
    }
    last = body;
    failingSince = null;
    render(body);
  } catch (err) {
    if (failingSince === null) failingSince = Date.now();
    failure = err.name === "AbortError" ? "timed out" : err.message || String(err);
    setConnection(last ? "unreachable" : "connecting", last ? "unreachable" : "connecting…");
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}

// -- rendering ------------------------------------------------------------------------------------

function render(st) {
  const pool = st.pool;
  const warming = pool && pool.list.some((w) => w.state === "starting");
  if (st.node.state !== "running") setConnection("degraded", "degraded");
  else if (warming) setConnection("starting", "starting: provers warming up");
  else setConnection("live", "live");
  const c = st.chain;
  $("meta").replaceChildren(
    h("div", {}, ""),
    h("div", {}, ""),
  );
  const [line1, line2] = $("meta").children;
  line1.append("rollup ", h("b", {}, short(c.rollup_address)), " · L1 block ", h("b", {}, num(c.l1_block)),
    ` (every ${c.l1_block_time} s)`);
  line2.append("up ", h("b", {}, duration(st.node.uptime_s)), " · updated ",
    h("b", {}, new Date(st.now * 1000).toLocaleTimeString()));
  for (const state of Object.keys(TX_COLOURS)) $(`count-${state}`).textContent = num(st.counts[state]);
  $("heads").textContent = `${c.trusted_batch} · ${c.virtual_batch} · ${c.consolidated_batch}`;
  renderSeries(st.series);
  renderKpis(st);
  renderBatches(st);
  renderPool(pool);
  renderL1(st);
}

// Transactions in each state at each instant, stacked: the cumulative curves of the status
// document become exclusive layers (virtual = reached virtual, not yet consolidated; …).
function renderSeries(series) {
  const svg = $("series");
  const { width, height } = frame(svg);
  const pad = { l: 46, r: 10, t: 8, b: 22 };
  const layers = {
    consolidated: series.consolidated,
    virtual: series.virtual.map((v, i) => v - series.consolidated[i]),
    trusted: series.trusted.map((v, i) => v - series.virtual[i]),
    pending: series.pending,
    rejected: series.rejected,
  };
  const order = Object.keys(layers);
  const totals = series.t.map((_, i) => order.reduce((sum, k) => sum + layers[k][i], 0));
  const tMax = series.t[series.t.length - 1] || 1;
  const yMax = Math.max(1, ...totals);
  const x = (t) => pad.l + (t / tMax) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / yMax) * (height - pad.t - pad.b);
  for (const v of ticks(yMax, 4)) {
    svg.append(s("line", { class: "gridline", x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }));
    svg.append(s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)));
  }
  for (const t of ticks(tMax, 6)) {
    svg.append(s("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, clock(t)));
  }
  const base = series.t.map(() => 0);
  for (const state of order) {
    const top = base.map((b, i) => b + layers[state][i]);
    const upper = series.t.map((t, i) => `${x(t)},${y(top[i])}`);
    const lower = series.t.map((t, i) => `${x(t)},${y(base[i])}`).reverse();
    svg.append(s("polygon", {
      points: [...upper, ...lower].join(" "), fill: TX_COLOURS[state], opacity: 0.8, "data-series": state,
    }));
    if (layers[state].some((v) => v > 0)) {
      svg.append(s("polyline", { points: upper.join(" "), fill: "none", stroke: TX_COLOURS[state], "stroke-width": 1.5 }));
    }
    top.forEach((v, i) => { base[i] = v; });
  }
  $("series-legend").replaceChildren(...order.map((k) => h("span", { style: `--swatch:${TX_COLOURS[k]}` }, k)));
}

function renderKpis(st) {
  const k = st.kpis;
  $("throughput").textContent = k.throughput ? k.throughput.toFixed(2) : "–";
  $("throughput-batches").textContent = k.throughput_batches ? k.throughput_batches.toFixed(3) : "–";
  const box = $("bottleneck");
  if (st.bottleneck) {
    box.replaceChildren("bottleneck: ", h("b", {}, st.bottleneck));
  } else {
    box.textContent = st.node.proving ? "bottleneck: no consolidated batch yet" : "bottleneck: the node does not prove";
  }
  const rows = Object.entries(st.stage_times).map(([name, v]) => {
    const tr = h("tr", name === st.bottleneck ? { class: "hot" } : {});
    tr.append(h("td", {}, name), h("td", {}, secs(v)));
    return tr;
  });
  const n = h("tr");
  n.append(h("td", {}, "aggregation_n (batches per proof)"), h("td", {}, String(st.aggregation_n)));
  $("stage-times").replaceChildren(...rows, n);
  const body = $("delays").tBodies[0];
  body.replaceChildren(...["trusted", "virtual", "consolidated"].map((state) => {
    const p = k[`delay_${state}`];
    const tr = h("tr", { "data-delay": state });
    tr.append(h("td", { style: `color:${TX_COLOURS[state]}` }, state),
      h("td", {}, secs(p.p50)), h("td", {}, secs(p.p95)), h("td", {}, secs(p.p99)));
    return tr;
  }));
}

function renderBatches(st) {
  const counts = st.batch_states;
  $("strip").replaceChildren(...Object.keys(BATCH_STATE_COLOURS).map((state) => {
    const div = h("div", { class: "stage", style: `--swatch:${BATCH_STATE_COLOURS[state]}`, "data-batch-state": state });
    div.append(h("div", { class: "n" }, String(counts[state] || 0)), h("div", { class: "name" }, BATCH_STATE_LABELS[state]));
    return div;
  }));
  $("stage-legend").replaceChildren(
    ...st.stages.map((stage) => h("span", { style: `--swatch:${stage.colour}` },
      stage.name === "to consolidated" ? "to consolidated (wrap + L1 verify)" : stage.name)),
    h("span", { style: "--swatch:repeating-linear-gradient(45deg,#ffffff55 0 3px,transparent 3px 6px)" }, "in progress"),
  );
  $("batch-sub").textContent = `newest ${st.batches.length} batches, open batch ${st.open_batch.number} (${st.open_batch.txs} txs)`;
  const rows = st.batches.map((b) => ({ ...b, label: `#${b.number}` }));
  if (st.open_batch.txs > 0 && st.open_batch.opened !== null) {
    rows.push({
      number: st.open_batch.number, txs: st.open_batch.txs, state: "filling", label: `#${st.open_batch.number}`,
      marks: [st.open_batch.opened, null, null, null, null, null],
    });
  }
  const svg = $("timeline");
  const rowH = 18;
  svg.style.height = `${Math.max(80, rows.length * rowH + 34)}px`;
  const { width, height } = frame(svg);
  const pad = { l: 56, r: 130, t: 6, b: 22 };
  if (rows.length === 0) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no batch yet: send transactions"));
    return;
  }
  const t0 = Math.min(...rows.map((r) => r.marks[0]));
  const span = Math.max(1, st.now - t0);
  const x = (t) => pad.l + ((t - t0) / span) * (width - pad.l - pad.r);
  for (const t of ticks(span, 8)) {
    svg.append(s("line", { class: "gridline", x1: x(t0 + t), x2: x(t0 + t), y1: pad.t, y2: height - pad.b }));
    svg.append(s("text", { x: x(t0 + t), y: height - 6, "text-anchor": "middle" }, clock(t)));
  }
  svg.append(s("line", { class: "now", x1: x(st.now), x2: x(st.now), y1: pad.t, y2: height - pad.b }));
  const defs = s("defs");
  const pattern = s("pattern", { id: "progress", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  pattern.append(s("rect", { width: 3, height: 6, fill: "#ffffff40" }));
  defs.append(pattern);
  svg.append(defs);
  rows.forEach((row, i) => {
    const top = pad.t + i * rowH;
    const g = s("g", { "data-batch": row.number, "data-state": row.state });
    g.append(s("text", { x: pad.l - 8, y: top + 13, "text-anchor": "end" }, row.label));
    const marks = row.marks;
    let lastMark = 0;
    for (let j = 0; j < st.stages.length; j++) {
      if (marks[j] !== null) lastMark = j;
      if (marks[j] === null || marks[j + 1] === null) continue;
      g.append(s("rect", {
        x: x(marks[j]), y: top + 3, height: rowH - 6, rx: 2,
        width: Math.max(1, x(marks[j + 1]) - x(marks[j])), fill: st.stages[j].colour,
      }));
    }
    if (marks[5] === null) {
      if (marks[lastMark + 1] === null && lastMark < st.stages.length) {
        const stage = st.stages[lastMark];
        const attrs = { x: x(marks[lastMark]), y: top + 3, height: rowH - 6, rx: 2, width: Math.max(1, x(st.now) - x(marks[lastMark])) };
        g.append(s("rect", { ...attrs, fill: stage.colour, opacity: 0.55 }));
        g.append(s("rect", { ...attrs, fill: "url(#progress)" }));
      }
    }
    const tag = `${BATCH_STATE_LABELS[row.state]} · ${row.txs} tx`;
    g.append(s("text", { x: width - pad.r + 8, y: top + 13, fill: BATCH_STATE_COLOURS[row.state] }, tag));
    svg.append(g);
  });
}

function renderPool(pool) {
  const summary = $("pool-summary");
  if (!pool) {
    summary.textContent = "the node does not prove (start it with --prove)";
    $("pool-workers").replaceChildren();
    return;
  }
  const item = (n, label, key) => {
    const span = h("span", { "data-pool": key });
    span.append(h("b", {}, String(n)), label);
    return span;
  };
  summary.replaceChildren(
    item(pool.workers, "workers", "workers"), item(pool.busy, "busy", "busy"),
    item(pool.quarantined, "quarantined", "quarantined"), item(pool.queued, "jobs queued", "queued"),
    item(pool.running, "running", "running"), item(pool.done, "proofs done", "done"),
    item(pool.redundancy, "× redundancy", "redundancy"),
  );
  $("pool-workers").replaceChildren(...pool.list.map((w) => {
    const row = h("div", { class: "worker", "data-worker": w.id });
    const bar = h("div", { class: "bar", title: `busy ${(w.busy_share * 100).toFixed(0)}% of the time` });
    bar.append(h("div", { style: `width:${(w.busy_share * 100).toFixed(1)}%` }));
    row.append(h("span", { class: "id" }, w.id), h("span", { class: `badge ${w.state}` }, w.state), bar,
      h("span", {}, `${w.accepted} ✓ ${w.rejected ? `${w.rejected} ✗` : ""}`));
    if (w.job) row.append(h("span", { class: "job" }, `running ${w.job}`));
    return row;
  }));
}

function renderL1(st) {
  const k = st.kpis;
  const rows = [
    ["gas per transaction (sequencing)", k.l1_gas_per_tx === null ? "–" : num(Math.round(k.l1_gas_per_tx))],
    ["gas per verification (aggregate)", k.l1_gas_per_aggregated_proof === null ? "–" : num(Math.round(k.l1_gas_per_aggregated_proof))],
    ["prover CPU-seconds per tx", k.prover_cpu_seconds_per_tx === null ? "–" : k.prover_cpu_seconds_per_tx.toFixed(3)],
    ["consolidated batches", num(k.batches)],
  ];
  $("l1").replaceChildren(...rows.map(([name, v]) => {
    const tr = h("tr");
    tr.append(h("td", {}, name), h("td", {}, v));
    return tr;
  }));
  const box = $("aggregate");
  const a = st.last_aggregate;
  if (!a) {
    box.textContent = "no aggregate proof verified on L1 yet";
    return;
  }
  const links = h("div", { class: "links" });
  links.append(
    h("a", { href: "/dashboard/api/aggregate.proof", id: "proof-link", download: "aggregate.proof" }, "download the proof"),
    h("a", { href: `/dashboard/api/l1/tx/${a.verify_tx}`, id: "l1-tx-link", target: "_blank" }, `L1 tx ${short(a.verify_tx)}`),
  );
  box.replaceChildren(
    h("div", {}, `batches ${a.first_batch}–${a.final_batch} · ${a.segments} segment proofs folded · ` +
      `verify gas ${a.verify_gas === null ? "–" : num(a.verify_gas)}`),
    h("div", { class: "hint" }, `proof sha256 ${short(a.proof_sha256)} · check it: zkpipe verify aggregate.proof`),
    links,
  );
}

poll();
