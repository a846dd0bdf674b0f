/**
 * The HTML report's style sheet and script, as constants: the report inlines both and allows them in its
 * Content-Security-Policy by their SHA-256 hashes only (computed when the page is rendered), so nothing
 * else can run or style the page, even if a value from the input ever escaped its escaping.
 *
 * The script is progressive enhancement: without it (JavaScript off, or a viewer that blocks it) every
 * rendered finding is visible and the filter bar stays hidden. It reads only the page's own DOM, writes
 * only text (`textContent`) and the `hidden` attribute, never HTML, and makes no request.
 * Written as plain ES2017 text (no template literals), so the text hashed is exactly the text served.
 */

export const PAGE_STYLE = `
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fff;--muted:#5a5a60;--line:#d8d8de;--soft:#f3f3f6;--accent:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#ececf0;--bg:#16161a;--muted:#a8a8b3;--line:#3a3a42;--soft:#23232a;--accent:#8ab4f8}}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1.5rem 2rem 3rem;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem;margin:0 0 .3rem}
h2{font-size:1rem;margin:1.6rem 0 .5rem}
h2.group-title{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
h2.group-title .key{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere;min-width:0}
h2.group-title .n{font-weight:400;color:var(--muted);font-size:.85rem;white-space:nowrap}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.3rem .6rem;z-index:2}
.meta{color:var(--muted);margin:.2rem 0 1rem;overflow-wrap:anywhere}
ul.counts{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}
ul.counts li{display:flex;gap:.4rem;align-items:center}
.sev{display:inline-block;border-radius:3px;padding:0 .4rem;color:#fff;font-weight:600;text-transform:uppercase;font-size:.72rem;letter-spacing:.02em}
.sev.critical{background:#7b1fa2}.sev.high{background:#c62828}.sev.medium{background:#b45309}.sev.low{background:#0369a1}.sev.info{background:#616161}
#status{font-weight:600;margin:.6rem 0}
details.facets{margin:.6rem 0}
details.facets summary{cursor:pointer;color:var(--muted)}
.facets table{width:auto;max-width:100%;margin-top:.4rem}
.facets td.num,.facets th.num{text-align:right;white-space:nowrap}
ul.scanners{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;color:var(--muted)}
ul.scanners .name{font-weight:600;color:var(--fg)}
#filters{display:flex;flex-wrap:wrap;gap:.7rem 1.4rem;align-items:flex-end;padding:.8rem 1rem;margin:.8rem 0;background:var(--soft);border:1px solid var(--line);border-radius:6px;position:sticky;top:0;z-index:1}
#filters[hidden]{display:none}
#filters fieldset{border:0;margin:0;padding:0;min-width:0}
#filters legend{font-weight:600;padding:0;margin-bottom:.15rem}
#filters .checks{display:flex;flex-wrap:wrap;gap:.2rem .7rem;min-height:1.9rem;align-items:center}
#filters label.field{display:flex;flex-direction:column;gap:.15rem;font-weight:600}
#filters input[type=search]{width:13rem;max-width:100%}
#filters select{max-width:16rem}
#filters input,#filters select,#filters button{font:inherit;padding:.2rem .35rem;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:4px}
#filters input[type=checkbox]{padding:0}
#filters .check{display:flex;gap:.25rem;align-items:center;font-weight:400}
#filters button{cursor:pointer}
table{border-collapse:collapse;width:100%}
table.findings{table-layout:fixed}
td,th{border-bottom:1px solid var(--line);padding:.4rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{font-size:.8rem;color:var(--muted);font-weight:600}
col.c-sev{width:6.5rem}col.c-rule{width:15rem}col.c-loc{width:30%}
code,pre,.loc{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;unicode-bidi:isolate}
.loc .member{color:var(--accent)}
.group.file .loc .path{display:none}
.group.file .loc .path+.line .colon{display:none}
.group.file .loc .path+.line::before{content:"line ";font-family:system-ui,sans-serif;color:var(--muted)}
.group.file .loc.whole::after{content:"whole file";color:var(--muted);font-family:system-ui,sans-serif}
.title{font-weight:600;margin:0 0 .15rem}
.msg{margin:0}
pre.evidence{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.3rem .45rem;margin:.35rem 0;max-height:16rem;overflow:auto}
.fix{color:var(--muted);margin:.25rem 0 0}
.facts{color:var(--muted);font-size:.8rem;margin:.25rem 0 0}
.scanner{color:var(--muted);font-size:.8rem;display:block}
.more,.capped{color:var(--muted);font-style:italic}
.capped{border-left:3px solid var(--line);padding-left:.6rem}
.empty{font-size:1.1rem;margin:2rem 0}
[hidden]{display:none !important}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media print{#filters,.skip{display:none}}
`;

export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var doc = document;
  var root = doc.getElementById('findings');
  var bar = doc.getElementById('filters');
  if (!root || !bar) return;
  var SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var lower = function (s) { return (s || '').toLowerCase(); };
  var rows = [];
  var fileGroups = [];
  each(root.querySelectorAll('section.group'), function (section) {
    var body = section.querySelector('tbody');
    var key = section.querySelector('.key');
    var group = { section: section, body: body, key: key ? key.textContent : '', count: section.querySelector('.n'), total: 0 };
    fileGroups.push(group);
    each(body.querySelectorAll('tr.finding'), function (tr) {
      var loc = tr.querySelector('.loc');
      rows.push({ el: tr, home: body, file: group, group: group, sev: tr.getAttribute('data-severity') || '', scanner: tr.getAttribute('data-scanner') || '', rule: tr.getAttribute('data-rule') || '', loc: lower(loc ? loc.textContent : ''), text: lower(tr.textContent) });
      group.total += 1;
    });
  });
  var onPage = rows.length;
  var sevBoxes = bar.querySelectorAll('input[name=severity]');
  var scannerSelect = doc.getElementById('filter-scanner');
  var ruleSelect = doc.getElementById('filter-rule');
  var pathInput = doc.getElementById('filter-path');
  var textInput = doc.getElementById('filter-text');
  var groupSelect = doc.getElementById('group-by');
  var resetButton = doc.getElementById('filter-reset');
  var status = doc.getElementById('status');
  var noneMatch = doc.getElementById('none-match');
  var thead = root.querySelector('table.findings thead');
  var colgroup = root.querySelector('table.findings colgroup');
  var madeGroups = [];

  var terms = function (value) { return lower(value).split(/\\s+/).filter(function (t) { return t !== ''; }); };
  var state = function () {
    var sev = Object.create(null);
    each(sevBoxes, function (box) { sev[box.value] = box.checked; });
    return { sev: sev, scanner: scannerSelect.value, rule: ruleSelect.value, path: terms(pathInput.value), text: terms(textInput.value) };
  };
  var contains = function (hay, needles) {
    for (var i = 0; i < needles.length; i++) if (hay.indexOf(needles[i]) < 0) return false;
    return true;
  };
  var matches = function (r, s) {
    return s.sev[r.sev] !== false && (s.scanner === '' || r.scanner === s.scanner) && (s.rule === '' || r.rule === s.rule) && contains(r.loc, s.path) && contains(r.text, s.text);
  };
  var ratio = function (shown, total) { return shown === total ? String(total) : shown + ' of ' + total; };
  var plural = function (n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); };

  var showCount = function (el, shown) {
    var total = Number(el.getAttribute('data-total'));
    el.textContent = ratio(shown, total);
  };

  var apply = function () {
    var s = state();
    var shown = 0;
    var bySev = Object.create(null), byScanner = Object.create(null), byRule = Object.create(null);
    var groups = groupSelect.value === 'file' ? fileGroups : madeGroups;
    groups.forEach(function (g) { g.shown = 0; });
    rows.forEach(function (r) {
      var ok = matches(r, s);
      r.el.hidden = !ok;
      if (!ok) return;
      shown += 1;
      bySev[r.sev] = (bySev[r.sev] || 0) + 1;
      byScanner[r.scanner] = (byScanner[r.scanner] || 0) + 1;
      byRule[r.rule] = (byRule[r.rule] || 0) + 1;
      r.group.shown += 1;
    });
    groups.forEach(function (g) {
      g.section.hidden = g.shown === 0;
      if (g.count) g.count.textContent = g.shown === g.total ? plural(g.total, 'finding') : g.shown + ' of ' + plural(g.total, 'finding') + ' shown';
    });
    each(doc.querySelectorAll('[data-count]'), function (el) {
      var spec = el.getAttribute('data-count');
      var cut = spec.indexOf('|');
      var kind = spec.slice(0, cut);
      var table = kind === 'severity' ? bySev : kind === 'scanner' ? byScanner : byRule;
      var n = table[spec.slice(cut + 1)];
      showCount(el, typeof n === 'number' ? n : 0);
    });
    var all = Number(status.getAttribute('data-all')) || onPage;
    status.textContent = (shown === onPage ? 'Showing all ' + plural(onPage, 'finding') : 'Showing ' + shown + ' of ' + plural(onPage, 'finding')) + (all > onPage ? ' on this page (' + all + ' in all).' : '.');
    noneMatch.hidden = shown !== 0 || onPage === 0;
  };

  var makeGroup = function (label, index) {
    var section = doc.createElement('section');
    section.className = 'group';
    var h = doc.createElement('h2');
    h.className = 'group-title';
    h.id = 'made-group-' + index;
    var key = doc.createElement('code');
    key.className = 'key';
    key.textContent = label;
    var count = doc.createElement('span');
    count.className = 'n';
    h.appendChild(key);
    h.appendChild(count);
    var table = doc.createElement('table');
    table.className = 'findings';
    table.setAttribute('aria-labelledby', h.id);
    if (colgroup) table.appendChild(colgroup.cloneNode(true));
    if (thead) table.appendChild(thead.cloneNode(true));
    var body = doc.createElement('tbody');
    table.appendChild(body);
    section.appendChild(h);
    section.appendChild(table);
    return { section: section, body: body, key: label, count: count, total: 0 };
  };

  var regroup = function () {
    var by = groupSelect.value;
    madeGroups.forEach(function (g) { root.removeChild(g.section); });
    madeGroups = [];
    if (by === 'file') {
      fileGroups.forEach(function (g) { root.appendChild(g.section); });
      rows.forEach(function (r) { r.home.appendChild(r.el); r.group = r.file; });
      return;
    }
    fileGroups.forEach(function (g) { if (g.section.parentNode === root) root.removeChild(g.section); });
    var keyOf = function (r) { return by === 'rule' ? r.rule : by === 'scanner' ? r.scanner : r.sev; };
    var byKey = Object.create(null);
    var keys = [];
    rows.forEach(function (r) {
      var k = keyOf(r);
      if (!(k in byKey)) { byKey[k] = []; keys.push(k); }
      byKey[k].push(r);
    });
    if (by === 'severity') keys.sort(function (a, b) { return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b); });
    else keys.sort();
    keys.forEach(function (k, i) {
      var g = makeGroup(k, i);
      byKey[k].forEach(function (r) { g.body.appendChild(r.el); r.group = g; g.total += 1; });
      madeGroups.push(g);
      root.appendChild(g.section);
    });
  };

  var reset = function () {
    each(sevBoxes, function (box) { box.checked = true; });
    scannerSelect.value = '';
    ruleSelect.value = '';
    pathInput.value = '';
    textInput.value = '';
    apply();
  };

  each(sevBoxes, function (box) { box.addEventListener('change', apply); });
  scannerSelect.addEventListener('change', apply);
  ruleSelect.addEventListener('change', apply);
  pathInput.addEventListener('input', apply);
  textInput.addEventListener('input', apply);
  groupSelect.addEventListener('change', function () { regroup(); apply(); });
  resetButton.addEventListener('click', reset);
  bar.hidden = false;
  apply();
})();
`;
