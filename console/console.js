// Hangar's web console: browses buckets and frames, pages through rows, runs SQL with a chart, and
// uploads CSV/Parquet by drag and drop, all through the REST API under /api/v1 (no build step).
// Every value from the server is put in the page as text (textContent), never as HTML.

const API = '/api/v1';
const PAGE_ROWS = 100;
const SQL_GRID_ROWS = 10000;
const $ = (id) => document.getElementById(id);

const state = { bucket: '', frame: undefined, page: 0, sqlText: '' };

/** Calls the API; resolves to the Response, throws an Error carrying the problem's detail. */
async function api(path, init = {}) {
  const response = await fetch(`${API}${path}`, { credentials: 'same-origin', ...init });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = `${problem.title}: ${problem.detail}`;
    } catch {}
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response;
}

const json = async (path, init) => (await api(path, init)).json();
const postJson = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;
const framePath = (name) => `/buckets/${encodeURIComponent(state.bucket)}/frames/${encodeURIComponent(name)}`;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** Fills a table from column names and row objects. */
function fillTable(table, columns, rows, extra) {
  table.replaceChildren();
  const head = element('tr');
  for (const column of columns) head.append(element('th', column));
  if (extra) head.append(element('th', ''));
  table.append(head);
  for (const row of rows) {
    const tr = element('tr');
    for (const column of columns) {
      const value = row[column];
      tr.append(element('td', value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value)));
    }
    if (extra) {
      const td = element('td');
      const control = extra(row);
      if (control) td.append(control);
      tr.append(td);
    }
    table.append(tr);
  }
}

// ---- session ------------------------------------------------------------------------------

async function start() {
  try {
    const session = await json('/session');
    showApp(session);
  } catch (error) {
    if (error.status === 401) return showLogin();
    showLogin(error.message);
  }
}

function showLogin(message = '') {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
}

async function showApp(session) {
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').textContent = session.authentication ? `${session.subject} (${session.scopes})` : 'no authentication';
  $('logout').hidden = !session.authentication;
  await loadBuckets();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const token = form.get('token').trim();
  const body = token ? { token } : { user: form.get('user'), password: form.get('password') };
  try {
    showApp(await (await postJson('/login', body)).json());
  } catch (error) {
    $('login-error').textContent = error.message;
  }
});

$('logout').addEventListener('click', async () => {
  await postJson('/logout', {});
  showLogin();
});

// ---- browsing -----------------------------------------------------------------------------

async function loadBuckets() {
  const { buckets } = await json('/buckets');
  const select = $('bucket');
  select.replaceChildren(...buckets.map((bucket) => element('option', bucket)));
  if (!buckets.includes(state.bucket)) state.bucket = buckets[0] ?? 'default';
  if (buckets.length === 0) select.append(element('option', 'default'));
  select.value = state.bucket;
  await loadFrames();
}

$('bucket').addEventListener('change', async (event) => {
  state.bucket = event.target.value;
  state.frame = undefined;
  $('frame').hidden = true;
  $('frame-empty').hidden = false;
  await loadFrames();
});

let searchTimer;
$('frame-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadFrames, 200);
});

async function loadFrames() {
  const regex = $('frame-search').value.trim();
  const list = $('frames');
  try {
    const { frames } = await json(`/buckets/${encodeURIComponent(state.bucket)}/frames${regex ? `?regex=${encodeURIComponent(regex)}` : ''}`);
    list.replaceChildren(
      ...frames.map((frame) => {
        const item = element('li');
        item.dataset.name = frame.name;
        item.append(element('span', frame.name), element('small', `${frame.rows.toLocaleString()} rows`));
        item.classList.toggle('selected', frame.name === state.frame?.name);
        item.addEventListener('click', () => openFrame(frame.name));
        return item;
      }),
    );
  } catch (error) {
    list.replaceChildren(element('li', error.message, 'error'));
  }
}

async function openFrame(name) {
  const frame = await json(framePath(name));
  state.frame = frame;
  state.page = 0;
  for (const item of $('frames').children) item.classList.toggle('selected', item.dataset.name === name);
  $('frame-empty').hidden = true;
  $('frame').hidden = false;
  $('frame-title').textContent = `${frame.bucket} / ${frame.name}`;
  $('frame-summary').textContent = `version ${frame.version}, committed ${frame.committed_at} — ${frame.rows.toLocaleString()} rows, ${frame.bytes.toLocaleString()} bytes`;
  fillTable($('schema'), ['name', 'type', 'nullable'], frame.schema);
  $('metadata').textContent = JSON.stringify(frame.metadata, null, 2);
  await Promise.all([loadVersions(), loadPage()]);
}

async function loadVersions() {
  const { versions } = await json(`${framePath(state.frame.name)}/versions`);
  const current = state.frame.version;
  fillTable($('versions'), ['version', 'committed_at', 'operation', 'rows', 'bytes', 'deleted'], versions.slice().reverse(), (row) => {
    if (row.version === current || row.deleted) return undefined;
    const button = element('button', `Restore v${row.version}`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      await postJson(`${framePath(state.frame.name)}/restore`, { version: row.version });
      await openFrame(state.frame.name);
      await loadFrames();
    });
    return button;
  });
}

/** One page of rows, paged on the server by SQL (LIMIT/OFFSET): a 10M-row frame is never downloaded. */
async function loadPage() {
  const { name, rows } = state.frame;
  const offset = state.page * PAGE_ROWS;
  const sql = `SELECT * FROM ${quoteIdent(name)} LIMIT ${PAGE_ROWS} OFFSET ${offset}`;
  const result = await (await postJson('/sql', { sql, bucket: state.bucket, format: 'json' })).json();
  fillTable($('preview'), state.frame.schema.map((field) => field.name), result);
  $('page-info').textContent = rows === 0 ? 'no rows' : `rows ${(offset + 1).toLocaleString()}–${(offset + result.length).toLocaleString()} of ${rows.toLocaleString()}`;
  $('page-prev').disabled = state.page === 0;
  $('page-next').disabled = offset + PAGE_ROWS >= rows;
}

$('page-prev').addEventListener('click', () => {
  state.page = Math.max(0, state.page - 1);
  loadPage();
});
$('page-next').addEventListener('click', () => {
  state.page += 1;
  loadPage();
});

// ---- tabs ---------------------------------------------------------------------------------

function showTab(name) {
  $('browse').hidden = name !== 'browse';
  $('sql').hidden = name !== 'sql';
  $('nav-browse').classList.toggle('active', name === 'browse');
  $('nav-sql').classList.toggle('active', name === 'sql');
}
$('nav-browse').addEventListener('click', () => showTab('browse'));
$('nav-sql').addEventListener('click', () => {
  showTab('sql');
  if (!$('sql-text').value && state.frame) {
    $('sql-text').value = `SELECT * FROM ${quoteIdent(state.frame.name)} LIMIT 100`;
    highlight();
  }
  $('sql-text').focus();
});

// ---- SQL ----------------------------------------------------------------------------------

const KEYWORDS = new Set(
  'select from where group by order limit offset as and or not null is in join left right inner outer on with having distinct case when then else end asc desc union all between like count sum avg min max cast interval date timestamp true false over partition'.split(' '),
);

/** Colours the SQL text in the layer under the (transparent) textarea. */
function highlight() {
  const text = $('sql-text').value;
  const out = $('sql-highlight');
  out.replaceChildren();
  const pattern = /(--[^\n]*)|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z_0-9]*)|(\s+|.)/g;
  for (const match of text.matchAll(pattern)) {
    const [token, comment, string, , number, word] = match;
    const kind = comment ? 'comment' : string ? 'string' : number ? 'number' : word && KEYWORDS.has(word.toLowerCase()) ? 'keyword' : undefined;
    out.append(kind ? element('span', token, `tok-${kind}`) : document.createTextNode(token));
  }
  out.append(document.createTextNode('\n'));
  out.scrollTop = $('sql-text').scrollTop;
}
$('sql-text').addEventListener('input', highlight);
$('sql-text').addEventListener('scroll', () => ($('sql-highlight').scrollTop = $('sql-text').scrollTop));
$('sql-text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    runSql();
  }
});
$('sql-run').addEventListener('click', () => runSql());

const userSql = () => $('sql-text').value.trim().replace(/;\s*$/, '');

async function runSql() {
  const sql = userSql();
  if (!sql) return;
  $('sql-error').textContent = '';
  $('sql-status').textContent = 'running…';
  const started = performance.now();
  // The grid shows at most SQL_GRID_ROWS rows: a query is wrapped so the server stops there.
  const bounded = /^(select|with|from)\b/i.test(sql) ? `SELECT * FROM (\n${sql}\n) AS result LIMIT ${SQL_GRID_ROWS}` : sql;
  try {
    const rows = await (await postJson('/sql', { sql: bounded, bucket: state.bucket, format: 'json' })).json();
    const columns = rows.length > 0 ? Object.keys(rows[0]) : [];
    fillTable($('sql-result'), columns, rows);
    drawChart(columns, rows);
    $('sql-status').textContent = `${rows.length.toLocaleString()} rows in ${Math.round(performance.now() - started)} ms${rows.length === SQL_GRID_ROWS ? ' (first rows only)' : ''}`;
  } catch (error) {
    $('sql-status').textContent = '';
    $('sql-error').textContent = error.message;
  }
}

async function download(format) {
  const sql = userSql();
  if (!sql) return;
  try {
    const response = await postJson('/sql', { sql, bucket: state.bucket, format });
    const link = element('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = `query.${format}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    $('sql-error').textContent = error.message;
  }
}
$('sql-csv').addEventListener('click', () => download('csv'));
$('sql-parquet').addEventListener('click', () => download('parquet'));

const TIME_TEXT = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$/;
let chart;

/** Seconds since the epoch of a time value as the JSON format writes it (naive times as UTC). */
function epochSeconds(value) {
  if (typeof value !== 'string' || !TIME_TEXT.test(value)) return NaN;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(value) || value.length === 10;
  return Date.parse(zoned ? value : `${value.replace(' ', 'T')}Z`) / 1000;
}

/** A line chart of the first time column against every numeric column, when the result has both. */
function drawChart(columns, rows) {
  chart?.destroy();
  chart = undefined;
  $('chart').replaceChildren();
  if (rows.length < 2 || typeof uPlot === 'undefined') return;
  const time = columns.find((column) => rows.every((row) => row[column] === null || !Number.isNaN(epochSeconds(row[column]))) && rows.some((row) => row[column] !== null));
  const numeric = columns.filter((column) => column !== time && rows.some((row) => typeof row[column] === 'number') && rows.every((row) => row[column] === null || typeof row[column] === 'number'));
  if (!time || numeric.length === 0) return;
  const ordered = rows.filter((row) => row[time] !== null).sort((a, b) => epochSeconds(a[time]) - epochSeconds(b[time]));
  const colours = ['#2456c7', '#c74624', '#1f7a3a', '#8a2bb2', '#b35c00', '#0e7490'];
  const data = [ordered.map((row) => epochSeconds(row[time])), ...numeric.map((column) => ordered.map((row) => row[column]))];
  chart = new uPlot(
    {
      width: Math.max(400, $('chart').clientWidth || 800),
      height: 280,
      series: [{ label: time }, ...numeric.map((column, i) => ({ label: column, stroke: colours[i % colours.length], width: 1.5 }))],
      axes: [{}, {}],
    },
    data,
    $('chart'),
  );
}

// ---- upload -------------------------------------------------------------------------------

const zone = $('dropzone');
zone.addEventListener('dragover', (event) => {
  event.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  zone.classList.remove('over');
  const file = event.dataTransfer?.files?.[0];
  if (file) upload(file);
});
$('file-input').addEventListener('change', (event) => {
  const file = event.target.files?.[0];
  if (file) upload(file);
});

/** Stores a file as a frame named after it, with a progress bar (XMLHttpRequest reports upload progress). */
function upload(file) {
  const parquet = /\.(parquet|pq)$/i.test(file.name);
  const name = file.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]/g, '_') || 'upload';
  const progress = $('upload-progress');
  const status = $('upload-status');
  progress.hidden = false;
  progress.value = 0;
  status.textContent = `uploading ${file.name}…`;
  const request = new XMLHttpRequest();
  request.open('PUT', `${API}${framePath(name)}?mode=replace`);
  request.setRequestHeader('content-type', parquet ? 'application/vnd.apache.parquet' : 'text/csv');
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) progress.value = event.loaded / event.total;
  };
  request.onload = async () => {
    progress.value = 1;
    if (request.status === 200) {
      const summary = JSON.parse(request.responseText);
      status.textContent = `stored ${summary.rowsWritten.toLocaleString()} rows as '${name}' (version ${summary.version})`;
      await loadFrames();
      await openFrame(name);
    } else {
      let detail = request.statusText;
      try {
        const problem = JSON.parse(request.responseText);
        detail = `${problem.title}: ${problem.detail}`;
      } catch {}
      status.textContent = `upload failed — ${detail}`;
    }
  };
  request.onerror = () => (status.textContent = 'upload failed: the connection was lost');
  request.send(file);
}

start();
