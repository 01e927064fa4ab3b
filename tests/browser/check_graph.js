// Checks the calint graph page as rendered by a real browser; appended to a copy of the page
// by tests/graph_browser.rs, which reads the JSON written into #calint-check from --dump-dom.
(function () {
  const errors = [];
  const svg = document.getElementById('graph');
  if (!svg) {
    errors.push('no #graph svg');
  }
  const sb = svg ? svg.getBoundingClientRect() : { left: 0, top: 0, right: 0, bottom: 0 };
  const visible = (el) => {
    const b = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return b.width > 0 && b.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none' &&
      parseFloat(cs.opacity) > 0 && parseFloat(cs.fontSize) >= 8;
  };
  // The four corners of an element's box in page coordinates (labels may be rotated).
  const corners = (el) => {
    const b = el.getBBox();
    const m = el.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  // Separating-axis test for two convex quadrilaterals (shrunk by 0.5 px: touching is fine).
  const overlap = (p, q) => {
    for (const poly of [p, q]) {
      for (let i = 0; i < 4; i++) {
        const [x1, y1] = poly[i];
        const [x2, y2] = poly[(i + 1) % 4];
        const ax = y1 - y2, ay = x2 - x1;
        const proj = (pts) => pts.map(([x, y]) => x * ax + y * ay);
        const a = proj(p), b = proj(q);
        const len = Math.hypot(ax, ay) || 1;
        if (Math.max(...a) - 0.5 * len <= Math.min(...b) || Math.max(...b) - 0.5 * len <= Math.min(...a)) {
          return false;
        }
      }
    }
    return true;
  };
  const inside = (pts) => pts.every(([x, y]) =>
    x >= sb.left - 1 && x <= sb.right + 1 && y >= sb.top - 1 && y <= sb.bottom + 1);

  const nodeLabels = [...document.querySelectorAll('#graph text.node-label')];
  const edgeLabels = [...document.querySelectorAll('#graph text.edge-label')];
  const edges = [...document.querySelectorAll('#graph path.edge')];
  const boxes = [];
  for (const t of [...nodeLabels, ...edgeLabels]) {
    const name = t.textContent.trim();
    if (!visible(t)) errors.push('label not visible: ' + name);
    const c = corners(t);
    if (!inside(c)) errors.push('label outside the drawing: ' + name);
    boxes.push([name, c]);
  }
  for (const t of nodeLabels) {
    const reach = t.getAttribute('data-reach');
    if (reach === null || !t.textContent.includes('⟶' + reach)) {
      errors.push('no blast radius on ' + t.textContent.trim());
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (overlap(boxes[i][1], boxes[j][1])) {
        errors.push('labels overlap: "' + boxes[i][0] + '" and "' + boxes[j][0] + '"');
      }
    }
  }
  // Opposite edges: their middles must be apart (they do not lie on each other).
  let opposite = 0;
  const byPair = new Map(edges.map((e) => [e.dataset.from + '>' + e.dataset.to, e]));
  for (const e of edges) {
    const back = byPair.get(e.dataset.to + '>' + e.dataset.from);
    if (!back || Number(e.dataset.from) > Number(e.dataset.to)) continue;
    opposite++;
    const m1 = e.getPointAtLength(e.getTotalLength() / 2);
    const m2 = back.getPointAtLength(back.getTotalLength() / 2);
    const d = Math.hypot(m1.x - m2.x, m1.y - m2.y);
    if (d < 12) errors.push('opposite edges ' + e.dataset.from + '<->' + e.dataset.to + ' overlap (' + d.toFixed(1) + ' px apart)');
  }
  const legend = document.getElementById('legend');
  if (!legend || !visible(legend)) {
    errors.push('no visible legend');
  } else {
    for (const word of ['workload', 'network set', 'world', 'blast radius', 'some packets allowed']) {
      if (!legend.textContent.includes(word)) errors.push('legend does not explain ' + word);
    }
  }
  const out = document.createElement('pre');
  out.id = 'calint-check';
  out.textContent = JSON.stringify({
    errors, nodes: nodeLabels.length, edges: edges.length, edge_labels: edgeLabels.length, opposite,
  });
  document.body.appendChild(out);
})();
