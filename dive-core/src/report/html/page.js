// dive-rs HTML report: zoom into the treemap, a breadcrumb back out, search over the items
// the page holds. Inline in the page, allowed by its SHA-256 hash in the page's
// Content-Security-Policy. Names from the image reach the page only through textContent and
// setAttribute of fixed attribute names, never as markup.
'use strict';
(function () {
  const source = document.getElementById('data');
  const svg = document.getElementById('treemap');
  if (!source || !svg) {
    return;
  }
  const data = JSON.parse(source.textContent);
  const items = data.items;
  const W = data.width;
  const H = data.height;
  const HEADER = 15;
  const NS = 'http://www.w3.org/2000/svg';
  const tiles = document.getElementById('tiles');
  const crumbs = document.getElementById('crumbs');
  const parent = new Int32Array(items.length).fill(-1);
  items.forEach(function (item, i) {
    item.c.forEach(function (child) { parent[child] = i; });
  });

  // The squarified layout, as the page's static picture was computed (report/html/treemap.rs).
  function worst(row, side) {
    let sum = 0, min = Infinity, max = 0;
    for (const s of row) { sum += s; min = Math.min(min, s); max = Math.max(max, s); }
    if (sum <= 0 || min <= 0) { return Infinity; }
    const side2 = side * side, sum2 = sum * sum;
    return Math.max(side2 * max / sum2, sum2 / (side2 * min));
  }
  function squarify(sizes, area) {
    const total = sizes.reduce(function (a, b) { return a + b; }, 0);
    const out = [];
    if (total <= 0 || area.w <= 0 || area.h <= 0) {
      return sizes.map(function () { return { x: area.x, y: area.y, w: 0, h: 0 }; });
    }
    const scale = area.w * area.h / total;
    const scaled = sizes.map(function (s) { return s * scale; });
    const rest = { x: area.x, y: area.y, w: area.w, h: area.h };
    let start = 0;
    while (start < scaled.length) {
      const side = Math.min(rest.w, rest.h);
      let end = start + 1;
      let now = worst(scaled.slice(start, end), side);
      while (end < scaled.length) {
        const next = worst(scaled.slice(start, end + 1), side);
        if (next > now) { break; }
        now = next;
        end += 1;
      }
      const row = scaled.slice(start, end);
      const sum = row.reduce(function (a, b) { return a + b; }, 0);
      if (rest.w >= rest.h) {
        const width = rest.h > 0 ? sum / rest.h : 0;
        let y = rest.y;
        for (const s of row) {
          const h = width > 0 ? s / width : 0;
          out.push({ x: rest.x, y: y, w: width, h: h });
          y += h;
        }
        rest.x += width;
        rest.w = Math.max(rest.w - width, 0);
      } else {
        const height = rest.w > 0 ? sum / rest.w : 0;
        let x = rest.x;
        for (const s of row) {
          const w = height > 0 ? s / height : 0;
          out.push({ x: x, y: rest.y, w: w, h: height });
          x += w;
        }
        rest.y += height;
        rest.h = Math.max(rest.h - height, 0);
      }
      start = end;
    }
    return out;
  }
  function inner(item, r, top) {
    const header = top || r.h < 3 * HEADER || r.w < 60 ? 0 : HEADER;
    const pad = top ? 0 : 1;
    return { x: r.x + pad, y: r.y + header + pad, w: Math.max(r.w - 2 * pad, 0), h: Math.max(r.h - header - 2 * pad, 0) };
  }
  function cut(text, chars) {
    const all = Array.from(text);
    return all.length <= chars ? text : all.slice(0, Math.max(chars - 1, 0)).join('') + '\u2026';
  }
  function el(name, attrs) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) { node.setAttribute(key, attrs[key]); }
    return node;
  }
  function tile(i, r, hit) {
    const item = items[i];
    let cls = 'c' + (item.g % 12) + ' k-' + item.k;
    if (item.h) { cls += ' hid'; }
    if (item.w && !item.h && r.w >= 8 && r.h >= 8) { cls += ' waste'; }
    if (i === hit) { cls += ' hit'; }
    const g = el('g', { 'class': cls, 'data-i': String(i) });
    const box = { x: r.x.toFixed(1), y: r.y.toFixed(1), width: r.w.toFixed(1), height: r.h.toFixed(1) };
    g.appendChild(el('rect', box));
    if (item.h) {
      const hatch = el('rect', box);
      hatch.setAttribute('class', 'hatch');
      g.appendChild(hatch);
    }
    const title = el('title', {});
    title.textContent = item.t;
    g.appendChild(title);
    const leaf = item.c.length === 0;
    const fits = leaf ? r.w >= 40 && r.h >= 14 : r.w >= 60 && r.h >= 3 * HEADER;
    if (fits) {
      const chars = Math.max(Math.floor((r.w - 6) / 6.6), 1);
      const label = el('text', { x: (r.x + 3).toFixed(1), y: (r.y + 11.5).toFixed(1) });
      label.textContent = cut(item.n, chars);
      g.appendChild(label);
      if (leaf && r.h >= 28) {
        const size = el('text', { 'class': 'sz', x: (r.x + 3).toFixed(1), y: (r.y + 24).toFixed(1) });
        size.textContent = cut(item.s, chars);
        g.appendChild(size);
      }
    }
    return g;
  }
  function draw(root, hit) {
    const frag = document.createDocumentFragment();
    const stack = [[root, { x: 0, y: 0, w: W, h: H }, true]];
    while (stack.length > 0) {
      const [i, r, top] = stack.pop();
      if (r.w < 2 || r.h < 2) { continue; }
      const item = items[i];
      if (!top) { frag.appendChild(tile(i, r, hit)); }
      if (item.c.length === 0) { continue; }
      const rects = squarify(item.c.map(function (c) { return items[c].b; }), inner(item, r, top));
      for (let k = item.c.length - 1; k >= 0; k -= 1) {
        stack.push([item.c[k], rects[k], false]);
      }
    }
    tiles.replaceChildren(frag);
    showCrumbs(root);
  }
  function showCrumbs(root) {
    const chain = [];
    for (let i = root; i >= 0; i = parent[i]) { chain.unshift(i); }
    const buttons = chain.map(function (i) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = i === 0 ? 'image' : items[i].n;
      button.addEventListener('click', function () { zoomTo(i, -1); });
      return button;
    });
    crumbs.replaceChildren.apply(crumbs, buttons);
    crumbs.hidden = chain.length < 2;
  }
  // The zoomed item lives in the address (#i=12, #i=12&hit=40), so that the back button
  // zooms out and a link shows the same view.
  function zoomTo(i, hit) {
    const target = items[i].c.length > 0 ? i : Math.max(parent[i], 0);
    const hash = '#i=' + target + (hit >= 0 ? '&hit=' + hit : '');
    if (location.hash === hash) {
      draw(target, hit);
    } else {
      location.hash = hash;
    }
  }
  function fromAddress() {
    const found = /^#i=(\d+)(?:&hit=(\d+))?$/.exec(location.hash);
    if (found && Number(found[1]) < items.length) {
      draw(Number(found[1]), found[2] === undefined ? -1 : Number(found[2]));
    } else if (location.hash === '' || location.hash === '#') {
      draw(0, -1);
    }
  }
  window.addEventListener('hashchange', fromAddress);
  svg.addEventListener('click', function (event) {
    const g = event.target.closest('g[data-i]');
    if (g) { zoomTo(Number(g.getAttribute('data-i')), -1); }
  });
  if (location.hash.length > 1) {
    fromAddress();
  }

  const search = document.getElementById('search');
  const query = document.getElementById('q');
  const hits = document.getElementById('hits');
  if (search && query && hits) {
    search.hidden = false;
    function find() {
      const wanted = query.value.trim().toLowerCase();
      const found = [];
      if (wanted.length > 0) {
        for (let i = 1; i < items.length; i += 1) {
          const where = (items[i].p || items[i].n).toLowerCase();
          if (where.includes(wanted)) { found.push(i); }
        }
      }
      found.sort(function (a, b) { return items[b].b - items[a].b; });
      const rows = found.slice(0, 50).map(function (i) {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = (items[i].p || items[i].n) + ' \u2014 ' + items[i].s;
        button.addEventListener('click', function () { zoomTo(i, i); });
        li.appendChild(button);
        return li;
      });
      hits.replaceChildren.apply(hits, rows);
    }
    query.addEventListener('input', find);
    // A search given in the address (?q=libtorch) is run at once.
    const asked = new URLSearchParams(location.search).get('q');
    if (asked) {
      query.value = asked;
      find();
    }
  }
})();
