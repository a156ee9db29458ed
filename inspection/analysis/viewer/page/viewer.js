// kiln-heap serve's page: one script, every view drawn from /api/ by the URL.
'use strict';

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}
function num(n) { return Number(n).toLocaleString('en-US'); }
function signed(n) { return (n > 0 ? '+' : '') + num(n); }
async function api(path) {
  const r = await fetch(path);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}
function objLink(o) {
  const a = el('a', {href: '/object/' + o.id, class: 'obj', 'data-id': o.id}, o.class + '@' + o.id);
  return o.root ? el('span', {}, a, ' ', el('span', {class: 'muted'}, '[' + o.root + ']')) : a;
}
function classLink(id, name) { return el('a', {href: '/class/' + id, class: 'cls'}, name); }
function facts(pairs) {
  const dl = el('dl', {class: 'facts'});
  for (const [k, v, id] of pairs) dl.append(el('dt', {}, k), el('dd', {id}, v));
  return dl;
}
function table(headers, rows, attrs) {
  const t = el('table', attrs || {});
  t.append(el('thead', {}, el('tr', {}, ...headers.map(h => typeof h === 'string' ? el('th', {}, h) : h))));
  const body = el('tbody');
  for (const r of rows) body.append(r);
  t.append(body);
  return t;
}
function setSizes(text) { document.getElementById('sizes').textContent = text ? 'Sizes: ' + text : ''; }
function show(...nodes) { main.replaceChildren(...nodes); }

// --- overview ---
async function overview() {
  const o = await api('/api/overview');
  document.title = 'kiln-heap: ' + o.file;
  setSizes(o.sizes_text);
  const nodes = [el('h1', {}, 'Overview of ', el('span', {id: 'overview-file'}, o.file)),
    facts([
      ['Format', o.format + ', id size ' + o.id_size],
      ['Dumped', new Date(o.timestamp_ms).toISOString()],
      ['File bytes', num(o.file_bytes)],
      ['Classes', num(o.classes), 'overview-classes'],
      ['Objects', num(o.objects) + ' (instances ' + num(o.instances) + ', object arrays ' +
        num(o.object_arrays) + ', primitive arrays ' + num(o.primitive_arrays) + ')', 'overview-objects'],
      ['Shallow bytes', num(o.shallow_bytes), 'overview-shallow'],
      ['Native bytes', num(o.native_bytes), 'overview-native'],
      ['Reachable', num(o.reachable_objects) + ' objects, ' + num(o.reachable_bytes) + ' bytes', 'overview-reachable'],
      ['References', num(o.references) + ' (dangling ' + num(o.dangling_references) + ')'],
      ['Baseline', o.baseline || 'none'],
    ])];
  nodes.push(el('h2', {}, 'Roots by kind'));
  nodes.push(table(['kind', el('th', {class: 'num'}, 'count'), 'first objects'],
    o.roots.map(k => el('tr', {'data-kind': k.kind}, el('td', {}, k.kind), el('td', {class: 'num'}, num(k.count)),
      el('td', {}, ...k.first.flatMap(r => [objLink(r), ' ']), k.count > k.first.length ? '…' : ''))),
    {id: 'roots'}));
  nodes.push(el('h2', {}, 'Threads (', o.threads.length, ')'));
  nodes.push(el('ul', {id: 'overview-threads'}, ...o.threads.map(t =>
    el('li', {}, el('a', {href: '/threads#thread-' + t.serial}, '"' + t.name + '"'), ' ',
      el('span', {class: 'muted'}, t.frames + ' frames')))));
  const props = Object.entries(o.properties);
  nodes.push(el('h2', {}, 'System properties (', props.length, ')'));
  nodes.push(props.length ? table(['key', 'value'], props.map(([k, v]) =>
    el('tr', {'data-key': k}, el('td', {class: 'mono'}, k), el('td', {class: 'mono'}, v))), {id: 'properties'})
    : el('p', {class: 'muted', id: 'properties'}, 'The dump has no java.lang.System properties.'));
  show(...nodes);
}

// --- histogram ---
async function histogram() {
  const reachable = params.get('reachable') === '1';
  const sort = params.get('sort') || 'retained_bytes';
  const filter = params.get('filter') || '';
  const h = await api('/api/histogram' + (reachable ? '?reachable=1' : ''));
  setSizes(h.sizes_text);
  const hasDelta = 'baseline' in h;
  const cols = [['count', 'count'], ['self_bytes', 'self bytes'], ['native_bytes', 'native bytes'],
    ['retained_bytes', 'retained bytes']];
  if (hasDelta) cols.push(['count_delta', 'Δ count'], ['self_bytes_delta', 'Δ self bytes']);
  const rows = h.classes.filter(c => c.name.toLowerCase().includes(filter.toLowerCase()));
  const key = cols.some(c => c[0] === sort) ? sort : 'retained_bytes';
  rows.sort((a, b) => (b[key] - a[key]) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const go = (changes) => {
    const p = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) { if (v === '' || v === null) p.delete(k); else p.set(k, v); }
    location.search = p.toString();
  };
  const heads = [...cols.map(([k, label]) => el('th', {class: 'num' + (k === key ? ' sorted' : ''), 'data-sort': k,
    onclick: () => go({sort: k})}, label)), el('th', {}, 'class')];
  const total = {count: 0, self_bytes: 0, native_bytes: 0};
  for (const c of rows) { total.count += c.count; total.self_bytes += c.self_bytes; total.native_bytes += c.native_bytes; }
  const input = el('input', {id: 'filter', value: filter, placeholder: 'filter by name', size: 30});
  input.addEventListener('keydown', e => { if (e.key === 'Enter') go({filter: input.value}); });
  show(el('h1', {}, 'Class histogram (', reachable ? 'reachable objects' : 'all objects', ')'),
    el('p', {}, el('a', {href: '?' + new URLSearchParams({...Object.fromEntries(params), reachable: reachable ? '0' : '1'}),
      id: 'toggle-reachable'}, reachable ? 'show all objects' : 'show reachable objects only'), ' · ', input,
      ' ', el('button', {id: 'filter-go', onclick: () => go({filter: input.value})}, 'Filter'),
      hasDelta ? el('span', {}, ' · deltas against ', el('b', {}, h.baseline)) : ''),
    el('p', {class: 'muted', id: 'histogram-total'}, rows.length + ' classes, ' + num(total.count) + ' objects, ' +
      num(total.self_bytes) + ' self bytes, ' + num(total.native_bytes) + ' native bytes'),
    table(heads, rows.map(c => el('tr', {'data-class': c.name},
      ...cols.map(([k]) => el('td', {class: 'num ' + k + (k.endsWith('_delta') ? (c[k] > 0 ? ' delta-up' : c[k] < 0 ? ' delta-down' : '') : '')},
        k.endsWith('_delta') ? signed(c[k]) : num(c[k]))),
      el('td', {}, c.id !== undefined ? classLink(c.id, c.name) : el('span', {class: 'muted'}, c.name + ' (gone)')))),
    {id: 'histogram-table'}));
}

// --- class ---
async function classPage(id) {
  const offset = Number(params.get('offset') || 0);
  const c = await api('/api/class/' + id + '?offset=' + offset + '&limit=100');
  setSizes(c.instances.sizes === 'jvm' ? 'JVM shallow sizes' : "Perfetto's self_size");
  const pager = el('p', {class: 'pager'});
  if (offset > 0) pager.append(el('a', {href: '?offset=' + Math.max(0, offset - 100), id: 'prev'}, '← previous'));
  if (offset + 100 < c.instances.total) pager.append(el('a', {href: '?offset=' + (offset + 100), id: 'next'}, 'next →'));
  show(el('h1', {}, 'Class ', el('span', {id: 'class-name'}, c.name)),
    facts([['Kind', c.kind], ['Superclass', c.superclass ? classLink(c.superclass.id, c.superclass.name) : 'none'],
      ['Class object', c.class_object ? objLink(c.class_object) : 'none'],
      ['Instances', num(c.instances.total), 'class-count'], ['Retained bytes', num(c.retained_bytes), 'class-retained'],
      ['Instance size (CLASS_DUMP)', num(c.instance_size)]]),
    el('h2', {}, 'Instance fields'),
    table(['name', 'type', 'declared by'], c.fields.map(f => el('tr', {}, el('td', {class: 'mono'}, f.name),
      el('td', {}, f.type), el('td', {}, f.declared_by))), {id: 'class-fields'}),
    el('h2', {}, 'Static fields'),
    table(['name', 'type', 'value'], c.statics.map(s => el('tr', {'data-field': s.name}, el('td', {class: 'mono'}, s.name),
      el('td', {}, s.type), el('td', {}, s.value ? objLink(s.value) : s.type === 'object' ? 'null' : el('span', {class: 'muted'}, '(not kept)')))),
    {id: 'class-statics'}),
    el('h2', {}, 'Instances by retained size (', num(offset), '–', num(Math.min(offset + 100, c.instances.total)), ' of ', num(c.instances.total), ')'),
    table(['object', el('th', {class: 'num'}, 'self'), el('th', {class: 'num'}, 'native'), el('th', {class: 'num'}, 'retained'), 'value'],
      c.instances.items.map(o => el('tr', {}, el('td', {}, objLink(o)), el('td', {class: 'num'}, num(o.self_bytes)),
        el('td', {class: 'num'}, num(o.native_bytes)), el('td', {class: 'num'}, num(o.retained_bytes)),
        el('td', {class: 'mono'}, o.string !== undefined ? JSON.stringify(o.string) : ''))),
      {id: 'instances'}),
    pager);
}

// --- object ---
async function objectPage(id) {
  const roffset = Number(params.get('roffset') || 0);
  const [o, refs] = await Promise.all([api('/api/object/' + id),
    api('/api/object/' + id + '/referrers?offset=' + roffset + '&limit=100')]);
  setSizes(o.sizes_text);
  const nodes = [el('h1', {}, el('span', {id: 'object-title'}, o.class + '@' + o.id)),
    facts([['Class', classLink(o.class_id, o.class), 'object-class'], ['Id', o.id, 'object-id'],
      ['Self bytes', num(o.self_bytes), 'self-bytes'], ['Native bytes', num(o.native_bytes), 'native-bytes'],
      ['Retained bytes', num(o.retained_bytes), 'retained-bytes'],
      ['Reachable', o.reachable ? 'yes, root distance ' + o.root_distance : 'no', 'reachable'],
      ['Root', o.root || 'no']])];
  if (o.string !== undefined) nodes.push(el('h2', {}, 'String value'), el('pre', {id: 'string-value'}, o.string));
  if (o.fields) {
    nodes.push(el('h2', {}, 'Fields'), table(['name', 'type', 'value', 'declared by'], o.fields.map(f =>
      el('tr', {'data-field': f.name}, el('td', {class: 'mono'}, f.name), el('td', {}, f.type),
        el('td', {class: 'value mono'}, f.ref ? objLink(f.ref) : f.value,
          f.string !== undefined ? el('span', {class: 'muted'}, ' ' + JSON.stringify(f.string)) : ''),
        el('td', {class: 'muted'}, f.declared_by))), {id: 'fields'}));
  }
  if (o.array) {
    nodes.push(el('h2', {}, o.array.element_type, '[', num(o.array.length), ']'),
      el('pre', {id: 'array-values'}, o.array.values.join(', ') + (o.array.length > o.array.values.length ? ', …' : '')));
  }
  nodes.push(el('h2', {}, 'References (', num(o.references.total), ')'),
    table(['field', 'object'], o.references.items.map(r => el('tr', {}, el('td', {class: 'mono'}, r.field),
      el('td', {}, objLink(r)))), {id: 'references'}));
  const pager = el('p', {class: 'pager'});
  if (roffset + 100 < refs.total) pager.append(el('a', {href: '?roffset=' + (roffset + 100)}, 'more referrers →'));
  nodes.push(el('h2', {}, 'Referrers (', el('span', {id: 'referrer-count'}, num(refs.total)), ')'),
    table(['object', 'field'], refs.referrers.map(r => el('tr', {}, el('td', {}, objLink(r)),
      el('td', {class: 'mono'}, r.field || ''))), {id: 'referrers'}), pager);
  nodes.push(el('h2', {}, 'Shortest path from a root'),
    o.path.length ? el('ol', {id: 'path'}, ...o.path.map(s => el('li', {}, s.field ? el('span', {class: 'mono muted'}, '.' + s.field + ' → ') : '', objLink(s))))
      : el('p', {id: 'path', class: 'muted'}, 'unreachable: no path from a root'));
  nodes.push(el('h2', {}, 'Dominator chain'),
    o.dominators.length ? el('ol', {id: 'dominator-chain'}, ...o.dominators.map(d => el('li', {}, objLink(d), ' ',
      el('span', {class: 'muted'}, 'retains ' + num(d.retained_bytes)))))
      : el('p', {id: 'dominator-chain', class: 'muted'}, o.reachable ? 'dominated by the roots only' : 'unreachable'));
  show(...nodes);
}

// --- dominator tree ---
function domItem(c) {
  const li = el('li', {'data-id': c.id});
  const toggle = el('span', {class: 'toggle'}, c.children ? '▸' : '·');
  li.append(toggle, objLink(c), ' ', el('span', {class: 'num retained'}, num(c.retained_bytes)),
    el('span', {class: 'muted'}, ' retained, self ' + num(c.self_bytes) + (c.children ? ', ' + num(c.children) + ' dominated' : '')));
  if (c.children) {
    toggle.addEventListener('click', async () => {
      const open = li.querySelector(':scope > ul');
      if (open) { open.remove(); toggle.textContent = '▸'; return; }
      const d = await api('/api/dominators?parent=' + c.id + '&limit=100');
      const ul = el('ul', {class: 'tree'}, ...d.children.map(domItem));
      if (d.total > d.children.length) ul.append(el('li', {class: 'muted'}, '… ' + num(d.total - d.children.length) + ' more'));
      li.append(ul);
      toggle.textContent = '▾';
    });
  }
  return li;
}
async function dominatorsPage() {
  const d = await api('/api/dominators?limit=200');
  setSizes("retained bytes by Perfetto's self_size (MAT's retained heap, no native)");
  const ul = el('ul', {class: 'tree', id: 'domtree'}, ...d.children.map(domItem));
  if (d.total > d.children.length) ul.append(el('li', {class: 'muted'}, '… ' + num(d.total - d.children.length) + ' more'));
  show(el('h1', {}, 'Dominator tree'), el('p', {}, 'All reachable objects retain ', el('b', {id: 'total-retained'}, num(d.total_retained)),
    ' bytes. Click ▸ to expand.'), ul);
}

// --- flamegraph ---
async function flamegraphPage() {
  const f = await api('/api/flamegraph');
  setSizes("Perfetto's self_size; [native] frames are native bytes");
  const nodes = f.nodes;
  const children = nodes.map(() => []);
  const tops = [];
  for (const n of nodes) (n.parent === null ? tops : children[n.parent]).push(n.id);
  let focus = params.has('focus') ? Number(params.get('focus')) : -1;
  if (!(focus >= 0 && focus < nodes.length)) focus = -1;
  const search = el('input', {id: 'flame-search', placeholder: 'search (highlights matches)', size: 30, value: params.get('search') || ''});
  const info = el('span', {id: 'flame-info', class: 'muted'});
  const box = el('div', {id: 'flame'});
  const tip = document.getElementById('tip');
  const rowH = 18;
  function render() {
    box.replaceChildren();
    const q = search.value.trim().toLowerCase();
    let matches = 0, matchedBytes = 0;
    const ancestors = [];
    for (let a = focus >= 0 ? nodes[focus].parent : null; a !== null && a !== undefined; a = nodes[a].parent) ancestors.unshift(a);
    const total = focus >= 0 ? nodes[focus].cumulative_size : f.total_size;
    const base = ancestors.length;
    let maxDepth = base;
    const add = (n, x, w, depth, cls) => {
      const d = el('div', {class: 'frame' + (n.name.startsWith('[native]') ? ' native' : '') + (cls ? ' ' + cls : ''), 'data-node': n.id, 'data-name': n.name});
      d.style.left = (x * 100) + '%'; d.style.width = (w * 100) + '%'; d.style.top = (depth * rowH) + 'px';
      d.textContent = n.name;
      if (q && n.name.toLowerCase().includes(q)) { d.classList.add('match'); }
      d.addEventListener('click', () => { focus = n.id === focus ? (n.parent === null ? -1 : n.parent) : n.id; update(); });
      d.addEventListener('mousemove', e => {
        tip.hidden = false; tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px';
        tip.textContent = n.name + '\ncumulative ' + num(n.cumulative_size) + ' bytes, ' + num(n.cumulative_count) + ' objects' +
          '\nself ' + num(n.self_size) + ' bytes, ' + num(n.self_count) + ' objects' +
          '\n' + (total ? (100 * n.cumulative_size / total).toFixed(1) : '0') + '% of the view';
      });
      d.addEventListener('mouseleave', () => { tip.hidden = true; });
      box.append(d);
      maxDepth = Math.max(maxDepth, depth);
    };
    ancestors.forEach((a, i) => add(nodes[a], 0, 1, i, 'ancestor'));
    const lay = (ids, x, depth) => {
      for (const id of ids) {
        const n = nodes[id];
        const w = total ? n.cumulative_size / total : 0;
        if (q && n.name.toLowerCase().includes(q)) { matches++; matchedBytes += n.self_size; }
        if (w >= 0.0005) { add(n, x, w, depth); lay(children[id], x, depth + 1); }
        else countMatches(children[id]);
        x += w;
      }
    };
    const countMatches = ids => { for (const id of ids) { const n = nodes[id]; if (q && n.name.toLowerCase().includes(q)) { matches++; matchedBytes += n.self_size; } countMatches(children[id]); } };
    lay(focus >= 0 ? [focus] : tops, 0, base);
    box.style.height = ((maxDepth + 1) * rowH + 2) + 'px';
    info.textContent = (focus >= 0 ? 'zoomed into ' + nodes[focus].name + ' (' + num(nodes[focus].cumulative_size) + ' bytes) · ' : 'all roots, ' + num(f.total_size) + ' bytes · ') +
      (q ? matches + ' matching frames, ' + num(matchedBytes) + ' self bytes' : nodes.length + ' frames');
    box.dataset.focus = focus;
  }
  function update() {
    const p = new URLSearchParams(location.search);
    if (focus >= 0) p.set('focus', focus); else p.delete('focus');
    if (search.value) p.set('search', search.value); else p.delete('search');
    history.replaceState(null, '', '/flamegraph' + (p.toString() ? '?' + p : ''));
    render();
  }
  search.addEventListener('input', update);
  show(el('h1', {}, 'Retention flamegraph'),
    el('p', {}, search, ' ', el('button', {id: 'flame-reset', onclick: () => { focus = -1; update(); }}, 'Reset zoom'), ' ', info),
    el('p', {class: 'muted'}, 'Each object on its shortest path from a root, merged by class; width is cumulative bytes. Click a frame to zoom in, click it again to zoom out.'),
    box);
  render();
}

// --- threads ---
async function threadsPage() {
  const t = await api('/api/threads');
  setSizes('');
  const nodes = [el('h1', {}, 'Threads (', t.threads.length, ')')];
  for (const th of t.threads) {
    const pre = el('pre', {class: 'thread', id: 'thread-' + th.serial}, th.header, '\n');
    for (const f of th.frames) {
      pre.append('\t' + f.text + '\n');
      for (const l of f.locals) pre.append('\t\t- local ', objLink(l), '\n');
    }
    if (th.object) pre.append('\tthread object ', objLink(th.object), '\n');
    nodes.push(pre);
  }
  show(...nodes);
}

// --- SQL ---
async function sqlPage() {
  setSizes("Perfetto's self_size (the SQL tables' only convention)");
  const q = params.get('q') || 'select c.name, sum(o.self_size)\nfrom heap_graph_object o join heap_graph_class c on (o.type_id = c.id)\nwhere reachable = 1 group by 1 order by 2 desc;';
  const area = el('textarea', {id: 'sql', rows: 8}, q);
  const out = el('div', {id: 'sql-result'});
  const run = () => { location.search = '?q=' + encodeURIComponent(area.value); };
  show(el('h1', {}, 'SQL'), el('p', {class: 'muted'}, 'Read-only; tables heap_graph_class, heap_graph_object, heap_graph_reference and experimental_flamegraph(...), as in Perfetto.'),
    area, el('p', {}, el('button', {id: 'sql-run', onclick: run}, 'Run')), out);
  if (!params.has('q')) return;
  try {
    const r = await api('/api/sql?q=' + encodeURIComponent(q));
    out.append(el('p', {class: 'muted'}, r.rows.length + ' rows' + (r.truncated ? ' (cut at ' + r.row_cap + ')' : '')),
      table(r.columns, r.rows.map(row => el('tr', {}, ...row.map(v => el('td', {class: 'mono'}, v === null ? 'NULL' : v))))));
  } catch (e) { out.append(el('p', {class: 'error'}, e.message)); }
}

async function route() {
  const path = location.pathname;
  api('/api/overview').then(o => { document.getElementById('file').textContent = o.file; }).catch(() => {});
  let m;
  if (path === '/') return overview();
  if (path === '/histogram') return histogram();
  if ((m = path.match(/^\/class\/(\d+)$/))) return classPage(m[1]);
  if ((m = path.match(/^\/object\/([0-9a-fA-Fx]+)$/))) return objectPage(m[1]);
  if (path === '/dominators') return dominatorsPage();
  if (path === '/flamegraph') return flamegraphPage();
  if (path === '/threads') return threadsPage();
  if (path === '/sql') return sqlPage();
  show(el('p', {class: 'error'}, 'No such page.'));
}
route().then(() => { document.body.dataset.ready = '1'; })
  .catch(e => { show(el('p', {class: 'error', id: 'error'}, e.message)); document.body.dataset.ready = '1'; });
