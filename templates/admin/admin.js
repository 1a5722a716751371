// pgdrill admin page: vanilla ES module, no build, no inline script (the CSP forbids it), every
// value put in the page as text. Talks to /api/v1 with the session cookie and sends the session's
// CSRF token on every POST and DELETE.

const API = '/api/v1';
const $ = (id) => document.getElementById(id);
const state = { session: null, deployment: null, deploymentLoaded: null, query: { page: 1, limit: 25, sort: 'created', order: 'desc' }, polling: null };

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.retryAfterSeconds = body?.retryAfterSeconds;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.session?.csrfToken) headers['x-csrf-token'] = state.session.csrfToken;
  const response = await fetch(`${API}${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && path !== '/login' && path !== '/session') showLogin('Your session ended: log in again.');
    throw new ApiError(response.status, data);
  }
  return data;
}

/** An element with text content (never HTML) and attributes. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');
const isAdmin = () => state.session?.role === 'admin';

function showLogin(message = '') {
  state.session = null;
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-secret').focus();
}

async function login(event) {
  event.preventDefault();
  const secret = $('login-secret').value;
  const body = secret.startsWith('pgdrill_') ? { token: secret } : { password: secret };
  try {
    state.session = await api('/login', { method: 'POST', body });
    $('login-secret').value = '';
    await start();
  } catch (error) {
    $('login-error').textContent = error.status === 429 ? error.message : error.status === 401 ? 'That token or password is not valid.' : error.message;
  }
}

async function logout() {
  await api('/logout', { method: 'POST' }).catch(() => {});
  showLogin('Logged out.');
}

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${state.session.name} (${state.session.role})`;
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = !isAdmin();
  // Everything at once: the cards wait for the deployment's limits only to render.
  state.deploymentLoaded = api('/deployment').then((deployment) => {
    state.deployment = deployment;
    renderDeployment();
  });
  await Promise.all([state.deploymentLoaded, loadSummary(), loadHistory(), loadDrills(), loadChart(), loadAudit()]);
  document.body.dataset.ready = 'true';
}

// ---------- summary cards ----------

async function loadSummary() {
  const [{ summary }] = await Promise.all([api('/backups?limit=1'), state.deploymentLoaded]);
  const last = summary.lastSuccessful;
  $('card-last-when').textContent = last ? `${last.age} ago` : 'none yet';
  $('card-last-detail').textContent = last ? `${when(last.created)} · ${last.size} · ${last.database}` : 'No backup in storage.';
  const badge = $('card-last-badge');
  const words = { green: 'on time', amber: 'late', red: 'overdue' };
  const colour = last ? last.badge : 'red';
  badge.className = `badge badge-${colour}`;
  badge.textContent = last ? words[colour] : 'no backup';
  badge.title = `green: under ${state.deployment.backupMaxAgeHours} h old; amber: under ${2 * state.deployment.backupMaxAgeHours} h; red: older`;
  const next = summary.nextScheduled;
  $('card-next-when').textContent = next ? when(next.at) : 'not scheduled';
  $('card-next-detail').textContent = next ? `${next.database}` : 'No backup schedule in the job engine.';
  $('card-storage-size').textContent = summary.totalSize;
  $('card-storage-detail').textContent = `${summary.count} backup(s) in ${state.deployment.storage}`;
  if (summary.lastFailed) $('card-storage-detail').textContent += ` · last failure ${when(summary.lastFailed.at)}`;
}

// ---------- history ----------

function historyQuery() {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.query)) if (value !== '' && value !== undefined) params.set(key, String(value));
  return params.toString();
}

async function loadHistory() {
  let list;
  try {
    list = await api(`/backups?${historyQuery()}`);
  } catch (error) {
    $('history-message').textContent = error.message;
    return;
  }
  const body = $('history').tBodies[0];
  body.replaceChildren(...list.items.map(historyRow));
  if (list.items.length === 0) body.append(el('tr', {}, el('td', { colspan: 9 }, 'No backups match.')));
  $('page-info').textContent = `page ${list.page} of ${list.pages} · ${list.total} item(s)`;
  $('page-prev').disabled = list.page <= 1;
  $('page-next').disabled = list.page >= list.pages;
  for (const th of $('history').tHead.rows[0].cells) {
    if (!th.dataset.sort) continue;
    if (th.dataset.sort === state.query.sort) th.setAttribute('aria-sort', state.query.order === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function historyRow(item) {
  const row = el(
    'tr',
    { 'data-id': item.id },
    el('td', {}, when(item.created)),
    el('td', {}, item.database),
    el('td', {}, item.tier ?? '—'),
    el('td', {}, el('span', { class: `badge status-${item.status}`, title: item.error ?? undefined }, item.status), item.error ? el('div', { class: 'muted' }, item.error) : null),
    el('td', { class: 'num' }, item.size ?? '—'),
    el('td', { class: 'num' }, item.duration ?? '—'),
    el('td', { title: item.expiry?.reason ?? undefined }, item.expiry ? (item.expiry.at ? when(item.expiry.at).slice(0, 10) : 'kept') : '—'),
    el('td', {}, item.sha256 ? el('code', { title: item.sha256 }, `${item.sha256.slice(0, 12)}…`) : '—'),
  );
  if (isAdmin()) row.append(el('td', {}, item.status === 'ok' ? actions(item) : null));
  return row;
}

function actions(item) {
  const refusal = item.deletable && !item.deletable.allowed ? item.deletable.reason : undefined;
  const forceable = item.deletable?.forceable;
  return el(
    'div',
    { class: 'actions' },
    el('button', { type: 'button', class: 'small secondary', onclick: () => download(item), 'aria-label': `Download ${item.id}` }, 'Download'),
    el(
      'button',
      {
        type: 'button',
        class: 'small danger',
        'aria-label': `Delete ${item.id}`,
        // Focusable although refused, so a keyboard user can reach the reason (title and the message on activation).
        'aria-disabled': refusal && !forceable ? 'true' : undefined,
        title: refusal ?? 'Delete this backup',
        onclick: () => remove(item),
      },
      'Delete',
    ),
  );
}

async function download(item) {
  try {
    const info = await api(`/backups/${encodeURIComponent(item.id)}/download`);
    const link = $('download-link');
    link.href = info.url;
    link.textContent = `Download ${info.key.split('/').pop()}`;
    $('download-size').textContent = `(${item.size})`;
    $('download-expiry').textContent = info.method === 'presigned-url' ? `A presigned link, valid until ${when(info.expiresAt)}.` : 'Streamed by pgdrill from the backup folder.';
    $('download-sha').textContent = info.sha256;
    $('download-decrypt').textContent = info.decrypt;
    $('download').showModal();
    link.focus();
  } catch (error) {
    $('history-message').textContent = error.message;
  }
}

/** A confirmation dialog; resolves with the reason typed (or '' when none was asked), or null when cancelled. */
function confirmDialog({ title, text, okLabel, askReason = false }) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  $('confirm-reason-row').hidden = !askReason;
  $('confirm-reason').value = '';
  $('confirm-reason').required = askReason;
  $('confirm-error').textContent = '';
  return new Promise((resolve) => {
    const finish = (value) => {
      dialog.close();
      $('confirm-form').removeEventListener('submit', onSubmit);
      $('confirm-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const reason = $('confirm-reason').value.trim();
      if (askReason && reason.length < 3) {
        $('confirm-error').textContent = 'Say why (at least 3 characters).';
        return;
      }
      finish(reason);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    $('confirm-form').addEventListener('submit', onSubmit);
    $('confirm-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    (askReason ? $('confirm-reason') : $('confirm-ok')).focus();
  });
}

async function remove(item) {
  const d = item.deletable;
  if (d && !d.allowed && !d.forceable) {
    $('history-message').textContent = `Cannot delete ${item.id}: ${d.reason}`;
    return;
  }
  const force = Boolean(d && !d.allowed && d.forceable);
  const reason = await confirmDialog({
    title: `Delete ${item.id}?`,
    text: force ? `${d.reason}. Deleting it anyway removes this restore point for good.` : `This removes the backup (${item.size}) from storage for good.`,
    okLabel: force ? 'Delete anyway' : 'Delete',
    askReason: true,
  });
  if (reason === null) return;
  try {
    await api(`/backups/${encodeURIComponent(item.id)}`, { method: 'DELETE', body: { reason, force } });
    $('history-message').textContent = `Deleted ${item.id}.`;
    await Promise.all([loadSummary(), loadHistory(), loadAudit()]);
  } catch (error) {
    $('history-message').textContent = error.message;
    await loadAudit();
  }
}

// ---------- back up now ----------

async function backupNow() {
  const database = $('backup-database').value;
  const ok = await confirmDialog({
    title: 'Back up now?',
    text: `Start a backup of ${database} now. At most one manual backup per database every ${state.deployment.manualBackupIntervalMinutes} min.`,
    okLabel: 'Start backup',
  });
  if (ok === null) return;
  const progress = $('progress');
  try {
    const started = await api('/backups', { method: 'POST', body: { database } });
    progress.textContent = `Backup of ${database} queued (job ${started.job}).`;
    $('backup-now').disabled = true;
    followJob(started.job);
  } catch (error) {
    progress.textContent = error.message;
  }
  await loadAudit();
}

function followJob(job) {
  const progress = $('progress');
  const bar = $('progress-bar');
  bar.hidden = false;
  bar.removeAttribute('value');
  clearInterval(state.polling);
  state.polling = setInterval(async () => {
    let view;
    try {
      view = await api(`/jobs/${encodeURIComponent(job)}`);
    } catch (error) {
      progress.textContent = error.message;
      return;
    }
    const bytes = view.progress && typeof view.progress === 'object' && view.progress.bytes ? ` · ${(view.progress.bytes / 1048576).toFixed(1)} MiB written` : '';
    if (view.state === 'completed') {
      clearInterval(state.polling);
      bar.hidden = true;
      $('backup-now').disabled = false;
      progress.textContent = `Backup finished: ${view.summary ?? 'done'}.`;
      progress.dataset.state = 'completed';
      await Promise.all([loadSummary(), loadHistory(), loadChart()]);
    } else if (view.state === 'failed') {
      clearInterval(state.polling);
      bar.hidden = true;
      $('backup-now').disabled = false;
      progress.textContent = `Backup failed: ${view.error}`;
      progress.dataset.state = 'failed';
      await loadHistory();
    } else {
      progress.textContent = `Backup ${view.state}${view.attempts ? ` (attempt ${view.attempts + 1} of ${view.maxAttempts})` : ''}${bytes}…`;
      progress.dataset.state = view.state;
    }
  }, 1000);
}

// ---------- drills, chart, restore, audit ----------

async function loadDrills() {
  const [{ items }] = await Promise.all([api('/drills'), state.deploymentLoaded]);
  const newest = items[0];
  const verdict = $('card-drill-verdict');
  verdict.className = `badge ${newest ? `verdict-${newest.verdict}` : ''}`;
  verdict.textContent = newest ? newest.verdict : 'none yet';
  $('card-drill-detail').textContent = newest ? `${when(newest.started)} · RTO ${newest.rto} (target ${state.deployment.rtoTargetMinutes} min)` : 'No drill has been filed.';
  const body = $('drills').tBodies[0];
  body.replaceChildren(
    ...items.map((d) =>
      el(
        'tr',
        {},
        el('td', {}, when(d.started)),
        el('td', {}, d.database),
        el('td', {}, el('span', { class: `badge verdict-${d.verdict}` }, d.verdict)),
        el('td', { class: 'num' }, d.rto),
        el('td', {}, d.backup),
        el('td', {}, d.failedChecks.join('; ') || '—'),
        el('td', {}, el('a', { href: d.pdf, target: '_blank', rel: 'noopener' }, 'PDF'), ' · ', el('a', { href: d.html, target: '_blank', rel: 'noopener' }, 'HTML')),
      ),
    ),
  );
  if (items.length === 0) body.append(el('tr', {}, el('td', { colspan: 7 }, 'No drill yet.')));
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

async function loadChart() {
  const { from, to, points } = await api('/backups/chart');
  const width = 800;
  const height = 220;
  const pad = { left: 56, right: 56, top: 12, bottom: 28 };
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`) + 86_400_000;
  const x = (day) => pad.left + ((Date.parse(`${day}T00:00:00Z`) - start) / (end - start)) * (width - pad.left - pad.right);
  const maxSize = Math.max(1, ...points.map((p) => p.sizeBytes));
  const maxDuration = Math.max(1, ...points.map((p) => p.durationMs));
  const ySize = (v) => height - pad.bottom - (v / maxSize) * (height - pad.top - pad.bottom);
  const yDuration = (v) => height - pad.bottom - (v / maxDuration) * (height - pad.top - pad.bottom);
  const mib = (b) => `${(b / 1048576).toFixed(b < 10 * 1048576 ? 1 : 0)} MiB`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': points.length ? `${points.length} backups from ${from} to ${to}; largest ${mib(maxSize)}, longest ${(maxDuration / 1000).toFixed(0)} s` : `No backups from ${from} to ${to}` });
  chart.append(svg('line', { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom, class: 'chart-axis' }));
  chart.append(svg('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: 'chart-axis' }));
  chart.append(svg('text', { x: pad.left - 6, y: pad.top + 10, 'text-anchor': 'end', class: 'chart-label' }, mib(maxSize)));
  chart.append(svg('text', { x: width - pad.right + 6, y: pad.top + 10, class: 'chart-label' }, `${(maxDuration / 1000).toFixed(0)} s`));
  for (let month = new Date(start); month.getTime() < end; month.setUTCMonth(month.getUTCMonth() + 1, 1)) {
    const day = month.toISOString().slice(0, 10);
    chart.append(svg('text', { x: x(day), y: height - 8, 'text-anchor': 'middle', class: 'chart-label' }, month.toLocaleString('en', { month: 'short', timeZone: 'UTC' })));
  }
  const barWidth = Math.max(1.5, (width - pad.left - pad.right) / 380);
  for (const p of points) {
    const bar = svg('rect', { x: x(p.day) - barWidth / 2, y: ySize(p.sizeBytes), width: barWidth, height: height - pad.bottom - ySize(p.sizeBytes), class: 'chart-size' });
    bar.append(svg('title', {}, `${p.day} ${p.database}: ${mib(p.sizeBytes)}, ${(p.durationMs / 1000).toFixed(1)} s`));
    chart.append(bar);
  }
  const sorted = [...points].sort((a, b) => a.day.localeCompare(b.day));
  if (sorted.length > 1) chart.append(svg('polyline', { points: sorted.map((p) => `${x(p.day)},${yDuration(p.durationMs)}`).join(' '), class: 'chart-duration' }));
  for (const p of sorted) chart.append(svg('circle', { cx: x(p.day), cy: yDuration(p.durationMs), r: 2.5, class: 'chart-point' }));
  const legend = el('div', { class: 'legend' }, el('span', { class: 'size' }, 'size (left axis)'), el('span', { class: 'duration' }, 'duration (right axis)'));
  $('chart').replaceChildren(chart, legend);
}

function renderDeployment() {
  const d = state.deployment;
  $('deployment-storage').textContent = d.storage;
  const select = $('backup-database');
  const filter = $('filter-database');
  select.replaceChildren(...d.databases.map((db) => el('option', { value: db.name }, db.name)));
  filter.replaceChildren(el('option', { value: '' }, 'all'), ...d.databases.map((db) => el('option', { value: db.name }, db.name)));
  $('backup-limit').textContent = `At most one manual backup per database every ${d.manualBackupIntervalMinutes} min. Backups younger than ${d.deleteMinAgeHours} h cannot be deleted.`;
  const restore = $('restore');
  restore.replaceChildren(
    el('p', {}, `Recovery point objective: at most ${d.rpoTargetHours} h of changes lost (scheduled backups, below). Recovery time objective: ${d.rtoTargetMinutes} min, proven by the drills above.`),
    el('p', {}, 'Emergency contact: ', el('strong', {}, d.emergencyContact ?? 'not configured (service.api.emergencyContact or report.dpoContact)')),
    ...d.databases.flatMap((db) => [
      el('h3', {}, db.name),
      el('p', { class: 'muted' }, `Backups: ${db.schedule.backup ?? 'not scheduled'} (${db.schedule.timeZone}); drills: ${db.schedule.drill ?? 'not scheduled'}. Run these on a machine with pgdrill, the encryption keyring and access to the storage; the first lists the restore points, the second shows the plan, the third restores into an empty database.`),
      el('pre', {}, el('code', {}, db.restore.join('\n'))),
    ]),
    el('p', {}, 'The full procedure: docs/disaster-recovery-runbook.md in the pgdrill package.'),
  );
}

async function loadAudit() {
  const { items, chain } = await api('/audit?limit=20');
  $('audit-chain').textContent = chain.ok ? `Hash chain intact over the ${chain.checked} newest record(s).` : `Hash chain broken: ${chain.problems.join('; ')}`;
  $('audit-chain').className = chain.ok ? 'muted' : 'error';
  const body = $('audit').tBodies[0];
  body.replaceChildren(
    ...items.map((a) =>
      el('tr', {}, el('td', {}, a.seq), el('td', {}, when(a.at)), el('td', {}, `${a.actor} (${a.role})`), el('td', {}, a.action), el('td', {}, a.outcome), el('td', {}, a.target ?? '—'), el('td', {}, a.detail ?? '—')),
    ),
  );
  if (items.length === 0) body.append(el('tr', {}, el('td', { colspan: 7 }, 'No admin action yet.')));
}

// ---------- wiring ----------

function wire() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('backup-now').addEventListener('click', backupNow);
  $('download-close').addEventListener('click', () => $('download').close());
  $('filters').addEventListener('change', () => {
    const form = new FormData($('filters'));
    for (const key of ['database', 'tier', 'status', 'from', 'to']) state.query[key] = form.get(key) ?? '';
    state.query.page = 1;
    void loadHistory();
  });
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  $('page-prev').addEventListener('click', () => {
    state.query.page = Math.max(1, state.query.page - 1);
    void loadHistory();
  });
  $('page-next').addEventListener('click', () => {
    state.query.page += 1;
    void loadHistory();
  });
  for (const th of $('history').tHead.rows[0].cells) {
    if (!th.dataset.sort) continue;
    th.querySelector('button').addEventListener('click', () => {
      state.query.order = state.query.sort === th.dataset.sort && state.query.order === 'desc' ? 'asc' : 'desc';
      state.query.sort = th.dataset.sort;
      state.query.page = 1;
      void loadHistory();
    });
  }
}

wire();
api('/session')
  .then((session) => {
    state.session = session;
    return start();
  })
  .catch(() => showLogin());
