// Deliveries: every message written for the org's channels (tests, digests, alerts) with each
// attempt to send it, a page at a time as the API pages them, and "send again" for the dead.

import { api } from '../../api.js';
import { h, clear, field, select, table, busy, toast, errorBox, fmt } from '../../ui.js';
import { purposeNames, statusNames, statusClass, outcomeNames, outcomeClass, redact } from './words.js';

const PAGE = 20;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// The delivery `id` as it is now.
function findDelivery(id, signal) {
  return api.get(`/v1/deliveries/${id}`, undefined, { signal });
}

// Follows a delivery until it is no longer pending (or `ms` passed): onUpdate(view) after each
// look. Resolves with the last view seen.
export async function watchDelivery(view, { signal, onUpdate, ms = 30000 }) {
  const until = Date.now() + ms;
  let last = view;
  while (last.status === 'pending' && Date.now() < until && !signal.aborted) {
    await sleep(last.attempts ? 1500 : 700, signal);
    if (signal.aborted) break;
    const d = await findDelivery(last.id, signal).catch(() => null);
    if (d) { last = d; onUpdate(d); }
  }
  return last;
}

// A delivery's state in words: "已送达", "发送失败：…", "等待发送（下次 12月1日 09:00）".
export function deliveryWords(d) {
  if (d.status === 'delivered') return `已送达（${fmt.dateTime(d.delivered_at)}）`;
  if (d.status === 'dead') return `发送失败：${redact(d.last_error) || '对方拒收'}`;
  if (d.status === 'cancelled') return '已取消（渠道已删除）';
  if (d.attempts > 0) return `上次未发出（${redact(d.last_error) || '暂时失败'}），将于 ${fmt.dateTime(d.next_at)} 重试`;
  return '正在发送…';
}

export function statusBadge(d) {
  return h('span', { class: `badge ${statusClass[d.status] || ''}`, dataset: { status: d.status } },
    statusNames[d.status] || d.status);
}

function attemptsTable(d) {
  return table([
    { title: '时间', cell: (a) => `${fmt.date(a.at)} ${fmt.time(a.at)}` },
    { title: '第几条', class: 'num', cell: (a) => `${a.part + 1} / ${d.parts}` },
    { title: '结果', cell: (a) => h('span', { class: `badge ${outcomeClass[a.outcome] || ''}`, dataset: { outcome: a.outcome } }, outcomeNames[a.outcome] || a.outcome) },
    { title: 'HTTP 状态', class: 'num', cell: (a) => (a.http_status === null || a.http_status === undefined ? '无应答' : String(a.http_status)) },
    { title: '错误码', class: 'num', cell: (a) => (a.errcode === null || a.errcode === undefined ? '—' : String(a.errcode)) },
    { title: '错误', cell: (a) => redact(a.error) || '—' },
    { title: '耗时', class: 'num', cell: (a) => `${fmt.int(a.duration_ms)} 毫秒` },
  ], d.attempt_log, { caption: `第 ${d.id} 号消息的发送尝试`, empty: '还没有尝试发送' });
}

export function deliveriesSection(ctx) {
  const { orgId, signal } = ctx;
  let items = [];
  let cursor = null;
  const open = new Set();
  let onChanged = () => {};
  let onUpdate = () => {};

  const status = select('status', [['', '全部'], ...Object.entries(statusNames)], '');
  const refresh = h('button', { type: 'button' }, '刷新');
  const list = h('div', { class: 'deliveries-list', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, '加载更多');
  const section = h('section', { class: 'pushes-deliveries', 'aria-labelledby': 'pushes-deliveries-h' },
    h('h2', { id: 'pushes-deliveries-h' }, '发送记录'),
    h('p', { class: 'muted' }, '每条消息发往哪里、是否送达。发送失败的消息在排除问题后可以“重新发送”；点开“尝试”可看每一次发送的结果。'),
    h('div', { class: 'toolbar' }, field('状态', status), refresh),
    list, more);

  async function retry(d, button) {
    const updated = await busy(button, () => api.post(`/v1/deliveries/${d.id}/retry`));
    if (!updated) return;
    toast('已重新排队发送', 'success');
    replace(updated);
    const last = await watchDelivery(updated, { signal, onUpdate: replace }).catch(() => null);
    if (last && !signal.aborted) {
      toast(`第 ${last.id} 号消息：${deliveryWords(last)}`, last.status === 'dead' ? 'error' : 'info');
      onChanged();
    }
  }

  // One row per delivery; its attempts, when opened, in a full-width row under it.
  function draw() {
    const cols = [
      { title: '编号', class: 'num', cell: (d) => String(d.id) },
      { title: '写入时间', class: 'when', cell: (d) => fmt.dateTime(d.created_at) },
      { title: '内容', class: 'nowrap', cell: (d) => purposeNames[d.purpose] || d.purpose },
      { title: '发往', class: 'to', cell: (d) => d.channel_name || (d.user_id ? '党员微信' : '（已删除的渠道）') },
      {
        title: '状态',
        class: 'state',
        cell: (d) => [statusBadge(d),
          d.status === 'pending' && d.next_at ? h('div', { class: 'sub muted' }, `下次 ${fmt.dateTime(d.next_at)}`) : null,
          d.status === 'delivered' ? h('div', { class: 'sub muted' }, fmt.dateTime(d.delivered_at)) : null],
      },
      { title: '已发条数', class: 'num', cell: (d) => `${d.parts_done} / ${d.parts}` },
      {
        title: '尝试',
        class: 'nowrap',
        cell: (d) => h('button', {
          type: 'button', class: 'link attempts-toggle', 'aria-expanded': open.has(d.id) ? 'true' : 'false',
          'aria-controls': `attempts-${d.id}`,
          onclick: () => { if (open.has(d.id)) open.delete(d.id); else open.add(d.id); draw(); },
        }, `${d.attempts} 次 ${open.has(d.id) ? '▾' : '▸'}`),
      },
      { title: '最近错误', class: 'error-cell', cell: (d) => redact(d.last_error) || '—' },
      {
        title: '操作',
        class: 'nowrap',
        cell: (d) => (d.status === 'dead'
          ? h('button', { type: 'button', class: 'retry', 'aria-label': `重新发送第 ${d.id} 号消息`, onclick: (ev) => retry(d, ev.currentTarget) }, '重新发送')
          : null),
      },
    ];
    const rows = [];
    for (const d of items) {
      rows.push(h('tr', { dataset: { deliveryId: d.id }, class: d.status === 'dead' ? 'bad' : undefined },
        cols.map((c) => h('td', { class: c.class }, c.cell(d)))));
      if (open.has(d.id)) {
        rows.push(h('tr', { class: 'attempts-row', id: `attempts-${d.id}`, dataset: { attemptsOf: d.id } },
          h('td', { colspan: cols.length }, attemptsTable(d))));
      }
    }
    const emptyText = status.value ? `没有“${statusNames[status.value]}”的消息` : '还没有发送过消息';
    clear(list, h('div', { class: 'table-wrap' }, h('table', { class: 'deliveries' },
      h('caption', {}, '发送记录（最新的在前）'),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.class }, c.title)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: cols.length, class: 'empty' }, emptyText))))));
    more.hidden = !cursor;
  }

  function replace(d) {
    onUpdate(d);
    const i = items.findIndex((x) => x.id === d.id);
    if (i >= 0) items[i] = d; else items.unshift(d);
    draw();
  }

  async function load(append) {
    const page = await api.get(`/v1/orgs/${orgId}/deliveries`, {
      status: status.value || undefined, limit: PAGE, cursor: append ? cursor : undefined,
    }, { signal });
    items = append ? items.concat(page.items) : page.items;
    cursor = page.next_cursor || null;
    draw();
  }

  async function reload() {
    try {
      await load(false);
    } catch (e) {
      if (signal.aborted) return;
      clear(list, errorBox(e));
    }
  }

  status.addEventListener('change', () => busy(status, () => load(false)));
  refresh.addEventListener('click', () => busy(refresh, () => load(false)));
  more.addEventListener('click', () => busy(more, () => load(true)));

  return {
    el: section,
    reload,
    replace,
    set onChanged(fn) { onChanged = fn; },
    // Called with every delivery the page learns of (sent, retried, followed).
    set onUpdate(fn) { onUpdate = fn; },
  };
}
