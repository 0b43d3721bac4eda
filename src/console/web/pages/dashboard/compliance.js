// The meeting-frequency compliance grid (`/v1/orgs/{id}/compliance`): one row per branch
// and required meeting kind, one cell per slot (month, quarter or year) held / missing /
// upcoming / not applicable (with the reason), rows with missing slots first (the API's order); with the six-month
// organizational-life warning the statistics report.

import { api } from '../../api.js';
import { h, clear, errorBox, names, nameOf } from '../../ui.js';
import { int, slotName, slotStatusName, slotReasonName, frequencyName } from './format.js';

const MONTHS = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);

function slotCell(s, span) {
  const label = slotStatusName[s.status] || s.status;
  const why = s.reason ? `（${slotReasonName[s.reason] || s.reason}）` : '';
  return h('td', { colspan: span > 1 ? span : null, class: `slot ${s.status}`, dataset: { slot: s.slot, status: s.status } },
    h('span', { class: `badge ${s.status}`, title: `${slotName(s.slot)}：${label}${why}` },
      span > 1 ? `${slotName(s.slot)} ${label}` : label));
}

function grid(rows) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'compliance-grid', dataset: { complianceGrid: '' } },
      h('caption', {}, '各支部规定会议开展情况（有缺失的在前）'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, '支部'),
        h('th', { scope: 'col' }, '会议类型'),
        h('th', { scope: 'col', class: 'num' }, '已开'),
        h('th', { scope: 'col', class: 'num' }, '缺失'),
        h('th', { scope: 'col', class: 'num' }, '未到期'),
        MONTHS.map((m) => h('th', { scope: 'col', class: 'month' }, m)))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: 17, class: 'empty' }, '没有须按规定频次开展的会议'))
        : rows.map((r) => h('tr', { class: r.missing > 0 ? 'bad' : null, dataset: { org: r.org_id, kind: r.kind } },
          h('th', { scope: 'row' }, r.org_name),
          h('td', {}, nameOf(names.activityKind, r.kind), h('div', { class: 'hint' }, frequencyName[r.frequency] || r.frequency)),
          h('td', { class: 'num' }, int(r.held)),
          h('td', { class: 'num' }, r.missing > 0 ? h('strong', {}, int(r.missing)) : int(r.missing)),
          h('td', { class: 'num' }, int(r.upcoming)),
          r.slots.map((s) => slotCell(s, 12 / Math.max(1, r.slots.length))))))));
}

// `stats`: the org's /stats answer (its year and the six-month count).
export function complianceSection(ctx, stats) {
  const year = Number(stats.period.from.slice(0, 4));
  const onlyMissing = h('input', { type: 'checkbox', id: 'dash-only-missing' });
  const body = h('div', {}, h('p', { class: 'loading', role: 'status' }, '正在加载…'));
  const warn = stats.no_org_life_6m > 0
    ? h('div', { class: 'warning-box', role: 'note', dataset: { warning: 'no_org_life_6m' } },
      h('strong', {}, '⚠ 组织生活提醒：'),
      `截至今日，有 `, h('strong', { dataset: { figure: 'no_org_life_6m_warning' } }, int(stats.no_org_life_6m)),
      ' 名党员近六个月没有参加组织生活，请及时跟进。')
    : h('p', { class: 'ok-note', dataset: { warning: 'none' } }, '✓ 截至今日，所有党员近六个月都参加过组织生活。');
  const section = h('section', { class: 'card', 'aria-labelledby': 'dash-compliance', dataset: { section: 'compliance' } },
    h('h2', { id: 'dash-compliance' }, `${year} 年会议开展情况`),
    warn,
    h('div', { class: 'toolbar' }, h('label', { class: 'check', for: onlyMissing.id }, onlyMissing, ' 只看有缺失的')),
    body);
  let all = [];
  const show = () => clear(body, grid(onlyMissing.checked ? all.filter((r) => r.missing > 0) : all));
  onlyMissing.addEventListener('change', show);

  const load = async () => {
    try {
      const data = await api.get(`/v1/orgs/${ctx.orgId}/compliance`, { year }, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      all = data.rows;
      show();
    } catch (e) {
      if (!ctx.signal.aborted) clear(body, errorBox(e));
    }
  };
  return { section, load, year };
}
