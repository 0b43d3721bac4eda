// Small DOM helpers every page uses: element building, tables, forms, dialogs, toasts,
// formatting. No framework; everything is plain elements with labels and roles.

import { ApiError } from './api.js';

// h('button', {class: 'primary', onclick: fn}, '保存') → element. Attributes starting with
// `on` become listeners; `dataset`, `style` objects are applied; children may be strings,
// nodes, arrays, null or false.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
export function uid(prefix = 'f') { ids += 1; return `${prefix}-${ids}`; }

// A labelled form field: field('姓名', h('input', {name: 'name'})).
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name },
    options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value) }, text)));
}

// A table: columns [{title, cell: row => node|string, class?, sort?}], rows [...].
export function table(columns, rows, { caption, empty = '暂无数据', rowAttrs } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title)))),
      h('tbody', {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty))
          : rows.map((r, i) => h('tr', rowAttrs ? rowAttrs(r, i) : {},
            columns.map((c) => h('td', { class: c.class }, c.cell(r, i))))))));
}

export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

export function errorText(e) {
  if (e instanceof ApiError) return e.text;
  return (e && e.message) || String(e);
}

export function showError(e) { toast(errorText(e), 'error'); }

// An inline error box (role=alert) for a page or form.
export function errorBox(e) {
  return h('div', { class: 'error-box', role: 'alert' }, errorText(e));
}

// The page shown when an object does not exist or is outside the caller's scope.
export function notFound(what = '该对象') {
  return h('div', { class: 'not-found', role: 'alert' },
    h('h2', {}, '未找到'),
    h('p', {}, `${what}不存在，或不在您的管理范围内。`));
}

// Runs `fn` while `button` shows it is busy; errors go to a toast. Returns fn's result.
export async function busy(button, fn) {
  const was = button ? button.disabled : false;
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    if (button) { button.disabled = was; button.removeAttribute('aria-busy'); }
  }
}

// A modal dialog (<dialog>): resolves with the value `onSubmit` returns, or null when
// cancelled. `body` is a node (usually a form's fields); onSubmit(form) may throw to
// keep the dialog open (the error is shown inside it).
export function dialog(title, body, { submitText = '确定', onSubmit } = {}) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const err = h('div', { class: 'dialog-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary' }, submitText);
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId }, title), body, err,
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => { d.close(); resolve(null); } }, '取消'),
        submit));
    const d = h('dialog', { 'aria-labelledby': titleId }, form);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      submit.disabled = true;
      try {
        const v = onSubmit ? await onSubmit(form) : true;
        d.close();
        resolve(v === undefined ? true : v);
      } catch (e) {
        err.textContent = errorText(e);
      } finally {
        submit.disabled = false;
      }
    });
    d.addEventListener('cancel', () => resolve(null));
    d.addEventListener('close', () => d.remove());
    document.body.append(d);
    d.showModal();
  });
}

export function confirmDialog(title, text, submitText = '确定') {
  return dialog(title, h('p', {}, text), { submitText });
}

// The form's fields as an object (empty strings left out).
export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (typeof v === 'string' && v.trim() === '') continue;
    out[k] = typeof v === 'string' ? v.trim() : v;
  }
  return out;
}

// An Idempotency-Key for a write the console may repeat after a timeout.
export function idempotencyKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- formatting -------------------------------------------------------------------

export const fmt = {
  int: (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('zh-CN')),
  hours: (n) => (n === null || n === undefined ? '—' : Number(n).toFixed(2)),
  pct: (x) => (x === null || x === undefined ? '—' : `${(Number(x) * 100).toFixed(1)}%`),
  // A time in the org's zone (default Asia/Shanghai), e.g. 2026年12月1日 09:00.
  dateTime: (iso, tz = 'Asia/Shanghai') => (iso ? new Intl.DateTimeFormat('zh-CN', {
    timeZone: tz, year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(iso)) : '—'),
  date: (iso, tz = 'Asia/Shanghai') => (iso ? new Intl.DateTimeFormat('zh-CN', {
    timeZone: tz, year: 'numeric', month: 'numeric', day: 'numeric',
  }).format(new Date(iso)) : '—'),
  time: (iso, tz = 'Asia/Shanghai') => (iso ? new Intl.DateTimeFormat('zh-CN', {
    timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(new Date(iso)) : '—'),
};

// Chinese names of the API's enum values.
export const names = {
  orgKind: {
    county_committee: '县委', township_committee: '乡镇党委', general_branch: '党总支',
    branch: '党支部', party_group: '党小组',
  },
  role: {
    secretary: '书记', deputy_secretary: '副书记', committee_member: '委员',
    organizer: '组织委员', admin: '管理员',
  },
  activityKind: {
    theme_party_day: '主题党日', branch_general_meeting: '支部党员大会',
    branch_committee_meeting: '支部委员会', party_group_meeting: '党小组会',
    party_lesson: '党课', org_life_meeting: '组织生活会',
    democratic_appraisal: '民主评议党员', mini_party_class: '微党课',
    member_activity_day: '党员活动日', other: '其他活动',
  },
  attendance: {
    present: '出席', late: '迟到', leave: '请假', absent: '缺席', proxy: '代签',
    made_up: '补学',
  },
  category: { full: '正式党员', probationary: '预备党员', activist: '入党积极分子' },
  memberStatus: { active: '正常', migrant: '流动党员', suspended: '停止党籍', left: '已离开' },
  sector: {
    village: '村', cooperative: '合作社', enterprise: '企业', family_farm: '家庭农场',
    association: '协会', other: '其他',
  },
};

export function nameOf(table, value) { return (table && table[value]) || value; }

// Loads a page's own stylesheet (pages/<name>.css) once.
export function pageStyle(name) {
  const href = new URL(`./pages/${name}.css`, import.meta.url).href;
  if (!document.querySelector(`link[href="${href}"]`)) {
    document.head.append(h('link', { rel: 'stylesheet', href }));
  }
}
