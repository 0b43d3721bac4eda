// The console's shell: login, the layout (header, navigation, org tree), and the router.
//
// Routes are in the URL's fragment: #/<page>/<orgId>[/<more>…][?query], e.g.
// #/dashboard/12?period=2026-11, #/meetings/12/occurrence/345. Each page is a module in
// pages/ exporting `render(ctx)`; see `context()` for what it gets.

import { api, login, logout, hasSession, refresh, setSessionEndedHandler, ApiError } from './api.js';
import { h, clear, field, errorBox, notFound, showError, names, nameOf } from './ui.js';

const PAGES = [
  ['dashboard', '概览'],
  ['members', '党员'],
  ['classes', '课程'],
  ['meetings', '会议'],
  ['pushes', '推送'],
];

const app = document.getElementById('app');
let me = null;
let roots = [];
let current = null; // AbortController of the page on screen

setSessionEndedHandler(() => {
  me = null;
  showLogin('登录已过期，请重新登录。');
});

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0], orgId: parts[1] ? Number(parts[1]) : null, rest: parts.slice(2), query: new URLSearchParams(q) };
}

export function href(page, orgId, ...rest) {
  const q = rest.length && rest[rest.length - 1] instanceof URLSearchParams ? rest.pop() : null;
  const path = ['#', page, orgId, ...rest].filter((x) => x !== null && x !== undefined).map((x, i) => (i === 0 ? x : encodeURIComponent(x))).join('/');
  const qs = q && q.toString();
  return qs ? `${path}?${qs}` : path;
}

// ---- login ------------------------------------------------------------------------

function showLogin(message) {
  if (current) current.abort();
  document.title = '登录 · 党课管理后台';
  const err = h('div', { class: 'error-box', role: 'alert', hidden: !message }, message || '');
  const phone = h('input', { name: 'phone', type: 'tel', autocomplete: 'username', required: true, inputmode: 'numeric', maxlength: 11 });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, '登录');
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, '党课 · 组织管理后台'),
    h('p', { class: 'muted' }, '供支部书记、组织委员和乡镇党委使用。党员请使用手机小程序学习。'),
    field('手机号', phone), field('密码', password), err, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    try {
      await login(phone.value.trim(), password.value);
      await start();
    } catch (e) {
      err.textContent = e instanceof ApiError ? e.text : String(e);
      err.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  clear(app, h('main', { id: 'main', class: 'login-page' }, form));
  phone.focus();
}

// ---- layout -----------------------------------------------------------------------

async function start() {
  me = await api.get('/v1/me');
  // The orgs the caller manages: those of their roles, without one inside another.
  const ids = [...new Set(me.roles.map((r) => r.org_id))];
  const orgs = (await Promise.all(ids.map((id) => api.get(`/v1/orgs/${id}`).catch(() => null)))).filter(Boolean);
  roots = orgs.filter((o) => !orgs.some((p) => p.id !== o.id && o.path.startsWith(p.path)));
  roots.sort((a, b) => a.path.localeCompare(b.path));
  if (!location.hash || parseHash().page === undefined) {
    if (roots.length) location.replace(href('dashboard', roots[0].id));
  }
  route();
}

function layout() {
  const tree = h('nav', { class: 'org-tree', 'aria-label': '组织' },
    h('h2', { class: 'sr-only' }, '组织'),
    h('ul', { role: 'list' }, roots.map((o) => treeNode(o, true))));
  const nav = h('nav', { class: 'pages', 'aria-label': '功能' },
    h('ul', {}, PAGES.map(([p, label]) => h('li', {}, h('a', { href: '#', dataset: { page: p } }, label)))));
  const main = h('main', { id: 'main', tabindex: '-1' });
  clear(app,
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, '党课管理后台'),
      nav,
      h('span', { class: 'who' }, me.name),
      h('button', { type: 'button', class: 'link', onclick: async () => { await logout(); showLogin('您已退出登录。'); } }, '退出登录')),
    h('div', { class: 'body' }, h('aside', { class: 'side' }, tree), main));
  return main;
}

// One org in the tree, with a toggle that loads its children on first opening.
function treeNode(org, open) {
  const kids = h('ul', { role: 'list', hidden: !open });
  const toggle = h('button', {
    type: 'button', class: 'toggle', 'aria-expanded': open ? 'true' : 'false',
    'aria-label': `展开 ${org.name}`, hidden: org.kind === 'party_group',
  }, open ? '▾' : '▸');
  let loaded = false;
  const load = async () => {
    if (loaded) return;
    loaded = true;
    try {
      const t = await api.get(`/v1/orgs/${org.id}/tree`, { depth: 1 });
      clear(kids, t.children.map((c) => treeNode(c, false)));
      if (!t.children.length) toggle.hidden = true;
    } catch (e) { loaded = false; showError(e); }
  };
  toggle.addEventListener('click', async () => {
    const opening = kids.hidden;
    kids.hidden = !opening;
    toggle.setAttribute('aria-expanded', opening ? 'true' : 'false');
    toggle.textContent = opening ? '▾' : '▸';
    if (opening) await load();
  });
  if (open) load();
  const link = h('a', { href: '#', dataset: { org: org.id }, title: nameOf(names.orgKind, org.kind) }, org.name);
  link.addEventListener('click', (ev) => {
    ev.preventDefault();
    const { page } = parseHash();
    location.hash = href(page || 'dashboard', org.id);
  });
  return h('li', {}, h('div', { class: 'node' }, toggle, link), kids);
}

function markCurrent(page, orgId) {
  for (const a of app.querySelectorAll('nav.pages a')) {
    a.href = href(a.dataset.page, orgId);
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const a of app.querySelectorAll('nav.org-tree a')) {
    if (Number(a.dataset.org) === orgId) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
  }
}

// ---- routing ----------------------------------------------------------------------

async function route() {
  if (!me) return;
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  let main = document.getElementById('main');
  if (!app.querySelector('header.top')) main = layout();
  const { page, orgId, rest, query } = parseHash();
  if (!roots.length) {
    clear(main, h('div', { class: 'not-found', role: 'alert' }, h('h2', {}, '没有管理权限'),
      h('p', {}, '您的账号不是任何组织的书记、委员或管理员。党员请使用手机小程序。')));
    return;
  }
  const known = PAGES.find(([p]) => p === page);
  if (!known || !orgId) { location.replace(href('dashboard', roots[0].id)); return; }
  markCurrent(page, orgId);
  clear(main, h('p', { class: 'loading', role: 'status' }, '正在加载…'));
  let org;
  try {
    org = await api.get(`/v1/orgs/${orgId}`, undefined, { signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted) return;
    clear(main, e instanceof ApiError && e.status === 404 ? notFound('该组织') : errorBox(e));
    document.title = '未找到 · 党课管理后台';
    return;
  }
  // A member may read her own branch's ancestors (GET /v1/orgs/{id}), but manages only
  // the subtrees of her roles: anything above them is "not found", as their management
  // routes answer.
  if (!roots.some((r) => org.path.startsWith(r.path))) {
    clear(main, notFound('该组织'));
    document.title = '未找到 · 党课管理后台';
    return;
  }
  const ctx = {
    me, org, orgId, rest, query, root: main, signal: controller.signal, href,
    navigate: (...args) => { location.hash = href(...args); },
    setTitle: (title) => { document.title = `${title} · ${org.name} · 党课管理后台`; },
  };
  try {
    const mod = await import(`./pages/${page}.js`);
    if (controller.signal.aborted) return;
    clear(main);
    await mod.render(ctx);
  } catch (e) {
    if (controller.signal.aborted || (e && e.name === 'AbortError')) return;
    clear(main, e instanceof ApiError && e.status === 404 ? notFound() : errorBox(e));
  }
  const h1 = main.querySelector('h1');
  if (h1) { h1.tabIndex = -1; }
}

window.addEventListener('hashchange', route);

(async () => {
  if (!hasSession()) { showLogin(); return; }
  let renewed = false;
  try { renewed = await refresh(); } catch (e) { showLogin('网络不可用，请检查网络后重新登录。'); return; }
  if (!renewed) { showLogin('登录已过期，请重新登录。'); return; }
  try { await start(); } catch (e) { showError(e); showLogin(); }
})();
