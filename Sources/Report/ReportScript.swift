/// The report page's JavaScript: draws what `ReportData` computed — it derives
/// nothing about the history itself. Deep links: `#tx=N` clicks transaction N's
/// mark (or shows its description when the timeline is binned), `#map=N` shows
/// the memory map after transaction N.
enum ReportScript {
    static let source = #"""
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  function node(tag, attrs, text, ns) {
    const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const svgNode = (tag, attrs, text) => node(tag, attrs, text, true);
  function fmtNs(ns) {
    if (ns === null || ns === undefined) return 'n/a';
    if (ns >= 1e9) return (ns / 1e9).toFixed(2) + ' s';
    if (ns >= 1e6) return (ns / 1e6).toFixed(2) + ' ms';
    if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' µs';
    return ns + ' ns';
  }

  // Header.
  $('title').textContent = data.title;
  for (const [label, value] of data.facts) {
    $('facts').append(node('dt', {}, label), node('dd', {}, value));
  }
  for (const note of data.notes) $('notes').append(node('li', {}, note));

  // Timeline.
  const timeline = data.timeline;
  const marks = timeline.marks || [];
  const bins = timeline.bins || [];
  const spaces = [...new Set((marks.length ? marks.map((m) => m[1]) : [0]))].sort((a, b) => a - b);
  const vcpus = data.faults.vcpus;
  const LEFT = 70, RIGHT = 10, LANE = 22, TOP = 20;
  const lanes = spaces.length + vcpus;
  const height = TOP + lanes * LANE + 10;
  const svg = $('timeline');
  svg.setAttribute('height', height);
  const view = { from: timeline.start, to: Math.max(timeline.end, timeline.start + 1) };
  let selected = null;
  // Read once per drawing: reading it between DOM insertions would force a layout each time.
  let drawnWidth = 1000;
  const width = () => Math.max(svg.clientWidth || 1000, 300);
  const x = (t) => LEFT + (t - view.from) / (view.to - view.from) * (drawnWidth - LEFT - RIGHT);
  const laneY = (index) => TOP + index * LANE;

  function rect(attrs) { return svgNode('rect', attrs); }
  function span(from, to) {
    const a = x(from), b = x(to);
    return { x: a, w: Math.max(b - a, 1) };
  }
  function drawTimeline() {
    svg.replaceChildren();
    drawnWidth = width();
    const w = drawnWidth;
    svg.setAttribute('viewBox', `0 0 ${w} ${height}`);
    for (let i = 0; i <= 8; i++) {
      const t = view.from + (view.to - view.from) * i / 8;
      const px = x(t);
      svg.append(svgNode('line', { class: 'axis', x1: px, x2: px, y1: TOP - 4, y2: height - 8 }));
      svg.append(svgNode('text', { class: 'tick', x: px + 2, y: 12 }, fmtNs(Math.round(t - timeline.start))));
    }
    spaces.forEach((space, i) => svg.append(svgNode('text', { class: 'lane-label', x: 4, y: laneY(i) + 14 }, `as ${space}`)));
    for (let v = 0; v < vcpus; v++) {
      svg.append(svgNode('text', { class: 'lane-label', x: 4, y: laneY(spaces.length + v) + 14 }, `vCPU ${v}`));
    }
    const marksLayer = svgNode('g', { id: 'marks' });
    for (const m of marks) {
      const [seq, space, begin, commit, drain, apply, inhibited, overlaps, ops, failed, hazard] = m;
      if (commit < view.from || begin > view.to) continue;
      const lane = spaces.indexOf(space);
      const g = svgNode('g', { class: 'tx' + (inhibited ? ' inhibited' : '') + (hazard ? ' hazard' : '') + (seq === selected ? ' selected' : ''),
                               id: 'tx-' + seq, 'data-seq': seq });
      const body = span(begin, commit);
      g.append(rect({ class: 'body', x: body.x, y: laneY(lane) + 2, width: body.w, height: LANE - 6 }));
      // The drain and apply end at the commit (the journal keeps their lengths).
      if (drain + apply > 0 && commit - begin > 0) {
        const applyPart = span(commit - apply, commit);
        const drainPart = span(commit - apply - drain, commit - apply);
        if (drain > 0) g.append(rect({ class: 'drain', x: drainPart.x, y: laneY(lane) + 6, width: drainPart.w, height: LANE - 14 }));
        g.append(rect({ class: 'apply', x: applyPart.x, y: laneY(lane) + 6, width: applyPart.w, height: LANE - 14 }));
      }
      marksLayer.append(g);
    }
    for (const b of bins) {
      const [from, to, count, inhibited, overlapping, maxInhibit, first, last, hazards] = b;
      if (to < view.from || from > view.to) continue;
      const s = span(from, to);
      const r = rect({ class: 'bin' + (hazards ? ' hazard' : inhibited ? ' inhibited' : ''), x: s.x, y: laneY(0) + 2,
                       width: s.w, height: LANE - 6, 'data-count': count, 'data-first': first, 'data-last': last });
      r.append(svgNode('title', {}, `transactions ${first}…${last}: ${count} (${inhibited} inhibited, ${overlapping} overlapping, ` +
                                   `${hazards} with unprotected windows), longest inhibit ${fmtNs(maxInhibit)}`));
      marksLayer.append(r);
    }
    for (const f of data.faults.marks || []) {
      const [id, vcpu, time, gpa, write, seq] = f;
      if (time < view.from || time > view.to) continue;
      const r = rect({ class: 'fault', id: 'fault-' + id, x: x(time) - 1, y: laneY(spaces.length + vcpu) + 4, width: 3,
                       height: LANE - 10, 'data-seq': seq === null ? '' : seq });
      r.append(svgNode('title', {}, `fault ${id}: vCPU ${vcpu} ${write ? 'write' : 'read'} ${gpa}` + (seq === null ? '' : `, transaction ${seq}`)));
      marksLayer.append(r);
    }
    for (const f of data.faults.bins || []) {
      const [vcpu, from, to, count] = f;
      if (to < view.from || from > view.to) continue;
      const s = span(from, to);
      const r = rect({ class: 'fault-bin', x: s.x, y: laneY(spaces.length + vcpu) + 4, width: s.w, height: LANE - 10, 'data-count': count });
      r.append(svgNode('title', {}, `${count} fault(s) on vCPU ${vcpu}`));
      marksLayer.append(r);
    }
    svg.append(marksLayer);
  }

  function describe(seq) {
    const lines = data.details[String(seq)];
    return lines ? lines.join('\n') : `transaction ${seq}: no description kept in this report (see the notes above)`;
  }
  function select(seq, pin) {
    if (pin) selected = seq;
    $('details').textContent = describe(seq);
    for (const g of svg.querySelectorAll('.tx.selected')) g.classList.remove('selected');
    const mark = document.getElementById('tx-' + selected);
    if (mark) mark.classList.add('selected');
    if (pin) showMapAt(seq);
  }
  svg.addEventListener('click', (event) => {
    const target = event.target.closest('[data-seq]');
    if (target && target.getAttribute('data-seq') !== '') select(Number(target.getAttribute('data-seq')), true);
  });
  svg.addEventListener('mouseover', (event) => {
    const target = event.target.closest('.tx');
    if (target) select(Number(target.getAttribute('data-seq')), false);
  });
  svg.addEventListener('mouseleave', () => { if (selected !== null) select(selected, false); });

  // Zoom and pan: the wheel zooms around the pointer, a drag pans, keys do both.
  function zoom(factor, around) {
    const span = view.to - view.from;
    const next = Math.min(Math.max(span * factor, 1000), (timeline.end - timeline.start) * 1.2 + 1);
    const at = around === undefined ? view.from + span / 2 : around;
    view.from = at - (at - view.from) * next / span;
    view.to = view.from + next;
    drawTimeline();
  }
  function pan(fraction) {
    const d = (view.to - view.from) * fraction;
    view.from += d;
    view.to += d;
    drawTimeline();
  }
  svg.addEventListener('wheel', (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    const t = view.from + (event.clientX - box.left - LEFT) / (drawnWidth - LEFT - RIGHT) * (view.to - view.from);
    zoom(event.deltaY > 0 ? 1.25 : 0.8, t);
  }, { passive: false });
  let drag = null;
  svg.addEventListener('mousedown', (event) => { drag = { x: event.clientX, from: view.from, to: view.to }; });
  window.addEventListener('mouseup', () => { drag = null; });
  window.addEventListener('mousemove', (event) => {
    if (!drag) return;
    const d = (event.clientX - drag.x) / (drawnWidth - LEFT - RIGHT) * (drag.to - drag.from);
    view.from = drag.from - d;
    view.to = drag.to - d;
    drawTimeline();
  });
  svg.addEventListener('keydown', (event) => {
    const keys = { '+': () => zoom(0.8), '=': () => zoom(0.8), '-': () => zoom(1.25), 'ArrowLeft': () => pan(-0.1),
                   'ArrowRight': () => pan(0.1), '0': () => { view.from = timeline.start; view.to = Math.max(timeline.end, timeline.start + 1); drawTimeline(); } };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  window.addEventListener('resize', drawTimeline);

  // Histograms and shares.
  const shares = data.shares;
  const percent = (n) => shares.transactions ? (100 * n / shares.transactions).toFixed(1) + ' %' : 'n/a';
  $('shares').textContent = `${shares.transactions} transactions: ${shares.overlapping} overlapping (${percent(shares.overlapping)}), ` +
    `${shares.inhibited} inhibited (${percent(shares.inhibited)}).`;
  if (data.histograms === null) {
    $('histograms').append(node('p', {}, 'This history has no times.'));
  } else {
    for (const h of data.histograms) {
      const box = node('div', { class: 'hist' });
      box.append(node('div', {}, `${h.name}: ${h.count} values, p50 ${fmtNs(h.p50)}, p99 ${fmtNs(h.p99)}`));
      const W = 320, H = 110, B = 20;
      const chart = svgNode('svg', { width: W, height: H + B, role: 'img', 'aria-label': h.name + ' histogram' });
      const buckets = h.buckets;
      if (buckets.length) {
        const lo = Math.log2(Math.max(buckets[0][0], 1)), hi = Math.log2(Math.max(buckets[buckets.length - 1][1], 2));
        const bx = (v) => 4 + (Math.log2(Math.max(v, 1)) - lo) / Math.max(hi - lo, 1) * (W - 8);
        const most = Math.max(...buckets.map((b) => b[2]));
        for (const [from, to, count] of buckets) {
          const y = H - count / most * (H - 4);
          chart.append(svgNode('rect', { class: 'bar', x: bx(from), y, width: Math.max(bx(to) - bx(from) - 1, 1), height: H - y, 'data-count': count }));
        }
        for (const [name, value] of [['p50', h.p50], ['p99', h.p99]]) {
          if (value === null) continue;
          chart.append(svgNode('line', { class: name, x1: bx(value), x2: bx(value), y1: 0, y2: H }));
          chart.append(svgNode('text', { x: bx(value) + 2, y: 10 }, name));
        }
        chart.append(svgNode('text', { x: 4, y: H + 14 }, fmtNs(buckets[0][0])));
        chart.append(svgNode('text', { x: W - 60, y: H + 14 }, fmtNs(buckets[buckets.length - 1][1])));
      }
      box.append(chart);
      $('histograms').append(box);
    }
  }

  // The memory map after transaction N.
  const maps = data.maps;
  const slider = $('map-slider');
  slider.max = Math.max(maps.length - 1, 0);
  function showMap(index) {
    const map = $('map');
    map.replaceChildren();
    if (!maps.length) { $('map-seq').textContent = '(none)'; return; }
    const m = maps[index];
    slider.value = index;
    $('map-seq').textContent = String(m.seq);
    for (const space of m.spaces) {
      const box = node('div', { class: 'space', id: 'map-as-' + space.as });
      box.append(node('h3', {}, `address space ${space.as}: ${space.sections.length} section(s), ${space.slots.length} slot(s)`));
      // The bar: each section by kind, its width by the logarithm of its size (a ROM of 64 KiB stays visible next to GiBs of RAM).
      const sizes = space.sections.map(([start, last]) => Math.log2(Number(BigInt(last) - BigInt(start)) + 1) + 1);
      const total = sizes.reduce((a, b) => a + b, 0) || 1;
      const bar = svgNode('svg', { width: '100%', height: 26, viewBox: '0 0 1000 26', preserveAspectRatio: 'none' });
      let at = 0;
      space.sections.forEach(([start, last, kind, text], i) => {
        const w = sizes[i] / total * 1000;
        const r = svgNode('rect', { class: 'bar-' + kind, x: at, y: 2, width: Math.max(w - 1, 0.5), height: 22 });
        r.append(svgNode('title', {}, text));
        bar.append(r);
        at += w;
      });
      box.append(bar);
      const columns = node('div', { class: 'columns' });
      const sections = node('ol', { class: 'sections', start: 0 });
      for (const s of space.sections) sections.append(node('li', { class: 'section' }, s[3]));
      const slots = node('ol', { class: 'slots', start: 0 });
      for (const s of space.slots) slots.append(node('li', { class: 'slot' }, s));
      const left = node('div'); left.append(node('h4', {}, 'flat view'), sections);
      const right = node('div'); right.append(node('h4', {}, 'slot table'), slots);
      columns.append(left, right);
      box.append(columns);
      map.append(box);
    }
    const changed = node('ol', { class: 'changed', start: 0 });
    for (const line of m.changed) changed.append(node('li', {}, line));
    const what = node('div'); what.append(node('h4', {}, `what transaction ${m.seq} changed (sections, then slot operations)`), changed);
    map.append(what);
  }
  function showMapAt(seq) {
    let best = 0;
    maps.forEach((m, i) => { if (m.seq <= seq) best = i; });
    showMap(best);
  }
  slider.addEventListener('input', () => showMap(Number(slider.value)));
  $('map-prev').addEventListener('click', () => showMap(Math.max(Number(slider.value) - 1, 0)));
  $('map-next').addEventListener('click', () => showMap(Math.min(Number(slider.value) + 1, maps.length - 1)));

  // Tables.
  function link(seq) { const a = node('a', { href: '#tx=' + seq }, String(seq)); return a; }
  for (const [seq, space, start, last, duration] of data.hazards) {
    const row = node('tr', { class: 'hazard-row' });
    const first = node('td'); first.append(link(seq));
    row.append(first, node('td', {}, String(space)), node('td', {}, `[${start}, ${last}]`), node('td', {}, fmtNs(duration)));
    $('hazards').tBodies[0].append(row);
  }
  for (const [id, vcpu, gpa, write, time, seq] of data.faults.table) {
    const row = node('tr', { class: 'fault-row' });
    const cell = node('td');
    if (seq !== null) cell.append(link(seq)); else cell.textContent = 'none';
    row.append(node('td', {}, String(id)), node('td', {}, String(vcpu)), node('td', {}, gpa), node('td', {}, write ? 'write' : 'read'),
               node('td', {}, fmtNs(time)), cell);
    $('faults').tBodies[0].append(row);
  }

  // Deep links.
  function route() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has('map')) showMapAt(Number(params.get('map')));
    if (params.has('tx')) {
      const seq = Number(params.get('tx'));
      const mark = document.getElementById('tx-' + seq);
      if (mark) mark.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      else select(seq, true);
    }
  }
  drawTimeline();
  showMap(maps.length ? maps.length - 1 : 0);
  window.addEventListener('hashchange', route);
  route();
  document.body.setAttribute('data-rendered', 'yes');
  // From navigation start to here: parsing the page and drawing it (what BENCHMARKS.md reports).
  document.body.setAttribute('data-render-ms', String(Math.round(performance.now())));
})();
"""#
}
