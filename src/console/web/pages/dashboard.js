// 概览: an org's figures for a period (`/v1/orgs/{id}/stats`), its children ranked
// (`/stats/children`, chart and table), the members behind on credit hours
// (`/stats/members`), the meeting compliance grid (`/compliance`) and the exports.
//
// Every figure is the API's number as it answered, formatted only (hours from hundredths
// with two decimals, counts as integers, rates as percentages); each carries
// `data-figure="<name>"` so tests can compare it with the API.

import { api } from '../api.js';
import { h, clear, errorBox, busy, toast, field, select, pageStyle, names, nameOf } from '../ui.js';
import { hours, int, pct, periodName } from './dashboard/format.js';
import { periodPicker, periodQuery } from './dashboard/period.js';
import { childrenSection } from './dashboard/children.js';
import { behindSection } from './dashboard/behind.js';
import { complianceSection } from './dashboard/compliance.js';

const fig = (name, text) => h('span', { dataset: { figure: name } }, text);

function card(label, value, ...sub) {
  return h('div', { class: 'figure' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    sub.length ? h('div', { class: 'sub' }, sub) : null);
}

function summaryCards(s) {
  const m = s.members;
  const c = s.credit;
  const r = s.required_courses;
  return h('div', { class: 'cards summary-cards' },
    card('党员总数', fig('members', int(m.total)),
      '正式 ', fig('members_full', int(m.full)), ' · 预备 ', fig('members_probationary', int(m.probationary)),
      ' · 积极分子 ', fig('members_activist', int(m.activist)), ' · 干部 ', fig('members_cadres', int(m.cadres))),
    card(`${c.year} 年已获学时`, fig('credit_earned', hours(c.earned_centi)),
      '应完成 ', fig('credit_quota', hours(c.quota_centi)), ' 学时'),
    card('学时进度（人）',
      h('span', { class: 'pace-figures' },
        h('span', { class: 'badge met' }, '已达标 ', fig('credit_met', int(c.met))), ' ',
        h('span', { class: 'badge on_track' }, '进度正常 ', fig('credit_on_track', int(c.on_track))), ' ',
        h('span', { class: 'badge behind' }, '落后 ', fig('credit_behind', int(c.behind))))),
    card('本期活跃党员', fig('active', int(s.active)), '共 ', int(m.total), ' 名党员'),
    card('必修课完成率', fig('required_rate', pct(r.rate)),
      '已完成 ', fig('required_done', int(r.done)), ' / 共 ', fig('required_total', int(r.total)), ' 门次'),
    card('六个月无组织生活', h('span', { class: s.no_org_life_6m > 0 ? 'warn-text' : null }, fig('no_org_life_6m', int(s.no_org_life_6m))), '名党员（截至今日）'));
}

function attendanceTable(list) {
  const cell = (a, key, text) => h('td', { class: 'num' }, fig(`attendance.${a.kind}.${key}`, text));
  return h('div', { class: 'table-wrap' },
    h('table', { dataset: { attendance: '' } },
      h('caption', {}, '出勤情况（按会议类型，本期已开的会议）'),
      h('thead', {}, h('tr', {}, ['会议类型', '场次', '应到', '出席', '迟到', '代签', '补学', '缺席', '请假', '出勤率']
        .map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)))),
      h('tbody', {}, list.length === 0
        ? h('tr', {}, h('td', { colspan: 10, class: 'empty' }, '本期没有已开的会议'))
        : list.map((a) => h('tr', { dataset: { kind: a.kind } },
          h('th', { scope: 'row' }, nameOf(names.activityKind, a.kind)),
          cell(a, 'occurrences', int(a.occurrences)), cell(a, 'invited', int(a.invited)),
          cell(a, 'present', int(a.present)), cell(a, 'late', int(a.late)), cell(a, 'proxy', int(a.proxy)),
          cell(a, 'made_up', int(a.made_up)), cell(a, 'absent', int(a.absent)), cell(a, 'leave', int(a.leave)),
          cell(a, 'rate', pct(a.rate)))))),
    h('p', { class: 'hint table-note' }, '出勤率 =（出席 + 迟到 + 代签）÷（应到 − 请假）。'));
}

function exportsSection(ctx, q, year) {
  const scope = select('filter', [['all', '全部党员'], ['behind', '仅进度落后'], ['inactive', '仅本期未活跃']], 'all');
  const down = (label, format, path, query) => {
    const b = h('button', { type: 'button', dataset: { export: `${path.split('/').slice(-2, -1)[0]}-${format}` } }, label);
    b.addEventListener('click', () => busy(b, async () => {
      const name = await api.download(`/v1/orgs/${ctx.orgId}${path}`, { ...query(), format });
      toast(`已下载 ${name}`, 'success');
    }));
    return b;
  };
  const members = () => ({ ...q, filter: scope.value });
  const compliance = () => ({ year });
  return h('section', { class: 'card', 'aria-labelledby': 'dash-export', dataset: { section: 'export' } },
    h('h2', { id: 'dash-export' }, '导出'),
    h('div', { class: 'toolbar' },
      field('党员学习统计范围', scope),
      down('党员统计 Excel', 'xlsx', '/stats/members/export', members),
      down('党员统计 CSV', 'csv', '/stats/members/export', members)),
    h('div', { class: 'toolbar' },
      h('span', { class: 'muted' }, `${year} 年会议开展情况：`),
      down('会议开展 Excel', 'xlsx', '/compliance/export', compliance),
      down('会议开展 CSV', 'csv', '/compliance/export', compliance)));
}

export async function render(ctx) {
  pageStyle('dashboard');
  ctx.setTitle('概览');
  const q = periodQuery(ctx.query);
  const picker = periodPicker(q, (next) => {
    const params = new URLSearchParams(Object.entries(next).filter(([, v]) => v));
    ctx.navigate('dashboard', ctx.orgId, params);
  });
  const status = h('p', { class: 'period-answer', role: 'status' }, '正在加载…');
  const body = h('div', {});
  clear(ctx.root,
    h('h1', {}, `概览 · ${ctx.org.name}`),
    picker.form, status, body);

  let stats;
  try {
    stats = await api.get(`/v1/orgs/${ctx.orgId}/stats`, q, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    clear(status);
    clear(body, errorBox(e));
    return;
  }
  if (ctx.signal.aborted) return;
  picker.fill(stats.period);
  clear(status, '统计期间：', h('strong', { dataset: { period: stats.period.label } }, periodName(stats.period)),
    ` （${stats.period.from} 至 ${stats.period.to}）`,
    h('span', { class: 'muted' }, `　学时按 ${stats.credit.year} 年全年累计，截至今日。`));

  // The query every other route gets: the period the API answered with, so all sections
  // agree even when the server's clock is in another year than the browser's.
  const same = stats.period.label.includes('..')
    ? { from: stats.period.from, to: stats.period.to }
    : { period: stats.period.label };
  const children = childrenSection(ctx, same);
  const behind = behindSection(ctx, same);
  const compliance = complianceSection(ctx, stats);
  clear(body,
    h('section', { 'aria-labelledby': 'dash-summary', dataset: { section: 'summary' } },
      h('h2', { id: 'dash-summary', class: 'sr-only' }, '汇总'),
      summaryCards(stats),
      attendanceTable(stats.attendance)),
    children.section,
    behind.section,
    compliance.section,
    exportsSection(ctx, same, compliance.year));
  await Promise.all([children.load(), behind.load(), compliance.load()]);
}
