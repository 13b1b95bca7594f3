// kura-docs page script: draws the lineage graph from the JSON embedded in the page, and filters
// the model list on the overview. No dependencies, no network; works from file://.
//
// Layout (a small Sugiyama pipeline):
//   1. cycles: a depth-first search marks the edges that close a cycle; they are laid out
//      reversed (and drawn dashed), so the rest of the pipeline sees an acyclic graph and every
//      step is a bounded loop whatever the input;
//   2. layers: longest path from the nodes nothing feeds; a node with no inputs then moves next to
//      its nearest reader, so a source is not stranded at the far left;
//   3. edges spanning several layers get one invisible vertex per layer crossed;
//   4. order within layers: barycentre sweeps down and up, keeping the order with fewest crossings;
//   5. coordinates: columns left to right; within a layer, a few passes pull each vertex towards
//      the mean height of its neighbours while keeping order and spacing.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var NODE_H = 30;
  var GAP_X = 64;
  var GAP_Y = 14;
  var DUMMY_GAP = 8;
  var MARGIN = 24;
  var CHAR_W = 7.2;
  var MAX_CHARS = 34;
  var SWEEPS = 24;
  var PLACE_PASSES = 8;

  function lists(n) {
    var out = [];
    for (var i = 0; i < n; i++) out.push([]);
    return out;
  }

  function filled(n, value) {
    var out = [];
    for (var i = 0; i < n; i++) out.push(value);
    return out;
  }

  function label(id) {
    return id.length > MAX_CHARS ? id.slice(0, MAX_CHARS - 1) + "\u2026" : id;
  }

  function nodeWidth(id) {
    return Math.max(80, Math.round(label(id).length * CHAR_W + 20));
  }

  function mean(values, fallback) {
    if (!values.length) return fallback;
    var sum = 0;
    for (var i = 0; i < values.length; i++) sum += values[i];
    return sum / values.length;
  }

  // Lays out {nodes: [{id, kind, href, focus}], edges: [{from, to}]}; returns the vertices with
  // x, y (centre) and w, the edges with their points, and the size of the drawing.
  function layout(graph) {
    var nodes = graph.nodes || [];
    var n = nodes.length;
    var index = Object.create(null);
    var V = [];
    nodes.forEach(function (node, i) {
      index[node.id] = i;
      V.push({ node: node, dummy: false, layer: 0, w: nodeWidth(node.id), h: NODE_H, x: 0, y: 0 });
    });
    var seen = Object.create(null);
    var edges = [];
    (graph.edges || []).forEach(function (e) {
      var from = index[e.from];
      var to = index[e.to];
      var key = from + ">" + to;
      if (from === undefined || to === undefined || seen[key]) return;
      seen[key] = true;
      edges.push({ from: from, to: to, self: from === to, reversed: false });
    });

    // 1. Cycles. Roots first (nodes nothing feeds), so in an acyclic graph nothing is reversed.
    var out = lists(n);
    var indegree = filled(n, 0);
    edges.forEach(function (e, k) {
      if (e.self) return;
      out[e.from].push(k);
      indegree[e.to]++;
    });
    var starts = [];
    for (var i = 0; i < n; i++) if (indegree[i] === 0) starts.push(i);
    for (i = 0; i < n; i++) if (indegree[i] !== 0) starts.push(i);
    var state = filled(n, 0); // 0 unvisited, 1 on the current path, 2 done
    var preorder = [];
    starts.forEach(function (root) {
      if (state[root] !== 0) return;
      state[root] = 1;
      preorder.push(root);
      var stack = [[root, 0]];
      while (stack.length) {
        var frame = stack[stack.length - 1];
        var v = frame[0];
        if (frame[1] < out[v].length) {
          var e = edges[out[v][frame[1]++]];
          if (state[e.to] === 1) {
            e.reversed = true;
          } else if (state[e.to] === 0) {
            state[e.to] = 1;
            preorder.push(e.to);
            stack.push([e.to, 0]);
          }
        } else {
          state[v] = 2;
          stack.pop();
        }
      }
    });

    // 2. Layers, by Kahn's order over the now acyclic edges (a = upper end, b = lower end).
    var succ = lists(n);
    var pred = lists(n);
    var pending = filled(n, 0);
    edges.forEach(function (e) {
      if (e.self) return;
      e.a = e.reversed ? e.to : e.from;
      e.b = e.reversed ? e.from : e.to;
      succ[e.a].push(e.b);
      pred[e.b].push(e.a);
      pending[e.b]++;
    });
    var queue = [];
    for (i = 0; i < n; i++) if (pending[i] === 0) queue.push(i);
    for (var head = 0; head < queue.length; head++) {
      var v = queue[head];
      succ[v].forEach(function (w) {
        V[w].layer = Math.max(V[w].layer, V[v].layer + 1);
        if (--pending[w] === 0) queue.push(w);
      });
    }
    for (i = 0; i < n; i++) {
      if (pred[i].length === 0 && succ[i].length > 0) {
        var nearest = Math.min.apply(null, succ[i].map(function (w) { return V[w].layer; }));
        V[i].layer = nearest - 1;
      }
    }

    // 3. Invisible vertices on long edges.
    edges.forEach(function (e) {
      if (e.self) return;
      e.chain = [e.a];
      for (var l = V[e.a].layer + 1; l < V[e.b].layer; l++) {
        V.push({ node: null, dummy: true, layer: l, w: 0, h: 0, x: 0, y: 0 });
        e.chain.push(V.length - 1);
      }
      e.chain.push(e.b);
    });
    var up = lists(V.length);
    var down = lists(V.length);
    edges.forEach(function (e) {
      if (e.self) return;
      for (var c = 0; c + 1 < e.chain.length; c++) {
        down[e.chain[c]].push(e.chain[c + 1]);
        up[e.chain[c + 1]].push(e.chain[c]);
      }
    });

    // 4. Order within layers: start from depth-first discovery order, then barycentre sweeps.
    var layerCount = 0;
    V.forEach(function (vx) { layerCount = Math.max(layerCount, vx.layer + 1); });
    var layers = lists(layerCount);
    preorder.forEach(function (v) { layers[V[v].layer].push(v); });
    for (i = n; i < V.length; i++) layers[V[i].layer].push(i);
    var pos = filled(V.length, 0);
    function number() {
      layers.forEach(function (layer) {
        layer.forEach(function (v, p) { pos[v] = p; });
      });
    }
    number();

    function crossings() {
      var total = 0;
      for (var l = 0; l + 1 < layers.length; l++) {
        var segments = [];
        layers[l].forEach(function (v) {
          down[v].forEach(function (w) { segments.push([pos[v], pos[w]]); });
        });
        segments.sort(function (s, t) { return s[0] - t[0] || s[1] - t[1]; });
        // Count inversions of the lower ends with a Fenwick tree.
        var size = layers[l + 1].length;
        var tree = filled(size + 1, 0);
        var inserted = 0;
        segments.forEach(function (s) {
          var notAbove = 0;
          for (var j = s[1] + 1; j > 0; j -= j & -j) notAbove += tree[j];
          total += inserted - notAbove;
          for (j = s[1] + 1; j <= size; j += j & -j) tree[j]++;
          inserted++;
        });
      }
      return total;
    }

    function sweep(downwards) {
      var neighbours = downwards ? up : down;
      var l0 = downwards ? 1 : layers.length - 2;
      var step = downwards ? 1 : -1;
      for (var l = l0; l >= 0 && l < layers.length; l += step) {
        var key = {};
        layers[l].forEach(function (v) {
          key[v] = mean(neighbours[v].map(function (u) { return pos[u]; }), pos[v]);
        });
        layers[l].sort(function (a, b) { return key[a] - key[b] || pos[a] - pos[b]; });
        layers[l].forEach(function (v, p) { pos[v] = p; });
      }
    }

    var best = layers.map(function (layer) { return layer.slice(); });
    var fewest = crossings();
    for (var sweepNo = 0; sweepNo < SWEEPS && fewest > 0; sweepNo++) {
      sweep(sweepNo % 2 === 0);
      var count = crossings();
      if (count < fewest) {
        fewest = count;
        best = layers.map(function (layer) { return layer.slice(); });
      }
    }
    layers = best;
    number();

    // 5. Coordinates.
    var colX = [];
    var colW = [];
    var x = MARGIN;
    layers.forEach(function (layer, l) {
      var width = 0;
      layer.forEach(function (v) { width = Math.max(width, V[v].w); });
      colX[l] = x;
      colW[l] = width;
      x += width + GAP_X;
    });
    V.forEach(function (vx) { vx.x = colX[vx.layer]; });

    function gap(a, b) {
      return (V[a].h + V[b].h) / 2 + (V[a].dummy || V[b].dummy ? DUMMY_GAP : GAP_Y);
    }
    function place(layer, desired) {
      var ys = [];
      for (var p = 0; p < layer.length; p++) {
        ys[p] = p === 0 ? desired[0] : Math.max(desired[p], ys[p - 1] + gap(layer[p - 1], layer[p]));
      }
      var shift = 0;
      for (p = 0; p < layer.length; p++) shift += desired[p] - ys[p];
      shift /= layer.length || 1;
      for (p = 0; p < layer.length; p++) V[layer[p]].y = ys[p] + shift;
    }
    layers.forEach(function (layer) {
      place(layer, layer.map(function () { return 0; }));
    });
    for (var pass = 0; pass < PLACE_PASSES; pass++) {
      var downwards = pass % 2 === 0;
      var neighbours = downwards ? up : down;
      for (var k = 0; k < layers.length; k++) {
        var layer = layers[downwards ? k : layers.length - 1 - k];
        place(layer, layer.map(function (v) {
          return mean(neighbours[v].map(function (u) { return V[u].y; }), V[v].y);
        }));
      }
    }
    var top = Infinity;
    var bottom = -Infinity;
    V.forEach(function (vx) {
      top = Math.min(top, vx.y - vx.h / 2);
      bottom = Math.max(bottom, vx.y + vx.h / 2);
    });
    if (!V.length) top = bottom = 0;
    V.forEach(function (vx) { vx.y += MARGIN - top; });

    // Edge geometry: right side of the upper end, through each invisible vertex's column, to the
    // left side of the lower end; reversed edges are then turned back to point at their reader.
    edges.forEach(function (e) {
      if (e.self) {
        var s = V[e.from];
        var t = s.y - s.h / 2;
        var r = s.x + s.w;
        e.d = "M" + (r - 18) + "," + t + " C" + (r - 18) + "," + (t - 20) + " " + (r + 24) + "," +
          s.y + " " + r + "," + s.y;
        return;
      }
      var points = [];
      e.chain.forEach(function (v, c) {
        var vx = V[v];
        if (c > 0) points.push([vx.x, vx.y]);
        if (c + 1 < e.chain.length) points.push([vx.dummy ? vx.x + colW[vx.layer] : vx.x + vx.w, vx.y]);
      });
      if (e.reversed) points.reverse();
      // A reversed edge bows downwards, so it does not hide a forward edge between the same
      // two nodes (a two-model cycle).
      var bow = e.reversed ? 16 : 0;
      var d = "M" + points[0][0] + "," + points[0][1];
      for (var p = 1; p < points.length; p++) {
        var a = points[p - 1];
        var b = points[p];
        var mid = (a[0] + b[0]) / 2;
        d += " C" + mid + "," + (a[1] + bow) + " " + mid + "," + (b[1] + bow) + " " + b[0] + "," + b[1];
      }
      e.d = d;
    });

    return {
      vertices: V.slice(0, n),
      edges: edges,
      nodes: nodes,
      crossings: fewest,
      width: Math.max(x - GAP_X + MARGIN, 2 * MARGIN),
      height: bottom - top + 2 * MARGIN
    };
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }

  function draw(svg, drawing) {
    var round = function (v) { return Math.round(v * 10) / 10; };
    svg.setAttribute("width", round(drawing.width));
    svg.setAttribute("height", round(drawing.height));
    svg.setAttribute("viewBox", "0 0 " + round(drawing.width) + " " + round(drawing.height));
    var defs = el("defs", {}, svg);
    [["arrow", "arrow"], ["arrow-cycle", "arrow cycle"]].forEach(function (m) {
      var marker = el("marker", {
        id: m[0], viewBox: "0 0 10 10", refX: "9", refY: "5",
        markerWidth: "7", markerHeight: "7", orient: "auto"
      }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", "class": m[1] }, marker);
    });
    var edgeLayer = el("g", { "class": "edges" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);
    var touching = Object.create(null);
    var cycles = 0;
    drawing.edges.forEach(function (e) {
      var from = drawing.nodes[e.from].id;
      var to = drawing.nodes[e.to].id;
      var cycle = e.reversed || e.self;
      var path = el("path", {
        "class": "edge", "data-from": from, "data-to": to, d: e.d,
        "marker-end": cycle ? "url(#arrow-cycle)" : "url(#arrow)"
      }, edgeLayer);
      if (cycle) {
        path.setAttribute("data-cycle", "true");
        cycles++;
      }
      (touching[from] = touching[from] || []).push(path);
      (touching[to] = touching[to] || []).push(path);
    });
    drawing.vertices.forEach(function (vx) {
      var node = vx.node;
      var g = el("g", {
        "class": "node", "data-id": node.id, "data-kind": node.kind,
        transform: "translate(" + round(vx.x) + "," + round(vx.y - vx.h / 2) + ")"
      }, nodeLayer);
      if (node.focus) g.setAttribute("data-focus", "true");
      var link = el("a", { href: node.href }, g);
      el("title", {}, link).textContent = node.id + " (" + node.kind + ")";
      el("rect", { width: vx.w, height: vx.h, rx: 5 }, link);
      el("text", { x: 10, y: vx.h / 2, "dominant-baseline": "central" }, link).textContent = label(node.id);
      g.addEventListener("mouseenter", function () {
        svg.setAttribute("data-hover", node.id);
        (touching[node.id] || []).forEach(function (p) { p.setAttribute("data-active", "true"); });
      });
      g.addEventListener("mouseleave", function () {
        svg.removeAttribute("data-hover");
        (touching[node.id] || []).forEach(function (p) { p.removeAttribute("data-active"); });
      });
    });
    svg.setAttribute("data-crossings", drawing.crossings);
    svg.setAttribute("data-cycle-edges", cycles);
    svg.setAttribute("data-layout", "done");
  }

  function showError(svg, message) {
    svg.setAttribute("data-layout", "error");
    var p = document.createElement("p");
    p.className = "warning";
    p.textContent = "The lineage graph could not be drawn: " + message;
    var frame = svg.parentNode;
    frame.parentNode.insertBefore(p, frame.nextSibling);
  }

  function drawLineage() {
    var svg = document.getElementById("lineage");
    var data = document.getElementById("lineage-data");
    if (!svg || !data) return;
    try {
      draw(svg, layout(JSON.parse(data.textContent)));
    } catch (err) {
      showError(svg, err && err.message ? err.message : String(err));
    }
  }

  // The overview's search: every space-separated term must occur in a model's id, path,
  // description, owner, tags or column names. Graph nodes that do not match are dimmed.
  function wireSearch() {
    var input = document.getElementById("search");
    if (!input) return;
    var items = Array.prototype.slice.call(document.querySelectorAll(".model-item"));
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.dataset"));
    var empty = document.getElementById("search-empty");
    function apply() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var matches = function (text) {
        return terms.every(function (t) { return text.indexOf(t) >= 0; });
      };
      var visible = 0;
      var shown = Object.create(null);
      items.forEach(function (item) {
        var ok = matches(item.getAttribute("data-search") || "");
        item.hidden = !ok;
        if (ok) {
          visible++;
          var a = item.querySelector("a");
          if (a) shown[a.textContent] = true;
        }
      });
      sections.forEach(function (s) {
        s.hidden = !s.querySelector(".model-item:not([hidden])");
      });
      if (empty) empty.hidden = visible > 0;
      document.querySelectorAll("#lineage .node").forEach(function (g) {
        var id = g.getAttribute("data-id");
        var dim = terms.length > 0 && !shown[id] && !matches(id.toLowerCase());
        if (dim) g.setAttribute("data-dim", "true");
        else g.removeAttribute("data-dim");
      });
    }
    input.addEventListener("input", apply);
    document.addEventListener("keydown", function (event) {
      if (event.key === "/" && document.activeElement !== input) {
        event.preventDefault();
        input.focus();
      }
    });
  }

  function start() {
    drawLineage();
    wireSearch();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
