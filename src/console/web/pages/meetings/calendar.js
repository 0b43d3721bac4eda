// The org's calendar: a month grid and the month's agenda of occurrences, the series
// scheduled on the org, and the dialog that schedules a new one.

import { api } from '../../api.js';
import { h, clear, field, select, table, dialog, busy, toast, fmt, names, nameOf, idempotencyKey } from '../../ui.js';
import { PATTERNS, WEEKDAYS, ORDINALS, toRrule, firstDay, describe, localTime, dayString } from './recurrence.js';

const KINDS = ['theme_party_day', 'branch_general_meeting', 'branch_committee_meeting', 'party_group_meeting',
  'party_lesson', 'org_life_meeting', 'democratic_appraisal', 'mini_party_class', 'member_activity_day', 'other'];
const pad = (n) => String(n).padStart(2, '0');

function monthOf(query) {
  const m = /^(\d{4})-(\d{2})$/.exec(query.get('month') || '');
  const now = new Date();
  return m ? { y: Number(m[1]), m: Number(m[2]) } : { y: now.getFullYear(), m: now.getMonth() + 1 };
}
const shift = ({ y, m }, by) => { const d = new Date(Date.UTC(y, m - 1 + by, 1)); return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1 }; };
const monthKey = ({ y, m }) => `${y}-${pad(m)}`;

async function allActivities(orgId, signal) {
  const out = [];
  let cursor;
  for (let i = 0; i < 20; i += 1) {
    const page = await api.get(`/v1/orgs/${orgId}/activities`, { limit: 200, cursor }, { signal });
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

// Runs `fn` over items with at most `n` at a time.
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next; next += 1; out[i] = await fn(items[i]); }
  }));
  return out;
}

export function statusBadge(o) {
  if (o.status === 'cancelled') return h('span', { class: 'badge bad' }, '已取消');
  if (o.checkin === 'open') return h('span', { class: 'badge warn' }, '签到中');
  if (o.checkin === 'closed' || o.held) return h('span', { class: 'badge ok' }, '已举行');
  return h('span', { class: 'badge upcoming' }, '未开始');
}

export async function renderCalendar(ctx) {
  const { orgId, signal } = ctx;
  const month = monthOf(ctx.query);
  const first = `${monthKey(month)}-01`;
  const last = dayString(new Date(Date.UTC(month.y, month.m, 0)));
  ctx.setTitle('会议');
  const scheduleBtn = h('button', { type: 'button', class: 'primary' }, '安排会议');
  const monthLink = (by, text) => h('a', { class: 'button', href: ctx.href('meetings', orgId, new URLSearchParams({ month: monthKey(shift(month, by)) })) }, text);
  const body = h('div', {}, h('p', { class: 'loading', role: 'status' }, '正在加载…'));
  ctx.root.append(
    h('h1', {}, `会议 · ${ctx.org.name}`),
    h('div', { class: 'toolbar' },
      monthLink(-1, '‹ 上个月'),
      h('strong', { class: 'month-title', 'aria-live': 'polite' }, `${month.y}年${month.m}月`),
      monthLink(1, '下个月 ›'),
      h('a', { class: 'button', href: ctx.href('meetings', orgId) }, '本月'),
      h('span', { class: 'spacer' }),
      scheduleBtn),
    body);
  scheduleBtn.addEventListener('click', async () => {
    const created = await scheduleDialog(ctx);
    if (!created) return;
    const start = created.start_local.slice(0, 7);
    const q = new URLSearchParams({ month: start });
    if (start === monthKey(month)) { clear(ctx.root); await renderCalendar(ctx); } else ctx.navigate('meetings', orgId, q);
  });

  const activities = await allActivities(orgId, signal);
  const lists = await pool(activities, 6, (a) => api.get(`/v1/activities/${a.id}/occurrences`, { from: first, to: last }, { signal }));
  const occ = lists.flat().sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const byDay = new Map();
  for (const o of occ) {
    const d = o.local_start.slice(0, 10);
    if (!byDay.has(d)) byDay.set(d, []);
    byDay.get(d).push(o);
  }
  const link = (o) => h('a', { href: ctx.href('meetings', orgId, 'occurrence', o.id), class: `occ ${o.status}`, dataset: { occurrence: o.id } },
    h('span', { class: 'time' }, o.local_start.slice(11, 16)), ' ', o.title,
    o.status === 'cancelled' ? '（已取消）' : '');

  // The month grid, Monday first.
  const firstDow = (new Date(Date.UTC(month.y, month.m - 1, 1)).getUTCDay() + 6) % 7;
  const days = new Date(Date.UTC(month.y, month.m, 0)).getUTCDate();
  const today = `${new Date().getFullYear()}-${pad(new Date().getMonth() + 1)}-${pad(new Date().getDate())}`;
  const cells = [];
  for (let i = 0; i < firstDow; i += 1) cells.push(h('td', { class: 'pad' }));
  for (let d = 1; d <= days; d += 1) {
    const key = `${monthKey(month)}-${pad(d)}`;
    cells.push(h('td', { class: key === today ? 'today' : null },
      h('div', { class: 'day' }, String(d)),
      (byDay.get(key) || []).map((o) => h('div', {}, link(o)))));
  }
  while (cells.length % 7) cells.push(h('td', { class: 'pad' }));
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h('tr', {}, cells.slice(i, i + 7)));
  const grid = h('div', { class: 'table-wrap month-grid' }, h('table', {},
    h('caption', { class: 'sr-only' }, `${month.y}年${month.m}月的会议日历`),
    h('thead', {}, h('tr', {}, ['一', '二', '三', '四', '五', '六', '日'].map((d) => h('th', { scope: 'col' }, `周${d}`)))),
    h('tbody', {}, rows)));

  const agenda = table([
    { title: '时间', cell: (o) => `${fmt.dateTime(o.starts_at, o.time_zone)}–${o.local_end.slice(11, 16)}` },
    { title: '类型', cell: (o) => nameOf(names.activityKind, o.kind) },
    { title: '会议', cell: (o) => link(o) },
    { title: '地点', cell: (o) => o.place || '—' },
    { title: '状态', cell: statusBadge },
  ], occ, { caption: '本月会议', empty: '本月没有安排会议' });

  const series = table([
    { title: '会议', cell: (a) => a.title },
    { title: '类型', cell: (a) => nameOf(names.activityKind, a.kind) },
    { title: '重复', cell: (a) => h('span', {}, describe(a.rrule), a.rrule ? h('small', { class: 'rrule' }, a.rrule) : null) },
    { title: '开始', cell: (a) => `${a.start_local.slice(0, 10)} ${a.start_local.slice(11, 16)}–${a.end_local.slice(11, 16)}` },
    { title: '地点', cell: (a) => a.place || '—' },
    { title: '状态', cell: (a) => (a.ended ? h('span', { class: 'badge bad' }, '已停止') : h('span', { class: 'badge ok' }, '进行中')) },
    { title: '操作', cell: (a) => (a.ended || !a.rrule ? '' : h('button', { type: 'button', class: 'small', onclick: (ev) => cancelSeries(ctx, a, ev.currentTarget) }, '停止系列')) },
  ], activities, { caption: '在本组织安排的会议（系列与单次）', empty: '还没有安排会议' });

  clear(body, grid, h('h2', {}, '本月会议'), agenda, h('h2', {}, '会议安排'), series);
}

async function cancelSeries(ctx, a, button) {
  const reason = h('input', { name: 'reason', maxlength: 200 });
  const ok = await dialog(`停止“${a.title}”系列`, h('div', {},
    h('p', {}, '停止后，尚未举行的后续会议都将取消；已举行的会议不受影响。'),
    field('原因（可选）', reason)), {
    submitText: '停止系列',
    onSubmit: () => api.post(`/v1/activities/${a.id}/cancel`, { reason: reason.value.trim() || null }),
  });
  if (!ok) return;
  toast('已停止该系列', 'success');
  await busy(button, async () => { clear(ctx.root); await renderCalendar(ctx); });
}

// The schedule dialog; resolves with the created ActivityDetail or null.
export function scheduleDialog(ctx) {
  const now = new Date();
  const todayStr = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  const kind = select('kind', KINDS.map((k) => [k, names.activityKind[k]]), 'theme_party_day');
  const title = h('input', { name: 'title', required: true, maxlength: 200, value: '主题党日' });
  const date = h('input', { name: 'date', type: 'date', required: true, value: todayStr });
  const time = h('input', { name: 'time', type: 'time', required: true, value: '09:00' });
  const duration = select('duration', [[30, '30 分钟'], [60, '1 小时'], [90, '1.5 小时'], [120, '2 小时'], [150, '2.5 小时'], [180, '3 小时'], [240, '4 小时'], [480, '一整天（8 小时）']], 120);
  const pattern = select('pattern', PATTERNS, 'once');
  const day = h('input', { name: 'day', type: 'number', min: 1, max: 31, value: 1 });
  const ordinal = select('ordinal', ORDINALS, '1');
  const weekday = select('weekday', WEEKDAYS, 'FR');
  const custom = h('input', { name: 'custom', maxlength: 200, placeholder: 'FREQ=MONTHLY;BYMONTHDAY=1', spellcheck: 'false' });
  const place = h('input', { name: 'place', maxlength: 200, placeholder: '如：村党群服务中心会议室' });
  const agenda = h('textarea', { name: 'agenda', rows: 3, maxlength: 2000 });
  const credit = h('input', { name: 'credit', type: 'number', min: 0, max: 10, step: 0.25, placeholder: '按系统默认' });
  const useLoc = h('input', { name: 'use_location', type: 'checkbox' });
  const lat = h('input', { name: 'latitude', type: 'number', step: 'any', min: -90, max: 90 });
  const lng = h('input', { name: 'longitude', type: 'number', step: 'any', min: -180, max: 180 });
  const radius = h('input', { name: 'radius_m', type: 'number', min: 20, max: 5000, value: 200 });
  const here = h('button', { type: 'button', class: 'small' }, '使用本机位置');
  const rruleText = h('code', { class: 'rrule', id: 'rrule-text' });
  const firstText = h('span', {});

  const dayField = field('几日', day);
  const ordField = field('第几个', ordinal);
  const wdField = field('星期几', weekday);
  const customField = field('RRULE', custom, '例：FREQ=MONTHLY;BYDAY=-1FR（每月最后一个星期五）');
  const locBox = h('fieldset', { class: 'loc', hidden: true },
    h('legend', {}, '签到位置'),
    h('div', { class: 'row' }, field('纬度', lat), field('经度', lng), field('半径（米，20–5000）', radius)), here);
  const params = () => ({ pattern: pattern.value, day: day.value, ordinal: ordinal.value, weekday: weekday.value, custom: custom.value });
  const update = () => {
    const p = pattern.value;
    dayField.hidden = !['monthly_day', 'quarterly_day'].includes(p);
    ordField.hidden = p !== 'monthly_weekday';
    wdField.hidden = !['monthly_weekday', 'weekly'].includes(p);
    customField.hidden = p !== 'custom';
    const r = toRrule(params());
    rruleText.textContent = r ? `RRULE: ${r}` : 'RRULE: 无（单次）';
    const f = firstDay(params(), date.value);
    firstText.textContent = f ? `首次：${f.replace(/^(\d+)-0?(\d+)-0?(\d+)$/, '$1年$2月$3日')} ${time.value}` : '';
    locBox.hidden = !useLoc.checked;
  };
  for (const el of [pattern, day, ordinal, weekday, custom, date, time, useLoc]) { el.addEventListener('input', update); el.addEventListener('change', update); }
  kind.addEventListener('change', () => {
    if (!title.dataset.edited) title.value = names.activityKind[kind.value] || '';
  });
  title.addEventListener('input', () => { title.dataset.edited = '1'; });
  here.addEventListener('click', () => {
    if (!navigator.geolocation) { toast('本机无法获取位置', 'error'); return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      lat.value = pos.coords.latitude.toFixed(6);
      lng.value = pos.coords.longitude.toFixed(6);
    }, () => toast('无法获取位置，请手动填写', 'error'));
  });
  update();

  const body = h('div', { class: 'schedule-form' },
    h('div', { class: 'row' }, field('会议类型', kind), field('名称', title)),
    h('div', { class: 'row' }, field('日期（单次）或从哪天起', date), field('开始时间', time), field('时长', duration)),
    h('div', { class: 'row' }, field('重复', pattern), dayField, ordField, wdField),
    customField,
    h('p', { class: 'recurrence-preview', 'aria-live': 'polite' }, firstText, ' ', rruleText),
    field('地点', place),
    field('议程（可选）', agenda),
    field('学时（可选，小时）', credit, '出席、迟到、代签的党员获得的学时；不填按系统默认'),
    h('label', { class: 'check' }, useLoc, ' 限定签到范围（党员须在会场附近扫码）'),
    locBox);

  return dialog('安排会议', body, {
    submitText: '安排',
    onSubmit: async () => {
      const p = params();
      const start = firstDay(p, date.value);
      if (!start) throw new Error('请选择日期，并检查重复方式（该日在一年内不会出现）');
      const req = {
        kind: kind.value,
        title: title.value.trim(),
        start_local: localTime(start, time.value),
        end_local: localTime(start, time.value, Number(duration.value)),
        rrule: toRrule(p),
        place: place.value.trim() || null,
        agenda: agenda.value.trim() || null,
      };
      if (!req.start_local) throw new Error('请填写开始时间');
      if (credit.value !== '') req.credit_centi = Math.round(Number(credit.value) * 100);
      if (useLoc.checked) {
        if (lat.value === '' || lng.value === '') throw new Error('请填写签到位置的纬度和经度');
        req.location = { latitude: Number(lat.value), longitude: Number(lng.value), radius_m: Number(radius.value) };
      }
      const created = await api.post(`/v1/orgs/${ctx.orgId}/activities`, req, { headers: { 'Idempotency-Key': idempotencyKey() } });
      toast(`已安排“${created.title}”`, 'success');
      return created;
    },
  });
}

