// bench/results/throughput.svg: one panel of horizontal bars per measurement that was run
// (each panel has its own scale), drawn from the result object that latest.json holds.

const COLORS = {
  'etcdns-zone': '#2b7bb9', 'etcdns-zone-dgram': '#8fbfe0', 'etcdns-zone-w2': '#1d5a8a', 'etcdns-etcd': '#5aa1d8', 'naive-dns2': '#b0b0b0', knot: '#e07b39',
  'etcdns-zone-norotate': '#4f93c8', 'etcdns-zone-base': '#9aa9b8', 'etcdns-etcd-base': '#b5c2cf',
  'etcdns-fwd': '#6b9e3a', 'etcdns-1k': '#2b7bb9', 'etcdns-100k': '#1d5a8a', 'knot-1k': '#e07b39', 'knot-100k': '#b85a20',
};
const W = 900, LEFT = 190, BAR_MAX = 400, ROW = 46, BAR = 28;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmtQ = (q) => `${Math.round(q ?? 0).toLocaleString('en-US')} q/s`;

/**
 * rows: [{ label, value, text, detail, color }]; marker: optional { value, label }, a dashed
 * vertical line (e.g. a target). Returns { svg, height }.
 */
function panel(y0, title, subtitle, rows, marker) {
  const max = Math.max(1e-9, ...rows.map((r) => r.value ?? 0), marker?.value ?? 0);
  let y = y0 + 44;
  const parts = [`<text x="20" y="${y0 + 18}" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="20" y="${y0 + 36}" font-size="11" fill="#555">${esc(subtitle)}</text>`];
  const top = y;
  for (const r of rows) {
    const w = Math.max(1, ((r.value ?? 0) / max) * BAR_MAX);
    parts.push(`<text x="${LEFT - 10}" y="${y + 19}" text-anchor="end" font-size="13">${esc(r.label)}</text>`,
      `<rect x="${LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${r.color ?? COLORS[r.label] ?? '#888'}"/>`,
      `<text x="${(LEFT + w + 6).toFixed(1)}" y="${y + 12}" font-size="12">${esc(r.text)}</text>`,
      `<text x="${(LEFT + w + 6).toFixed(1)}" y="${y + 26}" font-size="10" fill="#555">${esc(r.detail ?? '')}</text>`);
    y += ROW;
  }
  if (marker) { // drawn over the bars
    const x = (LEFT + (marker.value / max) * BAR_MAX).toFixed(1);
    const bottom = y - (ROW - BAR);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${x}" y="${bottom + 12}" font-size="10" fill="#c00" text-anchor="middle">${esc(marker.label)}</text>`);
  }
  return { svg: parts.join('\n  '), height: y - y0 + 14 };
}

const qpsRows = (summary) => Object.entries(summary).map(([n, s]) => ({
  label: n, value: s.qps, text: fmtQ(s.qps),
  detail: `avg ${s.avgLatencyMs?.toFixed(2)} ms, p99 ${s.p99LatencyMs?.toFixed(2)} ms, CPU ${Math.round(s.serverCpuPct ?? 0)}%${s.cacheHitPct != null ? `, cache hits ${s.cacheHitPct}%` : ''}`,
}));

export function svgChart(result) {
  const { facts, options: o } = result;
  const panels = [];
  if (result.udp) {
    panels.push(['UDP throughput (queries/s, higher is better)',
      `${o.services} services, 70% A / 30% SRV, dnsperf ${result.udp.args}; median of ${o.rounds} round(s)`, qpsRows(result.udp.summary)]);
  }
  if (result.steady) {
    panels.push([`p99 latency at a steady ${result.steady.qps.toLocaleString('en-US')} queries/s (ms, lower is better)`,
      `dnsperf ${result.steady.args}; target for etcdns ≤ ${result.steady.targetVsKnot}× Knot's and no round above ${result.steady.targetWorstRoundMs} ms; median of ${o.rounds} round(s)`,
      Object.entries(result.steady.summary).map(([n, s]) => ({ label: n, value: s.p99LatencyMs, text: `p99 ${s.p99LatencyMs?.toFixed(3)} ms`,
        detail: `p50 ${s.p50LatencyMs?.toFixed(3)} ms, ${Math.round(s.qps)} q/s, loss ${s.lossPct}%, CPU ${Math.round(s.serverCpuPct ?? 0)}%` })),
      { value: result.steady.targetWorstRoundMs, label: `no round above ${result.steady.targetWorstRoundMs} ms` }]);
  }
  if (result.tcp) {
    panels.push(['TCP throughput (queries/s)', `dnsperf ${result.tcp.args}; etcdns ÷ knot = ${result.tcp.ratio ?? '-'}`, qpsRows(result.tcp.summary)]);
  }
  if (result.forward) {
    panels.push(['Forwarder cache hits vs authoritative (queries/s)',
      `etcdns-fwd forwards bench.test to Knot and answers from its cache; ÷ etcdns-zone = ${result.forward.ratio ?? '-'}`, qpsRows(result.forward.summary)]);
  }
  if (result.scale) {
    panels.push([`Zone size: ${result.scale.records.small.toLocaleString('en-US')} vs ${result.scale.records.large.toLocaleString('en-US')} records (queries/s)`,
      `queries over every service of each set; etcdns large ÷ small = ${result.scale.ratio ?? '-'} (target ≥ 0.9)`, qpsRows(result.scale.summary)]);
  }
  if (result.churn) {
    const rows = [];
    for (const [n, c] of Object.entries(result.churn.summary)) {
      rows.push({ label: `${n} quiet`, value: c.quietQps, text: fmtQ(c.quietQps), detail: `p99 ${c.quietP99Ms?.toFixed(2)} ms`, color: n.endsWith('-base') ? '#9aa9b8' : '#2b7bb9' });
      rows.push({ label: `${n} churn`, value: c.churnQps, text: `${fmtQ(c.churnQps)} (× ${c.churnVsQuiet} of quiet)`, detail: `p99 ${c.churnP99Ms?.toFixed(2)} ms, ${c.putsPerSec} etcd puts/s`, color: n.endsWith('-base') ? '#c9a28a' : '#e07b39' });
    }
    panels.push([`Zone-file q/s under etcd churn (${result.churn.putsPerSecTarget} puts/s to another zone)`,
      `dnsperf ${result.churn.args}; etcdns-churn churn ÷ quiet = ${result.churn.churnVsQuiet ?? '-'} (target ≥ ${result.churn.target})`, rows]);
  }
  let y = 60;
  const body = [];
  for (const [title, sub, rows, marker] of panels) {
    const p = panel(y, title, sub, rows, marker);
    body.push(p.svg);
    y += p.height;
  }
  const H = y + 30;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="20" y="28" font-size="18" font-weight="bold">etcdns benchmark</text>
  <text x="20" y="48" font-size="12" fill="#555">${esc(`${facts.nproc} × ${facts.cpu}, node ${facts.versions.node}, ${facts.date}`)}</text>
  ${body.join('\n  ')}
  <text x="20" y="${H - 14}" font-size="11" fill="#555">dnsperf runs on the same ${facts.nproc}-core machine as the server and competes with it for CPU.</text>
</svg>
`;
}
