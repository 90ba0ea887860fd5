(function () {
  'use strict';
  var errors = document.getElementById('cv-errors');
  function fail(text) {
    errors.hidden = false;
    errors.textContent += text + '\n';
  }
  window.addEventListener('error', function (e) { fail('error: ' + (e.message || e)); });
  window.addEventListener('unhandledrejection', function (e) { fail('rejection: ' + e.reason); });

  var main = document.querySelector('main');
  var summary = document.getElementById('summary');
  // The summary is written when the run ends, last; it belongs first.
  if (summary && main) { main.insertBefore(summary, main.firstElementChild); }

  var body = document.getElementById('rows');
  var rows = body ? Array.prototype.slice.call(body.rows) : [];
  var form = document.getElementById('filters');
  var shown = document.getElementById('shown');
  var keys = ['effect', 'rule', 'vendor', 'file'];
  var selects = {};
  keys.forEach(function (key) {
    var select = document.getElementById('f-' + key);
    selects[key] = select;
    var seen = {};
    rows.forEach(function (row) { seen[row.dataset[key]] = (seen[row.dataset[key]] || 0) + 1; });
    Object.keys(seen).sort().forEach(function (value) {
      var option = document.createElement('option');
      option.value = value;
      option.textContent = value + ' (' + seen[value] + ')';
      select.appendChild(option);
    });
  });
  var text = document.getElementById('f-q');
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function current() {
    var wanted = {};
    keys.forEach(function (key) { if (selects[key].value) { wanted[key] = selects[key].value; } });
    if (text.value) { wanted.q = text.value; }
    return wanted;
  }

  function apply(wanted) {
    var q = (wanted.q || '').toLowerCase();
    var count = 0;
    rows.forEach(function (row, i) {
      var ok = keys.every(function (key) { return !wanted[key] || row.dataset[key] === wanted[key]; });
      ok = ok && (!q || texts[i].indexOf(q) >= 0);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = 'Showing ' + count + ' of ' + rows.length + ' findings in the table';
    document.body.dataset.shown = String(count);
  }

  function fromFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    var wanted = {};
    keys.concat(['q']).forEach(function (key) {
      var value = params.get(key);
      if (value) { wanted[key] = value; }
    });
    keys.forEach(function (key) {
      var select = selects[key];
      if (wanted[key] && !Array.prototype.some.call(select.options, function (o) { return o.value === wanted[key]; })) {
        var option = document.createElement('option');
        option.value = wanted[key];
        option.textContent = wanted[key] + ' (0)';
        select.appendChild(option);
      }
      select.value = wanted[key] || '';
    });
    text.value = wanted.q || '';
    return wanted;
  }

  function toFragment(wanted) {
    var params = new URLSearchParams();
    Object.keys(wanted).forEach(function (key) { params.set(key, wanted[key]); });
    var hash = params.toString();
    history.replaceState(null, '', hash ? '#' + hash : window.location.pathname + window.location.search);
  }

  function changed() {
    var wanted = current();
    toFragment(wanted);
    apply(wanted);
  }

  if (form) {
    form.hidden = false;
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    keys.forEach(function (key) { selects[key].addEventListener('change', changed); });
    text.addEventListener('input', changed);
    document.getElementById('f-clear').addEventListener('click', function () {
      keys.forEach(function (key) { selects[key].value = ''; });
      text.value = '';
      changed();
    });
    window.addEventListener('hashchange', function () { apply(fromFragment()); });
    apply(fromFragment());
  }

  // Sorting: a button in each column header; the second press reverses.
  var headers = document.querySelectorAll('#findings thead th[data-sort]');
  Array.prototype.forEach.call(headers, function (th) {
    var button = th.querySelector('button');
    button.addEventListener('click', function () {
      var key = th.dataset.sort;
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(headers, function (other) { other.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var numeric = key === 'i';
      var sorted = rows.slice().sort(function (a, b) {
        var x = a.dataset[key] || '';
        var y = b.dataset[key] || '';
        var order = numeric ? Number(x) - Number(y) : x.localeCompare(y) || Number(a.dataset.i) - Number(b.dataset.i);
        return ascending ? order : -order;
      });
      var fragment = document.createDocumentFragment();
      sorted.forEach(function (row) { fragment.appendChild(row); });
      body.appendChild(fragment);
    });
  });

  // A finding's rule source is written once, in the rules section; shown when it is expanded.
  document.addEventListener('toggle', function (e) {
    var details = e.target;
    if (!details.open || !details.dataset || details.dataset.ruleIndex === undefined) { return; }
    var slot = details.querySelector('.rule-src');
    var source = document.getElementById('rule-src-' + details.dataset.ruleIndex);
    if (slot && source && !slot.firstChild) { slot.appendChild(source.cloneNode(true)).removeAttribute('id'); }
  }, true);

  document.body.dataset.ready = '1';
}());
